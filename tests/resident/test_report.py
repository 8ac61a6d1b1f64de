"""A resident reports a matter: category, story, place, phone, confirm, case."""

from __future__ import annotations

import re
from typing import Any

from tests.chat import ZHANGYE_VILLAGE, describe, pick_place, start_report, submit_case

from .conftest import Resident, Service, rows


def the_case(service: Service) -> dict[str, Any]:
    cases = rows(service.runtime.settings.db, "SELECT * FROM cases")
    assert len(cases) == 1
    return cases[0]


async def test_full_report_through_the_region_picker(resident: Resident, service: Service) -> None:
    await start_report(resident, "邻里纠纷")
    await describe(resident, "邻居在巷道口砌了墙", "我家拉粮食的车进不来了")
    await pick_place(resident, *ZHANGYE_VILLAGE)

    await resident.say("12345")
    assert "号码好像不对" in resident.text
    await resident.say("138 1234 5678")
    assert "请核对" in resident.text
    assert "138****5678" in resident.text and "13812345678" not in resident.text
    assert "甘州区沙井镇寺儿沟村" in resident.text

    await resident.tap("确认提交")
    number = re.search(r"MS\d{6}-\d{4}", resident.text)
    assert number, resident.text
    assert "受理单位" in resident.text
    assert "11月23日 10:00" in resident.text  # village level: 24 hours from 10:00 Beijing time

    case = the_case(service)
    route = service.runtime.centers.route(case["region_code"], "neighbor")
    assert case["number"] == number.group(0)
    assert case["category"] == "neighbor"
    assert case["description"] == "邻居在巷道口砌了墙\n我家拉粮食的车进不来了"
    assert case["location_method"] == "picker"
    assert case["phone"] == "13812345678"  # stored in full for the mediator
    assert case["center_id"] == route.center.id and case["level"] == route.level
    assert case["status"] == "assigned"
    assert route.center.name in resident.text
    events = rows(service.runtime.settings.db, "SELECT kind FROM case_events ORDER BY id")
    assert [e["kind"] for e in events] == ["received", "assigned"]


async def test_typed_place_name_with_a_typo_is_found(resident: Resident, service: Service) -> None:
    await start_report(resident)
    await describe(resident, "邻居家的污水流到我家院子里")
    await resident.say("甘州区沙井镇寺耳沟")  # 儿 → 耳, the way pinyin input slips
    assert "是下面这个地方吗" in resident.text
    await resident.tap("寺儿沟村")
    await resident.tap("跳过")
    await resident.tap("确认提交")
    case = the_case(service)
    assert case["location_method"] == "search"
    assert case["location_text"].endswith("寺儿沟村")
    assert case["phone"] is None


async def test_unknown_place_name_gets_a_clear_hint(resident: Resident) -> None:
    await start_report(resident)
    await describe(resident, "楼上漏水")
    await resident.say("火星基地")
    assert "没找到" in resident.text
    assert "按地区选" in resident.labels


async def test_gps_location_routes_to_the_nearest_center(
    resident: Resident, service: Service
) -> None:
    village = service.runtime.centers.search("寺儿沟村", limit=1)[0].region
    assert village.lat is not None and village.lon is not None
    await start_report(resident)
    await describe(resident, "邻居家狗天天叫")
    await resident.tap("发送位置")
    assert "发送位置" in resident.text
    await resident.send_location(village.lat + 0.001, village.lon - 0.001)
    assert f"离您位置最近的是「{service.runtime.centers.full_name(village.code)}」" in resident.text
    await resident.tap("是，就是这里")
    await resident.tap("跳过")
    await resident.tap("确认提交")
    case = the_case(service)
    assert case["location_method"] == "gps"
    assert case["region_code"] == village.code
    assert abs(case["lat"] - (village.lat + 0.001)) < 1e-9


async def test_location_far_outside_the_service_area_is_explained(resident: Resident) -> None:
    await start_report(resident)
    await describe(resident, "邻居家狗天天叫")
    await resident.send_location(23.13, 113.26)  # Guangzhou
    assert "不在本平台服务的地区" in resident.text


async def test_qr_code_place_is_offered_first(new_resident: Any, service: Service) -> None:
    resident: Resident = await new_resident()
    village = service.runtime.centers.search("寺儿沟村", limit=1)[0].region
    await resident.start(village.code)
    route = service.runtime.centers.route(village.code, "other")
    assert route.center.name in resident.replies[0]["text"]  # greeting names the center
    await resident.tap("反映问题")
    await resident.tap("邻里纠纷")
    await resident.say("邻居占了我家的地")
    await resident.tap("说完了")
    assert "寺儿沟村" in resident.text and "是，就是这里" in resident.labels
    await resident.tap("是，就是这里")
    await resident.tap("跳过")
    await resident.tap("确认提交")
    case = the_case(service)
    assert case["location_method"] == "link"
    assert case["region_code"] == village.code


async def test_category_is_inferred_from_the_story(resident: Resident, service: Service) -> None:
    await resident.start()
    await resident.tap("反映问题")
    await resident.say("包工头欠了我们三个月的工钱跑了")
    assert "欠薪与劳动报酬" in resident.text
    await resident.tap("说完了")
    await pick_place(resident, *ZHANGYE_VILLAGE)
    await resident.tap("跳过")
    await resident.tap("确认提交")
    case = the_case(service)
    assert case["category"] == "wages"
    assert case["description"] == "包工头欠了我们三个月的工钱跑了"


async def test_category_with_a_committee_goes_to_the_committee(
    resident: Resident, service: Service
) -> None:
    centers = service.runtime.centers
    village = centers.search("寺儿沟村", limit=1)[0].region
    route = centers.route(village.code, "traffic")
    assert route.committee, "the demo data has a traffic committee in 甘州区"
    await start_report(resident, "交通事故")
    await describe(resident, "电动车被小轿车撞了 对方不赔")
    await pick_place(resident, *ZHANGYE_VILLAGE)
    await resident.tap("跳过")
    assert route.center.name in resident.text
    await resident.tap("确认提交")
    case = the_case(service)
    assert case["center_id"] == route.center.id
    assert case["level"] == route.level
    assert "11月24日 10:00" in resident.text  # committees work at county level: 48 hours


async def test_editing_a_part_returns_to_the_summary(resident: Resident, service: Service) -> None:
    await start_report(resident)
    await describe(resident, "邻居盖房挡了我家的光")
    await pick_place(resident, *ZHANGYE_VILLAGE)
    await resident.tap("跳过")
    await resident.tap("改电话")
    await resident.say("13987654321")
    assert "请核对" in resident.text and "139****4321" in resident.text
    await resident.tap("改类型")
    await resident.tap("环境与噪声")
    assert "请核对" in resident.text and "环境与噪声" in resident.text
    await resident.tap("确认提交")
    case = the_case(service)
    assert case["category"] == "environment" and case["phone"] == "13987654321"


async def test_urgent_report_is_marked_urgent(resident: Resident, service: Service) -> None:
    await start_report(resident, "家庭暴力")
    await resident.say("他正在打我 往死里打")
    assert "110" in resident.replies[0]["text"]
    await resident.tap("说完了")
    await pick_place(resident, *ZHANGYE_VILLAGE)
    await resident.tap("跳过")
    assert "紧急" in resident.text
    await resident.tap("确认提交")
    assert "紧急" in resident.text
    assert the_case(service)["urgent"] == 1


async def test_my_cases_lists_the_case_and_takes_a_new_message(
    resident: Resident, service: Service
) -> None:
    number = await submit_case(resident, "邻居的树倒在我家房顶上")

    await resident.tap("我的事项")
    assert number in resident.text and "等待调解员接单" in resident.text
    await resident.tap(number)
    assert "补充" in resident.text
    await resident.say("今天树又压坏了一片瓦")
    assert f"已补充到事项 {number}" in resident.text
    await resident.tap("完成")
    messages = rows(
        service.runtime.settings.db, "SELECT author, body FROM case_messages ORDER BY id"
    )
    assert messages[-1] == {"author": "resident", "body": "今天树又压坏了一片瓦"}


async def test_find_a_mediator_with_an_open_case_goes_to_that_case(
    resident: Resident, service: Service
) -> None:
    number = await submit_case(resident, "邻居的猪圈臭得很")
    await resident.say("找调解员")
    assert number in resident.text
    await resident.say("能不能快点来看看")
    assert f"已补充到事项 {number}" in resident.text


async def test_residents_cannot_open_each_others_cases(new_resident: Any, service: Service) -> None:
    alice: Resident = await new_resident()
    bob: Resident = await new_resident()
    number = await submit_case(alice, "邻居占道")
    await bob.start()
    await bob.tap("我的事项")
    assert number not in bob.text
    await bob.post({"choice": f"case:{number}"})
    assert number not in bob.text
    assert rows(service.runtime.settings.db, "SELECT COUNT(*) AS n FROM case_messages")[0]["n"] == 1


async def test_contact_card_of_the_village(resident: Resident, service: Service) -> None:
    await resident.start()
    await resident.tap("便民联系卡")
    assert "想看哪个村" in resident.text
    await resident.say("寺儿沟村")
    await resident.tap("寺儿沟村")
    assert "便民联系卡" in resident.text
    assert "示例" in resident.text  # demo people and numbers are labelled
    for number in ("110", "120", "119", "12348", "12345", "12315"):
        assert number in resident.text
    code = service.runtime.centers.search("寺儿沟村", limit=1)[0].region.code
    _, contacts, center = service.runtime.centers.contact_card(code)
    assert contacts and all(c.phone in resident.text for c in contacts)
    assert center is not None and center.phone in resident.text
    # Known place now: the card comes at once next time.
    await resident.say("联系卡")
    assert "便民联系卡" in resident.text and "想看哪个村" not in resident.text
