"""Coming back: the chat opened again, a long pause, a resident who typed too fast."""

from __future__ import annotations

import pytest

from faq import FaqService
from handoff import CenterDirectory
from tests.chat import ZHANGYE_VILLAGE, describe, pick_place, start_report

from .conftest import EngineResident as Resident
from .conftest import Harness


@pytest.fixture
def harness(harness_both: Harness) -> Harness:
    """Every behaviour here holds on the engine and over HTTP against the service."""
    return harness_both


VILLAGE = "620702103203"


async def test_opening_the_qr_link_again_asks_before_dropping_a_report(
    resident: Resident, harness: Harness
) -> None:
    await start_report(resident)
    await describe(resident, "邻居把路堵了")
    await resident.start(VILLAGE)  # the same QR code, opened in a new tab
    assert "还有一件正在登记的事没提交" in resident.text
    assert resident.labels == ["接着填", "重新开始"]
    await resident.tap("接着填")
    assert await resident.state() == "location"
    assert "寺儿沟村" in resident.text  # the place of the QR code is offered
    await resident.tap("是，就是这里")
    await resident.tap("跳过")
    assert "邻居把路堵了" in resident.text


async def test_starting_again_drops_the_unfinished_report_on_request(resident: Resident) -> None:
    await start_report(resident)
    await describe(resident, "邻居把路堵了")
    await resident.start()
    await resident.tap("重新开始")
    assert "法律咨询" in resident.labels
    await resident.tap("反映问题")
    await resident.tap("邻里纠纷")
    assert "请说说具体情况" in resident.text  # nothing of the old story is left


async def test_a_resident_back_days_later_is_asked_about_the_old_report(
    resident: Resident, harness: Harness
) -> None:
    await start_report(resident)
    await describe(resident, "邻居把路堵了")
    harness.clock.advance(hours=13)
    await resident.say("你好")
    assert "欢迎回来" in resident.text
    assert await resident.state() == "menu"
    await resident.tap("接着填")
    assert await resident.state() == "location"
    await pick_place(resident, *ZHANGYE_VILLAGE)
    await resident.tap("跳过")
    assert "邻居把路堵了" in resident.text and "你好" not in resident.text


async def test_a_question_after_a_long_pause_is_answered_not_added_to_the_old_report(
    resident: Resident, harness: Harness
) -> None:
    entry = harness.engine.services.faq.entry("wage-arrears")
    assert entry is not None
    await start_report(resident)
    harness.clock.advance(hours=30)
    await resident.say(entry.question)
    assert "欢迎回来" in resident.text
    assert f"【{entry.question}】" in resident.text


async def test_a_short_pause_continues_where_the_resident_was(
    resident: Resident, harness: Harness
) -> None:
    await start_report(resident)
    harness.clock.advance(hours=2)
    await resident.say("邻居把路堵了")
    assert "第 1 条" in resident.text


async def test_messages_over_the_flood_limit_are_answered_in_order_later(
    faq_service: FaqService, centers: CenterDirectory
) -> None:
    harness = Harness(faq_service, centers, flood_messages=5)
    resident = await harness.resident()
    await start_report(resident)  # 3 messages
    lines = [f"第{n}件事" for n in range(1, 6)]
    for line in lines:
        await resident.say(line)
    assert "发得太快" in resident.text  # kept, and the resident is told
    harness.clock.advance(seconds=61)
    assert await harness.engine.catch_up() == 3
    later = await resident.read_later_messages()
    assert [r["text"][:10] for r in later] == [
        "记下了（第 3 条）",
        "记下了（第 4 条）",
        "记下了（第 5 条）",
    ]
    resident.pace = 20  # typing at a person's pace from now on
    await resident.tap("说完了")
    await pick_place(resident, *ZHANGYE_VILLAGE)
    await resident.tap("跳过")
    await resident.tap("确认提交")
    (case,) = await harness.cases_of()
    assert case.description.split("\n") == lines  # nothing lost, nothing out of order


async def test_a_held_back_message_goes_before_the_next_one(
    faq_service: FaqService, centers: CenterDirectory
) -> None:
    harness = Harness(faq_service, centers, flood_messages=3)
    resident = await harness.resident()
    await start_report(resident)  # 3 messages: the limit
    await resident.say("先说的")
    assert "发得太快" in resident.text
    harness.clock.advance(seconds=61)
    resident.pace = 30
    await resident.say("后说的")
    assert "第 2 条" in resident.text  # the held-back message was recorded first
    await resident.tap("说完了")
    await pick_place(resident, *ZHANGYE_VILLAGE)
    await resident.tap("跳过")
    await resident.tap("确认提交")
    (case,) = await harness.cases_of()
    assert case.description == "先说的\n后说的"
