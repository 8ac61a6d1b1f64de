"""Getting around: typed menu names, stale buttons, the card, GPS, privacy, withdrawing."""

from __future__ import annotations

import pytest

from handoff import CaseStatus
from tests.chat import describe, start_report, submit_case

from .conftest import EngineResident as Resident
from .conftest import Harness
from .test_controls import STEPS, Reach


@pytest.fixture
def harness(harness_both: Harness) -> Harness:
    """Every behaviour here holds on the engine and over HTTP against the service."""
    return harness_both


@pytest.mark.parametrize(
    ("step", "reach"), [(s[0], s[1]) for s in STEPS], ids=[s[0] for s in STEPS]
)
async def test_typed_menu_names_work_at_every_step(
    resident: Resident, step: str, reach: Reach
) -> None:
    await reach(resident)
    await resident.say("联系卡")
    assert "联系卡" in resident.text
    await resident.say("我的事项")
    assert await resident.state() == "cases_list"


async def test_find_a_mediator_typed_hands_over_instead_of_answering(
    resident: Resident,
) -> None:
    await resident.start()
    await resident.tap("法律咨询")
    await resident.say("找调解员")
    assert "调解员" in resident.text and "【" not in resident.text
    assert await resident.state() == "report_category"


async def test_report_typed_inside_a_report_keeps_the_report(resident: Resident) -> None:
    await start_report(resident)
    await describe(resident, "邻居堵路")
    await resident.say("我要反映问题")
    assert "您正在登记" in resident.text
    assert await resident.state() == "location"


async def test_a_menu_button_that_does_not_exist_keeps_the_step(resident: Resident) -> None:
    await start_report(resident)
    await resident.say("邻居堵路")
    await resident.post({"choice": "menu:unknown"})
    assert await resident.state() == "report_description"
    assert "请打字说说情况" in resident.text


async def test_the_card_asks_for_a_place_in_words_for_the_card(resident: Resident) -> None:
    await resident.start()
    await resident.tap("便民联系卡")
    assert "想看哪个村（社区）的联系卡" in resident.text
    assert "事情发生在哪里" not in resident.text


async def test_the_gps_result_has_a_yes_button(resident: Resident) -> None:
    await start_report(resident)
    await describe(resident, "路灯坏了")
    await resident.send_location(39.055, 100.3)
    assert "对吗" in resident.text
    assert resident.labels[:2] == ["是，就是这里", "不对，按地区选"]
    await resident.tap("是，就是这里")
    assert "手机号" in resident.text


async def test_first_contact_shows_a_privacy_notice_with_details(resident: Resident) -> None:
    await resident.start()
    greeting = resident.replies[0]
    assert "只有处理这件事的调解员能看到完整号码" in greeting["text"]
    assert greeting["details_label"] == "隐私说明"
    assert "保存什么" in greeting["details"] and "谁能看到" in greeting["details"]
    await resident.start()
    assert "details" not in resident.replies[0]  # once is enough


async def test_a_resident_withdraws_an_open_case_with_a_reason(
    resident: Resident, harness: Harness
) -> None:
    number = await submit_case(resident, "邻居堵路")
    await resident.tap("我的事项")
    await resident.tap(number)
    await resident.tap("撤回这件事")
    assert number in resident.text
    await resident.say("邻居已经把路让开了")
    assert "已撤回" in resident.text
    (case,) = await harness.cases_of()
    assert case.status is CaseStatus.WITHDRAWN
    event = (await harness.store.case_events(case.id))[-1]
    assert (event.kind, event.actor, event.detail) == (
        "withdrawn",
        "resident",
        {"reason": "邻居已经把路让开了"},
    )
    await resident.tap("我的事项")
    assert "已撤回" in resident.text
    assert number not in resident.labels  # no longer open: nothing to add


async def test_changing_ones_mind_about_withdrawing(resident: Resident, harness: Harness) -> None:
    number = await submit_case(resident, "邻居堵路")
    await resident.tap("我的事项")
    await resident.tap(number)
    await resident.tap("撤回这件事")
    await resident.tap("不撤回了")
    assert await resident.state() == "case_add"
    (case,) = await harness.cases_of()
    assert case.status is CaseStatus.ASSIGNED


async def test_a_quick_reason_button_withdraws(resident: Resident, harness: Harness) -> None:
    await submit_case(resident, "邻居堵路")
    await resident.tap("找调解员")  # the open case is offered
    await resident.tap("撤回这件事")
    await resident.tap("事情已经解决了")
    (case,) = await harness.cases_of()
    assert case.status is CaseStatus.WITHDRAWN
    events = await harness.store.case_events(case.id)
    assert events[-1].detail == {"reason": "事情已经解决了"}
