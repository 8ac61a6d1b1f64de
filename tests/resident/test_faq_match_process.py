"""Questions matched in the FAQ's own process: a turn that needs a match is rolled
back, the question matched outside the transaction, and the turn run again — the
resident sees one answer, the message is stored once, and counted once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from bot.config import Settings
from faq import MatchResult

from .conftest import Clock, Resident, rows, run_service

QUESTIONS = [
    "老板拖欠工资三个月了怎么办",
    "邻居家的狗把我咬了谁负责",
    "宅基地能不能卖给外村人",
    "离婚了孩子归谁",
    "在工地上摔伤了老板不管",
]


def _refuse(text: str) -> MatchResult:
    raise AssertionError(f"matched in the service's process: {text}")


async def test_questions_go_to_the_child_and_each_message_is_stored_and_counted_once(
    tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(  # type: ignore[call-arg]
        db=tmp_path / "minshi.db",
        attachments_dir=tmp_path / "attachments",
        faq_match_process=True,
        _env_file=None,
    )
    async with (
        run_service(settings, clock) as service,
        httpx.AsyncClient(base_url=service.base_url, trust_env=False, timeout=10) as client,
    ):
        faq = service.runtime.faq
        async with asyncio.timeout(60):
            while not faq.matches_elsewhere:
                await asyncio.sleep(0.05)
        expected = {q: faq.match(q) for q in QUESTIONS}
        monkeypatch.setattr(faq, "match", _refuse)

        resident = Resident(client, (await client.post("/api/chat/session")).json()["token"])
        await resident.start()
        await resident.tap("法律咨询")
        # 2 + 3 × 8 = 26 messages, within the flood limit of 30 a minute (the clock
        # stands still); a question counted twice would make 34.
        asked = [QUESTIONS[n % len(QUESTIONS)] for n in range(8)]
        for question in asked:
            await resident.say(question)
            best = expected[question].candidates[0].entry
            if expected[question].decision == "answer":
                assert resident.text.startswith(f"【{best.question}】"), resident.text
            else:
                assert best.question in resident.labels, resident.text
            await resident.say("菜单")
            await resident.tap("法律咨询")
            assert "太快" not in resident.text

    stored = [r["body"] for r in rows(settings.db, "SELECT body FROM inbound ORDER BY id")]
    assert [q for q in QUESTIONS for body in stored if q in body] == sorted(
        asked, key=QUESTIONS.index
    )
    assert len(stored) == 2 + 3 * len(asked)
    logged = rows(settings.db, "SELECT query FROM faq_questions ORDER BY id")
    assert [r["query"] for r in logged] == asked
