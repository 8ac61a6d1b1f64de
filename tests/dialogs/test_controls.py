"""取消, 返回, 菜单 and unexpected input work at every step of every flow."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from tests.chat import ZHANGYE_VILLAGE, describe, pick_place, start_report, submit_case

from .conftest import EngineResident as Resident
from .conftest import Harness


async def to_ask(r: Resident) -> None:
    await r.start()
    await r.tap("法律咨询")


async def to_ask_feedback(r: Resident) -> None:
    await to_ask(r)
    entry = r.harness.engine.services.faq.entry("wage-arrears")
    assert entry is not None
    await r.say(entry.question)  # an entry's own question is answered outright
    assert "有帮助吗" in r.text


async def to_category(r: Resident) -> None:
    await r.start()
    await r.tap("反映问题")


async def to_description(r: Resident) -> None:
    await start_report(r)


async def to_location(r: Resident) -> None:
    await start_report(r)
    await describe(r, "邻居堵路")


async def to_county(r: Resident) -> None:
    await to_location(r)
    await r.tap("按地区选")


async def to_township(r: Resident) -> None:
    await to_county(r)
    await r.tap(ZHANGYE_VILLAGE[0])


async def to_village(r: Resident) -> None:
    await to_township(r)
    await r.tap(ZHANGYE_VILLAGE[1])


async def to_choose(r: Resident) -> None:
    await to_location(r)
    await r.say("沙井镇")


async def to_phone(r: Resident) -> None:
    await to_location(r)
    await pick_place(r, *ZHANGYE_VILLAGE)


async def to_confirm(r: Resident) -> None:
    await to_phone(r)
    await r.tap("跳过")


async def to_cases(r: Resident) -> None:
    await submit_case(r, "邻居堵路")
    await r.tap("我的事项")


async def to_case_add(r: Resident) -> None:
    await to_cases(r)
    await r.tap("MS")


Reach = Callable[[Resident], Awaitable[None]]

# step reached, how to reach it, where 返回 leads, what the step's hint says
STEPS: list[tuple[str, Reach, str, str]] = [
    ("ask", to_ask, "menu", "打字说出您的问题"),
    ("ask_feedback", to_ask_feedback, "ask", "有帮助吗"),
    ("report_category", to_category, "menu", "没看明白是哪一类"),
    ("report_description", to_description, "report_category", "请打字说说情况"),
    ("location", to_location, "report_description", "按地区选"),
    ("loc_county", to_county, "location", "请点下面的一个地方"),
    ("loc_township", to_township, "loc_county", "请点下面的一个地方"),
    ("loc_village", to_village, "loc_township", "请点下面的一个地方"),
    ("loc_choose", to_choose, "location", "请点下面的一个地方"),
    ("report_phone", to_phone, "location", "需要手机号"),
    ("report_confirm", to_confirm, "report_phone", "确认提交"),
    ("cases_list", to_cases, "menu", "请点一个事项编号"),
    ("case_add", to_case_add, "cases_list", "发完了点「完成」"),
]
IDS = [s[0] for s in STEPS]

# What the resident sees after 返回 at each step: the previous step's question.
ASKED_AGAIN = {
    "ask": "请选择您要办的事",
    "ask_feedback": "请直接打字说出您的问题",
    "report_category": "请选择您要办的事",
    "report_description": "是哪一类事",
    "location": "已经记下您说的 1 条情况",  # the story so far is kept
    "loc_county": "事情发生在哪里",
    "loc_township": "请选区县",
    "loc_village": "请选乡镇",
    "loc_choose": "事情发生在哪里",
    "report_phone": "是在「张掖市甘州区沙井镇寺儿沟村」吗",  # the place just picked
    "report_confirm": "方便留一个手机号吗",
    "cases_list": "请选择您要办的事",
    "case_add": "想给哪件事补充情况",
}


@pytest.mark.parametrize(("step", "reach", "back", "hint"), STEPS, ids=IDS)
async def test_back_goes_to_the_previous_step(
    resident: Resident, harness: Harness, step: str, reach: Reach, back: str, hint: str
) -> None:
    await reach(resident)
    assert await resident.state() == step
    await resident.say("返回")
    assert await resident.state() == back
    assert ASKED_AGAIN[step] in resident.text  # the previous question is asked again


@pytest.mark.parametrize(("step", "reach", "back", "hint"), STEPS, ids=IDS)
async def test_cancel_and_menu_leave_the_step(
    resident: Resident, harness: Harness, step: str, reach: Reach, back: str, hint: str
) -> None:
    await reach(resident)
    await resident.say("取消")
    assert await resident.state() == "menu"
    assert "已取消" in resident.text and "法律咨询" in resident.labels
    await reach(resident)
    await resident.say("菜单")
    assert await resident.state() == "menu"
    assert "法律咨询" in resident.labels


@pytest.mark.parametrize(("step", "reach", "back", "hint"), STEPS, ids=IDS)
async def test_unexpected_input_gets_a_hint_and_keeps_the_step(
    resident: Resident, harness: Harness, step: str, reach: Reach, back: str, hint: str
) -> None:
    await reach(resident)
    before = len(await harness.cases_of())
    # A button payload that no step offers, as a stale or forged button would send.
    await resident.post({"choice": "bogus:payload"})
    assert hint in resident.text
    assert await resident.state() == step
    after = len(await harness.cases_of())
    assert after == before


async def test_cancel_at_the_menu_says_there_is_nothing_to_cancel(resident: Resident) -> None:
    await resident.start()
    await resident.say("取消")
    assert "没有正在办的事" in resident.text


async def test_back_at_the_menu_says_it_is_the_first_step(resident: Resident) -> None:
    await resident.start()
    await resident.say("返回")
    assert "第一步" in resident.text


async def test_cancelled_report_creates_no_case(resident: Resident, harness: Harness) -> None:
    await to_confirm(resident)
    await resident.say("取消")
    assert len(await harness.cases_of()) == 0


async def test_location_at_the_phone_step_is_explained(resident: Resident) -> None:
    await to_phone(resident)
    await resident.send_location(38.9, 100.4)
    assert "需要手机号" in resident.text


async def test_empty_description_is_refused(resident: Resident) -> None:
    await to_description(resident)
    await resident.tap("说完了")
    assert "还没说具体情况" in resident.text


async def test_back_while_editing_returns_to_the_summary(
    resident: Resident, harness: Harness
) -> None:
    await to_confirm(resident)
    await resident.tap("改电话")
    assert await resident.state() == "report_phone"
    await resident.say("返回")
    assert await resident.state() == "report_confirm"
    assert "请核对" in resident.text
