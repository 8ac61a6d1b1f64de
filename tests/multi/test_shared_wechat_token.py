"""WeChat keeps only the newest access token of an account valid: instances that
each fetched their own would push each other's out. They share one, stored in the
database, fetched by one instance at a time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from starlette.requests import Request
from starlette.responses import Response

from bot.channels._wechat_api import WeChatApi
from bot.storage import SqlStore, migrate
from bot.storage._postgres import PostgresDatabase
from common.clock import ManualClock
from tests.wechat.fake_api import APP_ID, APP_SECRET, FakeWeChat, serve_fake

RESIDENTS = [f"oRESIDENT{n:019d}" for n in range(4)]


class NewestTokenOnly(FakeWeChat):
    """A new token makes every older one "not the latest" (40001)."""

    async def token(self, request: Request) -> Response:
        self.valid_tokens.clear()
        return await super().token(request)


@pytest.fixture
async def fake() -> AsyncIterator[FakeWeChat]:
    async with serve_fake(NewestTokenOnly()) as served:
        yield served


async def test_instances_fetch_one_token_together_and_all_use_it(
    postgres_url: str, fake: FakeWeChat
) -> None:
    clock = ManualClock()
    dbs = [PostgresDatabase(postgres_url, pool_size=2) for _ in range(3)]
    apis: list[WeChatApi] = []
    try:
        for db in dbs:
            await db.open()
            await migrate(db)
            apis.append(WeChatApi(fake.url, APP_ID, APP_SECRET, clock, tokens=SqlStore(db)))

        async def everyone_sends(text: str) -> None:
            await asyncio.gather(
                *(api.send_text(openid, text) for api in apis for openid in RESIDENTS)
            )

        await everyone_sends("调解员：您好。")
        assert len(fake.tokens_issued) == 1
        assert fake.refused == []

        fake.expire_tokens()  # 42001 for the token every instance holds
        await everyone_sends("调解员：明天上午到。")
        assert len(fake.tokens_issued) == 2  # one instance fetched, the others took it
        assert {code for _, code in fake.refused} == {42001}

        clock.advance(hours=2)  # expired: fetched again before any call, once
        refused = len(fake.refused)
        await everyone_sends("调解员：已经处理好了。")
        assert len(fake.tokens_issued) == 3
        assert len(fake.refused) == refused
        for openid in RESIDENTS:
            assert len(fake.texts_to(openid)) == 3 * len(apis)
    finally:
        for api in apis:
            await api.aclose()
        for db in dbs:
            await db.close()
