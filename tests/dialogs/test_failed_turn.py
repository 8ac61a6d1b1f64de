"""A turn that fails on a bug: the message is kept, the resident hears that something
went wrong, and the next message is answered as usual."""

from __future__ import annotations

import pytest

from faq import FaqService, MatchResult
from tests.dialogs.conftest import EngineResident, Harness


async def test_a_failing_turn_keeps_the_message_and_says_so(
    harness: Harness,
    resident: EngineResident,
    faq_service: FaqService,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await resident.start()
    working = faq_service.match

    def broken(text: str) -> MatchResult:
        if "宅基地" in text:
            raise RuntimeError("a bug in the matcher")
        return working(text)

    monkeypatch.setattr(faq_service, "match", broken)
    replies = await resident.post({"id": "q-1", "text": "宅基地能不能卖给外村人？电话13812345678"})
    assert [r["text"] for r in replies] == [
        "抱歉，系统刚才出了点问题。您的消息已经收到并保存，请稍后再试，或拨打 12345。"
    ]
    assert await harness.store.unprocessed_inbound() == []
    stored = await harness.store.transcript("web", resident.user_id)
    assert any("宅基地能不能卖给外村人" in str(m.body) for m in stored)
    logged = [r for r in caplog.records if "failed to process" in r.getMessage()]
    assert len(logged) == 1 and "13812345678" not in logged[0].getMessage()

    assert await resident.post({"id": "q-1", "text": "宅基地能不能卖给外村人？"}) == replies
    await resident.say("菜单")
    assert "请选择" in resident.text
