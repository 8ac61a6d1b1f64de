"""Questions matched in a child process: the same answers as in the service, through
FAQ edits, a killed child and a child that hangs."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import faq._match_process
from faq import FaqService, MatchResult

from .conftest import SMALL_FAQ
from .test_service import NEW_ENTRY, eventually

ROOT = Path(__file__).resolve().parents[2]
QUERIES = [
    json.loads(line)["query"]
    for line in (ROOT / "benchmarks" / "data" / "dev-queries.jsonl").read_text("utf-8").splitlines()
    if line.strip()
]


def _refuse(text: str) -> MatchResult:
    raise AssertionError(f"matched in the service's process: {text}")


@pytest.fixture
async def shipped_with_process() -> AsyncIterator[FaqService]:
    service = FaqService(match_process=True)
    await service.start()
    await eventually(lambda: service.match_process_pid is not None, timeout=60)
    yield service
    await service.stop()


async def test_the_child_answers_every_question_as_the_service_would(
    shipped_with_process: FaqService, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = shipped_with_process
    expected = [service.match(q) for q in QUERIES]
    monkeypatch.setattr(service, "match", _refuse)
    assert [await service.amatch(q) for q in QUERIES] == expected
    assert {r.decision.value for r in expected} == {"answer", "suggest", "none"}
    assert any(r.referral is not None for r in expected)


async def test_a_killed_child_is_replaced_and_no_question_is_lost(
    shipped_with_process: FaqService,
) -> None:
    service = shipped_with_process
    first = service.match_process_pid
    assert first is not None
    os.kill(first, signal.SIGKILL)
    # Asked while the child is dead or starting again: matched in the service.
    result = await service.amatch("老板拖欠工资三个月了怎么办")
    assert result == service.match("老板拖欠工资三个月了怎么办")
    await eventually(lambda: service.match_process_pid not in (None, first), timeout=60)


async def test_a_child_that_does_not_answer_in_time_is_not_waited_for_and_replaced(
    shipped_with_process: FaqService, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = shipped_with_process
    pid = service.match_process_pid
    assert pid is not None
    monkeypatch.setattr(faq._match_process, "_PATIENCE", 0.2)
    os.kill(pid, signal.SIGSTOP)  # hung
    try:
        result = await service.amatch("邻居家的狗把我咬了")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)
    assert result == service.match("邻居家的狗把我咬了")
    assert result.candidates
    # The hung child was ended and another took its place.
    await eventually(lambda: service.match_process_pid not in (None, pid), timeout=60)


async def test_an_edited_faq_is_matched_by_a_new_child(small_faq: Path) -> None:
    service = FaqService(small_faq, reload_interval=0.05, match_process=True)
    await service.start()
    try:
        await eventually(lambda: service.match_process_pid is not None, timeout=60)
        before = service.match_process_pid
        (small_faq / "small.yaml").write_text(SMALL_FAQ + NEW_ENTRY, encoding="utf-8")
        await eventually(lambda: service.version == 2)
        # At once, and after the new child took over: the new entry is found.
        assert (await service.amatch("隔壁噪音扰民")).candidates[0].entry.id == "noise"
        await eventually(lambda: service.match_process_pid not in (None, before), timeout=60)
        result = await service.amatch("隔壁噪音扰民")
        assert result.candidates[0].entry.id == "noise"
        assert result.candidates[0].entry is service.entry("noise")
    finally:
        await service.stop()
    assert not Path(f"/proc/{before}").exists()  # the old child ended with the reload


async def test_a_child_that_cannot_start_leaves_matching_to_the_service(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(sys, "executable", "/nonexistent/python3")
    service = FaqService(match_process=True)
    await service.start()
    try:
        await eventually(lambda: "did not start" in caplog.text)
        result = await service.amatch("老板拖欠工资三个月了怎么办")
        assert result == service.match("老板拖欠工资三个月了怎么办")
        assert service.match_process_pid is None and not service.matches_elsewhere
    finally:
        await service.stop()
    assert "trying again in 1 s" in caplog.text
