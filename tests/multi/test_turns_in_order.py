"""The dialog engine with several instances on one store — in memory, SQLite and
PostgreSQL alike, through the same code: a resident's turn takes their oldest
waiting message, and a message whose instance died before its turn is taken
over by another instance's background pass, once."""

from __future__ import annotations

from typing import Any

import pytest

from common import jsontext
from common.messages import Inbound
from faq import FaqService
from handoff import CenterDirectory
from tests.chat import start_report
from tests.dialogs.conftest import EngineResident, Harness, centers, faq_service
from tests.storage.conftest import Reopen, stores

__all__ = ["centers", "faq_service", "stores"]  # fixtures used here


class Instances:
    """Instances of the service on one store, each opening it as its own process would."""

    def __init__(self, reopen: Reopen, faq: FaqService, centers: CenterDirectory) -> None:
        self._reopen = reopen
        self._faq = faq
        self._centers = centers
        self.started: list[Harness] = []

    async def start(self, **options: Any) -> Harness:
        harness = Harness(self._faq, self._centers, **options)
        harness.store = harness.engine.store = harness.cases.store = await self._reopen()
        self.started.append(harness)
        return harness

    def advance(self, seconds: float) -> None:
        """Time passes for every instance."""
        for harness in self.started:
            harness.clock.advance(seconds=seconds)


@pytest.fixture
def instances(stores: Reopen, faq_service: FaqService, centers: CenterDirectory) -> Instances:
    return Instances(stores, faq_service, centers)


async def _died_after_storing(harness: Harness, resident: EngineResident, text: str) -> None:
    """An instance stored the resident's message and was killed before its turn."""
    msg = Inbound("web", resident.user_id, "text", text=text, platform_msg_id=text)
    async with harness.store.transaction() as w:
        assert await w.record_inbound(msg, harness.clock()) is not None


async def test_a_message_stored_earlier_elsewhere_is_answered_first(
    instances: Instances,
) -> None:
    a, b = await instances.start(), await instances.start()
    on_a = await a.resident()
    await start_report(on_a)
    await _died_after_storing(a, on_a, "第一段经过")
    on_b = await b.resident()
    on_b.replies = on_a.replies
    answered = await on_b.say("第二段经过")
    assert [r["text"][:10] for r in answered] == ["记下了（第 1 条）", "记下了（第 2 条）"]
    conversation = await b.store.conversation("web", on_b.user_id)
    assert conversation is not None
    told = jsontext.dumps(conversation[1])  # each turn with its own message's words
    assert "第一段经过" in told and told.index("第一段经过") < told.index("第二段经过")
    assert await b.store.unprocessed_inbound() == []
    assert await a.engine.catch_up(everyone=True) == 0  # nothing left to do twice


async def test_a_message_whose_instance_died_is_taken_over_by_another_once(
    instances: Instances,
) -> None:
    a, b = await instances.start(), await instances.start()
    resident = await a.resident()
    await start_report(resident)
    await _died_after_storing(a, resident, "邻居把路堵了")
    assert await b.engine.catch_up() == 0  # it may still be on its way
    instances.advance(11)
    assert await b.engine.catch_up() == 1
    assert [r["text"][:10] for r in await resident.read_later_messages()] == ["记下了（第 1 条）"]
    assert await a.engine.catch_up() == 0
    assert await b.engine.catch_up() == 0


async def test_messages_held_back_for_flooding_wait_for_the_flood_window(
    instances: Instances,
) -> None:
    a, b = await instances.start(flood_messages=4), await instances.start()
    resident = await a.resident()
    await start_report(resident)  # 3 messages
    await resident.say("第一段经过")
    await resident.say("第二段经过")
    assert "发得太快" in resident.text  # held back on a, which then dies
    instances.advance(30)
    assert await b.engine.catch_up() == 0  # the resident may still be sending fast
    instances.advance(31)
    assert await b.engine.catch_up() == 1
    later = await resident.read_later_messages()
    assert [r["text"][:10] for r in later] == ["记下了（第 2 条）"]
