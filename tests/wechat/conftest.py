"""The running service with the WeChat channel switched on, a fake WeChat API, and WeChat itself.

The service is the real app over HTTP (``run_service`` with the adapters the
settings build); its API calls go to ``FakeWeChat`` on 127.0.0.1; callbacks
are built and encrypted by ``WeChatServer`` exactly as WeChat sends them.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from bot.config import Settings
from common.outbox import Destination, OutboxRecord, OutboxState
from tests.support import Clock, Service, rows, run_service

from .fake_api import APP_ID, APP_SECRET, FakeWeChat, serve_fake
from .sim import AES_KEY, TOKEN, Resident, WeChatServer

__all__ = ["Clock", "Service", "WeChat", "rows"]


@dataclass
class WeChat:
    """Everything a WeChat test talks to."""

    service: Service
    fake: FakeWeChat
    server: WeChatServer
    client: httpx.AsyncClient
    clock: Clock

    def resident(self, openid: str | None = None) -> Resident:
        openid = openid or "o" + secrets.token_urlsafe(20)[:27]
        return Resident(self.server, self.fake, openid)

    async def settled(self, openid: str, timeout: float = 10) -> list[OutboxRecord]:
        """The resident's outbox once nothing in it waits for a first attempt or a lease."""
        store = self.service.runtime.store

        async def poll() -> list[OutboxRecord]:
            while True:
                records = await store.outbox_records(Destination("wechat", openid))
                if all(r.state is not OutboxState.PENDING for r in records):
                    return records
                await asyncio.sleep(0.01)

        return await asyncio.wait_for(poll(), timeout)

    async def fetched(self, media_id: str, within: float = 60) -> str:
        """The local file a resident's media id resolves to, once the background loop has it.

        Generous on purpose: the first ffmpeg on a fresh machine loads some 200
        shared libraries from a cold disk before it converts anything.
        """
        store = self.service.runtime.store
        async with asyncio.timeout(within):
            while (local := await store.local_file("wechat", media_id)) is None:
                await asyncio.sleep(0.02)
        return local

    def inbound(self) -> list[dict[str, Any]]:
        return rows(self.service.runtime.settings.db, "SELECT * FROM inbound ORDER BY id")


@contextlib.asynccontextmanager
async def wechat_service(
    settings: Settings, clock: Clock, fake: FakeWeChat, mode: str = "plain", **overrides: Any
) -> AsyncIterator[WeChat]:
    values: dict[str, Any] = {
        "wechat_app_id": APP_ID,
        "wechat_app_secret": APP_SECRET,
        "wechat_token": TOKEN,
        "wechat_aes_key": AES_KEY if mode != "plain" else None,
        "wechat_api_url": fake.url,
        **overrides,
    }
    configured = settings.model_copy(update=values)
    async with (
        run_service(configured, clock) as svc,
        httpx.AsyncClient(base_url=svc.base_url, trust_env=False, timeout=10) as client,
    ):
        server = WeChatServer(client, clock, mode, app_id=APP_ID)
        yield WeChat(svc, fake, server, client, clock)


@pytest.fixture
async def fake() -> AsyncIterator[FakeWeChat]:
    async with serve_fake(FakeWeChat()) as running:
        yield running


@pytest.fixture
async def wx(settings: Settings, clock: Clock, fake: FakeWeChat) -> AsyncIterator[WeChat]:
    """The service in plaintext mode."""
    async with wechat_service(settings, clock, fake) as running:
        yield running


@pytest.fixture(params=["plain", "compat", "safe"])
async def wx_mode(
    request: pytest.FixtureRequest, settings: Settings, clock: Clock, fake: FakeWeChat
) -> AsyncIterator[WeChat]:
    """The service in each of the account's three message modes."""
    async with wechat_service(settings, clock, fake, request.param) as running:
        yield running
