"""A resident on the web chat, talking to the running service over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from tests.chat import ChatDriver
from tests.support import Clock, Service, rows, run_service

__all__ = ["Clock", "Resident", "Service", "rows", "run_service"]


class Resident(ChatDriver):
    """A resident on the web chat page, over real HTTP."""

    def __init__(self, client: httpx.AsyncClient, token: str) -> None:
        super().__init__()
        self.client = client
        self.token = token

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def _send(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        r = await self.client.post("/api/chat/messages", json=body, headers=self.headers)
        assert r.status_code == 200, r.text
        replies: list[dict[str, Any]] = r.json()["replies"]
        return replies


@pytest.fixture
async def new_resident(service: Service) -> AsyncIterator[Callable[[], Any]]:
    clients: list[httpx.AsyncClient] = []

    async def make() -> Resident:
        client = httpx.AsyncClient(base_url=service.base_url, trust_env=False, timeout=10)
        clients.append(client)
        r = await client.post("/api/chat/session")
        assert r.status_code == 201
        return Resident(client, r.json()["token"])

    yield make
    for c in clients:
        await c.aclose()


@pytest.fixture
async def resident(new_resident: Callable[[], Any]) -> Resident:
    return await new_resident()  # type: ignore[no-any-return]
