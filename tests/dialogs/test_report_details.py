"""The report form's rough edges, as a resident meets them."""

from __future__ import annotations

import pytest

from dialogs.flows.report import mobile_in
from tests.chat import ZHANGYE_VILLAGE, describe, pick_place, start_report, submit_case

from .conftest import EngineResident as Resident
from .conftest import Harness


@pytest.fixture
def harness(harness_both: Harness) -> Harness:
    """Every behaviour here holds on the engine and over HTTP against the service."""
    return harness_both


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("１３８１２３４５６７８", "13812345678"),  # a Chinese keyboard's full-width digits
        ("13812345678。", "13812345678"),
        ("我的电话是138 1234 5678，白天都能打", "13812345678"),
        ("+86 138-1234-5678", "13812345678"),
        ("手机：008613812345678", "13812345678"),
    ],
)
async def test_phone_numbers_typed_as_people_type_them_are_accepted(
    resident: Resident, harness: Harness, typed: str, stored: str
) -> None:
    await start_report(resident)
    await describe(resident, "邻居堵路")
    await pick_place(resident, *ZHANGYE_VILLAGE)
    await resident.say(typed)
    assert "请核对" in resident.text
    assert "138****5678" in resident.text  # masked even to the resident's own screen
    await resident.tap("确认提交")
    (case,) = await harness.cases_of()
    assert case.phone == stored


@pytest.mark.parametrize(
    "typed", ["138123456789", "1381234567", "电话 12812345678", "13812345678 或 13912345678"]
)
def test_wrong_or_ambiguous_numbers_are_refused(typed: str) -> None:
    assert mobile_in(typed) is None


async def test_demo_center_numbers_are_marked_wherever_shown(resident: Resident) -> None:
    await submit_case(resident, "邻居堵路")
    assert "0936-0000123（示例号码）" in resident.text
    await resident.tap("我的事项")
    await resident.tap("MS")
    assert "0936-0000123（示例号码）" in resident.text


async def test_a_story_told_at_the_category_step_is_kept(
    resident: Resident, harness: Harness
) -> None:
    await resident.start()
    await resident.tap("反映问题")
    story = "那家人太过分了我实在受不了了"  # no kind can be told from this
    await resident.say(story)
    assert "已经记下了" in resident.text and "哪一类" in resident.text
    await resident.tap("邻里纠纷")
    assert "已经记下您说的 1 条情况" in resident.text
    await resident.tap("说完了")
    await pick_place(resident, *ZHANGYE_VILLAGE)
    await resident.tap("跳过")
    await resident.tap("确认提交")
    (case,) = await harness.cases_of()
    assert case.description == story


async def test_a_loan_story_is_understood_as_a_loan(resident: Resident) -> None:
    await resident.start()
    await resident.tap("反映问题")
    await resident.say("张三借了我两万块钱，说好年底还，现在电话也不接了，不还了")
    assert "借贷与债务" in resident.text


async def _at_summary(resident: Resident) -> None:
    await start_report(resident)
    await describe(resident, "邻居把排水沟堵了", "下雨水就流进我家院子")
    await pick_place(resident, *ZHANGYE_VILLAGE)
    await resident.tap("跳过")
    assert "请核对" in resident.text


async def test_changing_the_story_can_add_to_it(resident: Resident, harness: Harness) -> None:
    await _at_summary(resident)
    await resident.tap("改情况")
    assert "邻居把排水沟堵了" in resident.text  # what is kept is shown
    await resident.tap("在后面补充")
    assert "加在原来的情况后面" in resident.text
    await resident.say("已经三个月了")
    await resident.tap("说完了")
    assert "请核对" in resident.text
    await resident.tap("确认提交")
    (case,) = await harness.cases_of()
    assert case.description == "邻居把排水沟堵了\n下雨水就流进我家院子\n已经三个月了"


async def test_changing_the_story_can_replace_it(resident: Resident, harness: Harness) -> None:
    await _at_summary(resident)
    await resident.tap("改情况")
    await resident.tap("全部重新说")
    assert "已经清空" in resident.text
    await resident.say("其实是邻居家的树倒了压坏我家墙")
    await resident.tap("说完了")
    await resident.tap("确认提交")
    (case,) = await harness.cases_of()
    assert case.description == "其实是邻居家的树倒了压坏我家墙"


async def test_a_complaint_about_the_village_committee_goes_to_the_township(
    resident: Resident, harness: Harness
) -> None:
    await start_report(resident, "村务与集体")
    await describe(resident, "村干部把征地补偿款扣下了不公开账目")
    await pick_place(resident, *ZHANGYE_VILLAGE)
    assert "沙井镇综治中心" not in resident.text  # not yet: the summary shows it
    await resident.tap("跳过")
    assert "受理单位：沙井镇综治中心" in resident.text
    await resident.tap("确认提交")
    (case,) = await harness.cases_of()
    assert (case.center_name, case.level) == ("沙井镇综治中心", "township")


@pytest.mark.parametrize(
    ("category", "name"), [("welfare", "社会保障与救助"), ("housing", "房屋买卖、租赁与城镇征收")]
)
async def test_the_new_categories_are_offered_and_routed(
    resident: Resident, harness: Harness, category: str, name: str
) -> None:
    await start_report(resident, name)
    await describe(resident, "想问问怎么办")
    await pick_place(resident, *ZHANGYE_VILLAGE)
    await resident.tap("跳过")
    await resident.tap("确认提交")
    (case,) = await harness.cases_of()
    assert case.category == category
    assert case.center_name == "寺儿沟村综治中心"
