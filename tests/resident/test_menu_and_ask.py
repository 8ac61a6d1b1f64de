"""A resident meets the bot and asks legal questions on the web chat."""

from __future__ import annotations

from .conftest import Resident, Service, rows

MENU = ["法律咨询", "反映问题/申请调解", "我的事项", "找调解员", "便民联系卡"]


async def test_first_contact_greets_and_offers_the_main_menu(resident: Resident) -> None:
    await resident.say("/start")
    assert "民事直说" in resident.text
    assert resident.labels == MENU


async def test_menu_word_brings_the_menu_back_from_anywhere(resident: Resident) -> None:
    await resident.say("/start")
    await resident.tap("反映问题")
    assert "哪一类" in resident.text
    await resident.say("菜单")
    assert resident.labels == MENU


async def test_a_substantive_first_message_is_greeted_and_answered(resident: Resident) -> None:
    await resident.say("老板拖欠工资三个月不给怎么办")
    assert "民事直说" in resident.replies[0]["text"]
    assert "法律依据" in resident.text or "您想问的是不是" in resident.text


async def test_confident_question_gets_answer_with_legal_basis(resident: Resident) -> None:
    await resident.say("/start")
    await resident.tap("法律咨询")
    await resident.say("老板拖欠工资三个月了一直不给钱怎么办")
    assert "法律依据" in resident.text
    assert "《" in resident.text and "第" in resident.text
    assert "一般性的法律常识" in resident.text  # reminder that it is general information
    assert {"有用", "没解决，找调解员"} <= set(resident.labels)


async def test_unclear_question_offers_up_to_three_candidates(resident: Resident) -> None:
    await resident.say("/start")
    await resident.say("钱的事")
    if "您想问的是不是" not in resident.text:  # the matcher may also say it cannot answer
        assert "回答不了" in resident.text
        return
    candidates = [label for label in resident.labels if label != "都不是"]
    assert 1 <= len(candidates) <= 3
    await resident.tap(candidates[0])
    assert "法律依据" in resident.text


async def test_question_outside_the_faq_is_answered_honestly_and_logged(
    resident: Resident, service: Service
) -> None:
    await resident.say("/start")
    await resident.say("明天会下雨吗")
    assert "回答不了" in resident.text
    assert "反映问题/申请调解" in resident.labels
    misses = rows(service.runtime.settings.db, "SELECT query, reason FROM faq_misses")
    assert misses == [{"query": "明天会下雨吗", "reason": "no_match"}]


async def test_unhelpful_answer_is_logged_and_leads_to_a_mediator(
    resident: Resident, service: Service
) -> None:
    await resident.say("/start")
    await resident.say("邻居把我家门口的路堵死了不让过")
    if "您想问的是不是" in resident.text:
        await resident.tap(resident.labels[0])
    await resident.tap("没解决")
    assert "调解员" in resident.text
    assert "说完了" in resident.labels  # straight to the description, category known
    misses = rows(service.runtime.settings.db, "SELECT reason, best_id, best_score FROM faq_misses")
    assert misses[0]["reason"] == "not_helpful"
    assert misses[0]["best_id"] == "neighbor-right-of-way"
    assert 0 < misses[0]["best_score"] <= 1


async def test_law_text_can_be_read_after_an_answer(resident: Resident) -> None:
    await resident.say("/start")
    await resident.say("老板拖欠工资三个月了一直不给钱怎么办")
    if "您想问的是不是" in resident.text:
        await resident.tap(resident.labels[0])
    await resident.tap("看法条原文")
    assert "第" in resident.text and "条" in resident.text
    assert len(resident.text) > 40


async def test_danger_gets_emergency_numbers_before_anything_else(resident: Resident) -> None:
    await resident.say("/start")
    await resident.say("救命 他拿着刀要砍人")
    first = resident.replies[0]["text"]
    assert "110" in first and "120" in first and "119" in first


async def test_past_injury_is_not_treated_as_an_emergency(resident: Resident) -> None:
    await resident.say("/start")
    await resident.say("上个月打架被人打伤了能要求赔偿吗")
    assert "110 · 急救 120" not in resident.text


async def test_typed_number_picks_a_menu_choice(resident: Resident) -> None:
    await resident.say("/start")
    await resident.say("3")  # 我的事项
    assert "还没有反映过" in resident.text
