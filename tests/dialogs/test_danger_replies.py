"""Danger comes first: the right warning, at any step, then what fits the danger."""

from __future__ import annotations

import pytest

from tests.chat import ZHANGYE_VILLAGE, pick_place, start_report

from .conftest import EngineResident as Resident
from .conftest import Harness


@pytest.fixture
def harness(harness_both: Harness) -> Harness:
    """Every behaviour here holds on the engine and over HTTP against the service."""
    return harness_both


WARNINGS = [
    ("他拿着菜刀在我家门口说要砍死我", "110"),
    ("我男人正在打我 快来人", "110"),
    ("俺爹喝了农药了 口吐白沫", "120"),
    ("娃掉进水窖里了", "120"),
    ("房子着火了 火越烧越大", "119"),
    ("屋里煤烟味大 俺妈叫不醒", "120"),
    ("有人触电了 还粘在电线上", "120"),
]


@pytest.mark.parametrize(("message", "number"), WARNINGS)
async def test_a_danger_gets_its_warning_first_at_the_menu(
    resident: Resident, message: str, number: str
) -> None:
    await resident.start()
    await resident.say(message)
    warning = resident.replies[0]
    assert warning.get("tone") == "warning"
    assert number in warning["calls"] and number in warning["text"]
    assert "回答不了" not in resident.text and "您想问的是不是" not in resident.text
    assert resident.labels == ["按紧急情况反映", "先不用"]


async def test_self_harm_gets_kind_words_and_hotlines_only(resident: Resident) -> None:
    await resident.start()
    await resident.tap("法律咨询")
    await resident.say("欠了一屁股债 活着没意思 不想活了")
    (only,) = resident.replies
    assert only.get("tone") == "warning"
    assert {"12356", "120", "110"} <= set(only["calls"])
    assert only["choices"] == []  # no FAQ suggestions, no forms


async def test_the_offer_turns_the_message_into_an_urgent_report(
    resident: Resident, harness: Harness
) -> None:
    await resident.start()
    await resident.say("隔壁老王拿着斧头堵在我家门口要砍人")
    await resident.tap("按紧急情况反映")
    # The story is kept as the first part of the description, and the resident is told.
    assert "已经记下，算作第 1 条" in resident.text
    await resident.tap("说完了")
    await pick_place(resident, *ZHANGYE_VILLAGE)
    await resident.tap("跳过")
    assert "紧急" in resident.text
    await resident.tap("确认提交")
    (case,) = await harness.cases_of()
    assert case.urgent
    assert "拿着斧头" in case.description


async def test_declining_the_offer_goes_back_to_the_menu(resident: Resident) -> None:
    await resident.start()
    await resident.say("家里着火了")
    await resident.tap("先不用")
    assert "法律咨询" in resident.labels


async def test_a_danger_inside_a_report_is_kept_in_the_story(
    resident: Resident, harness: Harness
) -> None:
    await start_report(resident)
    await resident.say("他现在又拿着刀过来了")
    assert resident.replies[0].get("tone") == "warning"
    assert "第 1 条" in resident.text  # the story goes on
    await resident.say("就是为了地界的事")
    await resident.tap("说完了")
    state = await harness.store.conversation("web", resident.user_id)
    assert state is not None
    assert state[1]["report"]["messages"] == ["他现在又拿着刀过来了", "就是为了地界的事"]
    assert state[1]["urgent"] is True


@pytest.mark.parametrize(
    "message",
    ["去年家里着火了保险能赔吗", "上个月打架被人打伤了能要求赔偿吗", "这是救命钱 他借了不还"],
)
async def test_near_misses_get_no_warning(resident: Resident, message: str) -> None:
    await resident.start()
    await resident.say(message)
    assert all(r.get("tone") != "warning" for r in resident.replies)


async def test_phone_numbers_in_any_reply_are_callable(resident: Resident) -> None:
    await resident.start()
    await resident.tap("便民联系卡")
    if "按地区选" in resident.labels:
        await resident.tap("按地区选")
        for place in ("甘州区", "沙井镇", "寺儿沟村"):
            await resident.tap(place)
    card = resident.replies[-1] if resident.replies else {}
    assert {"110", "12348"} <= set(card.get("calls", []))
    assert "0936-0000123" in card["calls"]  # the village center's own number
