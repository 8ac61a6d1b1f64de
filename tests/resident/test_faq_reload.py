"""An admin edits the FAQ while residents chat: the running service follows."""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from bot.config import Settings
from faq import DEFAULT_FAQ_DIR

from .conftest import Clock, Resident, run_service

NEW_ENTRY = """
- id: village-well
  category: safety
  question: 村里的水井被人投了脏东西怎么办？
  variants:
    - 村里水井让人倒了脏东西
    - 有人往俺们庄子的水井里倒垃圾
    - 水井被污染了喝不成了
    - 村口的井水被人弄脏了找谁
    - 谁往井里扔死鸡了
    - 吃水的井让人糟蹋了
    - 井水里发现了农药瓶子
    - 水井被投毒了咋办
  keywords: [水井, 井水]
  answer: |
    先别再喝这口井的水，马上告诉村委会，并报警。
  basis:
    - 中华人民共和国治安管理处罚法 第三十九条
"""


async def ask(resident: Resident, question: str) -> str:
    await resident.say(question)
    return resident.text


async def until(condition: Callable[[], bool], timeout: float = 10) -> None:
    """Wait for the reload thread to do its work (it polls every 0.2 s here)."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.05)


async def test_edits_are_served_and_a_broken_edit_keeps_the_last_good_faq(
    tmp_path: Path, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    faq_dir = tmp_path / "faq"
    shutil.copytree(DEFAULT_FAQ_DIR, faq_dir)
    settings = Settings(  # type: ignore[call-arg]
        db=tmp_path / "minshi.db", faq_dir=faq_dir, faq_reload_seconds=0.2, _env_file=None
    )
    async with (
        run_service(settings, clock) as service,
        httpx.AsyncClient(base_url=service.base_url, trust_env=False) as client,
    ):
        token = (await client.post("/api/chat/session")).json()["token"]
        resident = Resident(client, token)
        await resident.start()
        assert "村里的水井" not in await ask(resident, "村里的水井被人投了脏东西怎么办")

        safety = faq_dir / "safety.yaml"
        safety.write_text(safety.read_text(encoding="utf-8") + NEW_ENTRY, encoding="utf-8")
        await until(lambda: service.runtime.faq.entry("village-well") is not None)
        assert "村里的水井被人投了脏东西怎么办" in await ask(
            resident, "村里的水井被人投了脏东西怎么办"
        )

        version = service.runtime.faq.version
        with caplog.at_level(logging.WARNING):
            safety.write_text("- id: [broken\n", encoding="utf-8")
            await until(lambda: f"{safety}:" in caplog.text)  # the admin learns file and line
        assert service.runtime.faq.version == version
        assert "村里的水井被人投了脏东西怎么办" in await ask(
            resident, "村里的水井被人投了脏东西怎么办"
        )
