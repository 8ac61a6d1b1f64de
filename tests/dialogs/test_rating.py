"""The resident's side of a mediator's work: replies, the rating, the 回访, reopening.

The mediator acts through the case service (as the console does); the
resident sees the queued messages as the page's event stream shows them
and taps their buttons.
"""

from __future__ import annotations

from datetime import timedelta

from handoff import CaseStatus
from tests.chat import describe, start_report, submit_case

from .conftest import EngineResident, Harness


async def _resolved(harness: Harness, resident: EngineResident, outcome: str = "mediated") -> str:
    """A case the resident reported, answered and resolved by mediator 李明."""
    number = await submit_case(resident, "邻居把我家门口的路堵了")
    cases = harness.cases
    await cases.claim(number, "li", CaseStatus.ASSIGNED)
    await cases.reply(number, "li", "李明", "您好，我明天上午去村里看看。")
    harness.clock.advance(days=1)
    await cases.resolve(number, CaseStatus.IN_PROGRESS, "mediator:li", outcome, "双方签了协议")
    later = await resident.read_later_messages()
    assert later[0]["text"] == "调解员李明：您好，我明天上午去村里看看。"
    assert "办理结果：调解成功" in resident.text and "说明：双方签了协议" in resident.text
    assert resident.labels[-3:] == ["满意", "基本满意", "不满意"]
    return number


async def test_a_resident_rates_a_resolved_case_with_a_comment(
    harness: Harness, resident: EngineResident
) -> None:
    number = await _resolved(harness, resident)
    await resident.tap("满意")
    assert "还有什么想跟我们说的" in resident.text and "跳过" in resident.labels
    await resident.say("李调解员很耐心，谢谢")
    assert "评价收到了" in resident.text and "法律咨询" in resident.labels
    (case,) = await harness.cases_of()
    assert (case.number, case.status, case.rating, case.rating_comment) == (
        number,
        CaseStatus.RATED,
        "satisfied",
        "李调解员很耐心，谢谢",
    )
    assert await resident.state() == "menu"


async def test_the_comment_can_be_skipped_and_a_second_rating_is_not_taken(
    harness: Harness, resident: EngineResident
) -> None:
    await _resolved(harness, resident)
    buttons = list(resident.replies)
    await resident.tap("基本满意")
    await resident.tap("跳过")
    (case,) = await harness.cases_of()
    assert (case.rating, case.rating_comment) == ("fairly_satisfied", None)
    resident.replies = buttons  # the old message is still on the page
    await resident.tap("不满意")
    assert "已经评价过了" in resident.text
    (case,) = await harness.cases_of()
    assert case.rating == "fairly_satisfied"


async def test_dissatisfied_can_hand_the_case_one_level_up(
    harness: Harness, resident: EngineResident
) -> None:
    await _resolved(harness, resident)
    await resident.tap("不满意")
    assert "哪里不满意" in resident.text
    await resident.say("路还是堵着")
    assert resident.labels == ["重新办理", "交给上一级", "不用了"]
    await resident.tap("交给上一级")
    (case,) = await harness.cases_of()
    assert (case.status, case.center_name, case.rating) == (
        CaseStatus.ASSIGNED,
        "沙井镇综治中心",
        "dissatisfied",
    )
    assert "已交给「沙井镇综治中心」重新办理" in resident.text
    assert "前联系您" in resident.text
    events = await harness.store.case_events(case.id)
    assert (events[-1].kind, events[-1].detail["reason"]) == ("reopened", "路还是堵着")


async def test_dissatisfied_can_have_the_same_center_try_again(
    harness: Harness, resident: EngineResident
) -> None:
    await _resolved(harness, resident)
    await resident.tap("不满意")
    await resident.tap("跳过")
    await resident.tap("重新办理")
    (case,) = await harness.cases_of()
    assert (case.status, case.center_name) == (CaseStatus.ASSIGNED, "寺儿沟村综治中心")
    assert case.due_at == harness.clock() + timedelta(hours=24)


async def test_dissatisfied_may_leave_it_there(harness: Harness, resident: EngineResident) -> None:
    await _resolved(harness, resident)
    await resident.tap("不满意")
    await resident.tap("跳过")
    await resident.tap("不用了")
    (case,) = await harness.cases_of()
    assert case.status is CaseStatus.RATED
    assert "随时可以重新反映" in resident.text


async def test_nobody_else_can_rate_a_case(harness: Harness, resident: EngineResident) -> None:
    number = await _resolved(harness, resident)
    bob = await harness.resident("bob")
    await bob.start()
    await bob.post({"choice": f"rate:{number}:dissatisfied"})
    assert "没找到这件事" in bob.text
    (case,) = await harness.cases_of()
    assert case.status is CaseStatus.RESOLVED


async def test_the_follow_up_can_reopen_the_case(
    harness: Harness, resident: EngineResident
) -> None:
    number = await _resolved(harness, resident)
    await resident.tap("满意")
    await resident.tap("跳过")
    harness.clock.advance(days=7)
    assert (await harness.cases.run_deadlines()).followed_up == (number,)
    await resident.read_later_messages()
    assert "现在情况怎么样" in resident.text
    await resident.tap("又有问题了")
    assert "已交给「寺儿沟村综治中心」重新办理" in resident.text
    assert "请直接发要补充的情况" in resident.text
    await resident.say("他们又把路堵上了")
    (case,) = await harness.cases_of()
    assert case.status is CaseStatus.ASSIGNED
    last = (await harness.store.case_messages(case.id))[-1]
    assert (last.author, last.body) == ("resident", "他们又把路堵上了")


async def test_a_settled_follow_up_is_thanked_and_recorded(
    harness: Harness, resident: EngineResident
) -> None:
    await _resolved(harness, resident)
    harness.clock.advance(days=7)
    await harness.cases.run_deadlines()
    await resident.read_later_messages()
    await resident.tap("已经解决了")
    assert "谢谢您告诉我们" in resident.text
    (case,) = await harness.cases_of()
    assert case.status is CaseStatus.RESOLVED
    events = await harness.store.case_events(case.id)
    assert (events[-1].kind, events[-1].detail) == ("followup_answered", {"answer": "ok"})


async def test_rating_in_the_middle_of_a_report_keeps_the_report(
    harness: Harness, resident: EngineResident
) -> None:
    await _resolved(harness, resident)
    rating_message = list(resident.replies)
    await start_report(resident)
    await describe(resident, "另一件事：工钱没给")
    resident.replies = rating_message
    await resident.tap("满意")
    await resident.tap("跳过")
    assert "评价收到了" in resident.text
    assert "接着填" in resident.labels
    await resident.tap("接着填")
    assert "发生在哪里" in resident.text or "是在「" in resident.text


async def test_my_cases_show_the_mediators_latest_message(
    harness: Harness, resident: EngineResident
) -> None:
    number = await submit_case(resident, "邻居把我家门口的路堵了")
    await harness.cases.claim(number, "li", CaseStatus.ASSIGNED)
    long = "您好，我是沙井镇寺儿沟村的调解员，明天上午九点到您家门口看看路的情况，请您在家等我。"
    await harness.cases.reply(number, "li", "李明", long)
    await resident.say("我的事项")
    assert "正在办理" in resident.text
    assert "调解员李明：您好，我是沙井镇寺儿沟村的调解员" in resident.text
    assert long not in resident.text and "…" in resident.text  # shortened in the list
    await resident.tap(number)
    assert long in resident.text  # in full on the case


async def test_answering_a_mediator_reaches_the_case(
    harness: Harness, resident: EngineResident
) -> None:
    number = await submit_case(resident, "邻居把我家门口的路堵了")
    await harness.cases.claim(number, "li", CaseStatus.ASSIGNED)
    await harness.cases.reply(number, "li", "李明", "请发一张路的照片")
    await resident.read_later_messages()
    await resident.tap("回复调解员")
    assert await resident.state() == "case_add"
    await resident.say("好的，下午拍了发给您")
    assert "调解员会看到" in resident.text
    (case,) = await harness.cases_of()
    messages = await harness.store.case_messages(case.id)
    assert [(m.author, m.body) for m in messages][-2:] == [
        ("mediator:li", "请发一张路的照片"),
        ("resident", "好的，下午拍了发给您"),
    ]


async def test_a_rating_tapped_is_kept_even_if_the_resident_leaves_the_comment_step(
    harness: Harness, resident: EngineResident
) -> None:
    await _resolved(harness, resident)
    await resident.tap("满意")
    await resident.say("菜单")  # walks away without a comment
    (case,) = await harness.cases_of()
    assert (case.status, case.rating, case.rating_comment) == (
        CaseStatus.RATED,
        "satisfied",
        None,
    )
