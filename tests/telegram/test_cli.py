"""``minshi telegram set-webhook | delete-webhook | info`` against the fake Bot API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.cli import main

from .conftest import PUBLIC_URL, SECRET
from .fake_api import TOKEN, FakeBotApi, run_fake_api


@pytest.fixture
async def fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> AsyncIterator[FakeBotApi]:
    async with run_fake_api() as fake:
        monkeypatch.chdir(tmp_path)  # no .env of the checkout
        monkeypatch.setenv("MINSHI_TELEGRAM_TOKEN", TOKEN)
        monkeypatch.setenv("MINSHI_TELEGRAM_API_URL", fake.base_url)
        monkeypatch.setenv("MINSHI_TELEGRAM_WEBHOOK_SECRET", SECRET)
        monkeypatch.setenv("MINSHI_PUBLIC_URL", PUBLIC_URL)
        yield fake


async def minshi(*args: str) -> int:
    return await asyncio.to_thread(main, ["telegram", *args])


async def test_set_webhook_info_and_delete(
    fake: FakeBotApi, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await minshi("set-webhook") == 0
    assert fake.webhook["url"] == f"{PUBLIC_URL}/telegram/webhook"
    assert fake.webhook["secret_token"] == SECRET
    assert "callback_query" in fake.webhook["allowed_updates"]

    assert await minshi("info") == 0
    out = capsys.readouterr().out
    assert "@minshi_test_bot" in out
    assert f"{PUBLIC_URL}/telegram/webhook" in out
    assert "https://t.me/minshi_test_bot?start=" in out
    assert TOKEN not in out

    assert await minshi("delete-webhook") == 0
    assert fake.webhook == {}
    assert "长轮询" in capsys.readouterr().out


async def test_set_webhook_needs_a_secret_and_says_so(
    fake: FakeBotApi, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("MINSHI_TELEGRAM_WEBHOOK_SECRET")
    assert await minshi("set-webhook") == 1
    assert "MINSHI_TELEGRAM_WEBHOOK_SECRET" in capsys.readouterr().err
    assert fake.called("setWebhook") == []


async def test_a_refused_call_is_one_line_without_the_token(
    fake: FakeBotApi, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.fail("getWebhookInfo", 502)
    assert await minshi("info") == 1
    err = capsys.readouterr().err
    assert "Telegram 请求失败" in err and TOKEN not in err
