"""A resident meets the bot and asks legal questions.

The matcher is deterministic, so each test knows which decision its question
gets: the precondition is asserted, never assumed.
"""

from __future__ import annotations

import pytest

from .conftest import EngineResident as Resident
from .conftest import Harness

MENU = ["法律咨询", "反映问题/申请调解", "我的事项", "找调解员", "便民联系卡"]


def question_of(harness: Harness, entry_id: str) -> str:
    entry = harness.engine.services.faq.entry(entry_id)
    assert entry is not None
    return entry.question


def decision_for(harness: Harness, query: str) -> str:
    return str(harness.engine.services.faq.match(query).decision)


async def test_first_contact_greets_and_offers_the_main_menu(resident: Resident) -> None:
    await resident.start()
    assert "民事直说" in resident.text
    assert resident.labels == MENU


async def test_menu_word_brings_the_menu_back_from_anywhere(resident: Resident) -> None:
    await resident.start()
    await resident.tap("反映问题")
    assert "哪一类" in resident.text
    await resident.say("菜单")
    assert resident.labels == MENU


async def test_a_substantive_first_message_is_greeted_and_answered(
    resident: Resident, harness: Harness
) -> None:
    question = question_of(harness, "wage-arrears")
    await resident.say(question)
    assert "民事直说" in resident.replies[0]["text"]
    assert f"【{question}】" in resident.text


async def test_a_confident_answer_comes_short_first_with_the_basis_in_the_details(
    resident: Resident, harness: Harness
) -> None:
    entry = harness.engine.services.faq.entry("wage-arrears")
    assert entry is not None
    await resident.start()
    await resident.tap("法律咨询")
    await resident.say(entry.question)
    answer = resident.replies[0]
    assert entry.short_answer in answer["text"]
    assert "一般性的法律常识" in answer["text"]  # reminder that it is general information
    assert answer["details_label"] == "详细说明 · 法律依据"
    assert entry.answer.strip() in answer["details"]
    assert "法律依据：《" in answer["details"] and "条" in answer["details"]
    assert {"有用", "没解决，找调解员"} <= set(resident.labels)


async def test_unclear_question_offers_up_to_three_candidates(
    resident: Resident, harness: Harness
) -> None:
    query = "我想问问离婚和孩子的事"
    assert decision_for(harness, query) == "suggest"
    await resident.start()
    await resident.say(query)
    assert "您想问的是不是" in resident.text
    candidates = [label for label in resident.labels if label != "都不是"]
    assert 1 <= len(candidates) <= 3
    await resident.tap(candidates[0])
    assert f"【{candidates[0]}】" in resident.text
    assert "法律依据：" in resident.replies[0]["details"]


async def test_question_outside_the_faq_is_answered_honestly_and_logged(
    resident: Resident, harness: Harness
) -> None:
    await resident.start()
    await resident.say("月球离地球有多远")
    assert "回答不了" in resident.text
    assert "反映问题/申请调解" in resident.labels
    misses = await harness.store.faq_misses()
    assert [(m.query, m.reason) for m in misses] == [("月球离地球有多远", "no_match")]


@pytest.mark.parametrize(
    ("question", "where"),
    [
        ("我儿子被人骗去贩毒，现在关在看守所里，会判几年", "12348"),
        ("这两天老是头疼，吃啥药好", "120"),
        ("身份证丢了去哪补办，要带什么", "12345"),
        ("明天会下雨吗", "天气预报"),
        ("俺跟两个朋友合伙开了个小厂，想注册成公司，注册资本写多少合适，股份咋分", "12348"),
        ("去年在外面打零工挣了四万多，个人所得税要自己去报吗，能退税不", "12366"),
        ("你好呀，你是机器人还是真人", "民事直说"),
    ],
)
async def test_question_outside_the_faq_is_sent_where_such_matters_are_handled(
    resident: Resident, harness: Harness, question: str, where: str
) -> None:
    await resident.start()
    await resident.say(question)
    referral, offer = resident.replies
    assert where in referral["text"]
    assert "调解员" in offer["text"]
    payloads = [c["payload"] for r in resident.replies for c in r["choices"]]
    assert not any(p.startswith("faq:") for p in payloads)  # no unrelated entries offered
    assert "反映问题/申请调解" in resident.labels
    (miss,) = await harness.store.faq_misses()
    assert miss.reason == "no_match"


async def test_unhelpful_answer_is_logged_and_leads_to_a_mediator(
    resident: Resident, harness: Harness
) -> None:
    question = question_of(harness, "neighbor-right-of-way")
    assert decision_for(harness, question) == "answer"
    await resident.start()
    await resident.say(question)
    await resident.tap("没解决")
    assert "调解员" in resident.text
    assert "说完了" in resident.labels  # straight to the description, category known
    (miss,) = await harness.store.faq_misses()
    assert (miss.reason, miss.best_id) == ("not_helpful", "neighbor-right-of-way")
    assert miss.best_score is not None and 0 < miss.best_score <= 1


async def test_law_text_can_be_read_after_an_answer(resident: Resident, harness: Harness) -> None:
    entry = harness.engine.services.faq.entry("wage-arrears")
    assert entry is not None
    await resident.start()
    await resident.say(entry.question)
    await resident.tap("看法条原文")
    first = entry.basis[0]
    assert str(first) in resident.text
    article = harness.engine.services.faq.article_text(first)
    assert article and article.strip()[:20] in resident.text


async def test_typed_number_picks_a_menu_choice(resident: Resident) -> None:
    await resident.start()
    await resident.say("3")  # 我的事项
    assert "还没有反映过" in resident.text
