"""The deadline scheduler: 四级七天 up the ladder, follow-ups and archiving.

Every test runs on the in-memory store and on a SQLite file; time moves by
advancing the clock, and a "restart" opens the same database again.
"""

from __future__ import annotations

from datetime import timedelta

from handoff import CaseStatus, Level, center_topic

from .conftest import HOURS, Desk


async def test_an_overdue_case_climbs_village_township_county_city(desk: Desk) -> None:
    case = await desk.open()
    assert case.due_at == desk.clock() + timedelta(hours=HOURS[Level.VILLAGE])
    climbed = [(case.center_name, case.level)]
    for _ in range(3):
        desk.clock.advance(hours=HOURS[Level(case.level)] - 1)
        assert (await desk.service.run_deadlines()).escalated == ()  # not yet
        desk.clock.advance(hours=1)
        desk.published.clear()
        left = case.center_id
        report = await desk.service.run_deadlines()
        assert report.escalated == (case.number,)
        case = await desk.case(case.number)
        assert case.status is CaseStatus.ASSIGNED
        assert case.due_at == desk.clock() + timedelta(hours=HOURS[Level(case.level)])
        topics = set().union(*desk.published)
        assert {center_topic(left), center_topic(case.center_id)} <= topics  # both centers
        climbed.append((case.center_name, case.level))
    assert climbed == [
        ("寺儿沟村综治中心", "village"),
        ("沙井镇综治中心", "township"),
        ("甘州区综治中心", "county"),
        ("张掖市综治中心", "city"),
    ]
    told = [n["text"] for n in await desk.sent()]
    assert len(told) == 3
    assert "没能在规定时间内办完，已自动转到上一级：沙井镇综治中心" in told[0]
    assert "张掖市综治中心" in told[2]
    last = (await desk.service.store.case_events(case.id))[-1]
    assert (last.kind, last.actor, last.detail["reason"]) == ("escalated", "system", "超过办理期限")


async def test_a_claimed_case_escalates_too_and_leaves_its_mediator(desk: Desk) -> None:
    case = await desk.open()
    await desk.service.claim(case.number, "li", CaseStatus.ASSIGNED)
    await desk.service.reply(case.number, "li", "李明", "我看看")
    desk.clock.advance(hours=24)
    await desk.service.run_deadlines()
    moved = await desk.case(case.number)
    assert (moved.status, moved.assignee, moved.level) == (CaseStatus.ASSIGNED, None, "township")


async def test_a_committee_case_escalates_to_its_county_center(desk: Desk) -> None:
    case = await desk.open(category="traffic")
    assert case.center_id == "ganzhou-traffic"
    desk.clock.advance(hours=HOURS[Level.COUNTY])
    await desk.service.run_deadlines()
    moved = await desk.case(case.number)
    assert (moved.center_name, moved.level) == ("甘州区综治中心", "county")


async def test_a_deadline_missed_while_down_escalates_once_at_the_next_start(desk: Desk) -> None:
    case = await desk.open()
    await desk.stop()
    desk.clock.advance(hours=30)  # the service was down when the deadline passed
    await desk.start()
    first = await desk.service.run_deadlines()
    second = await desk.service.run_deadlines()
    assert (first.escalated, second.total) == ((case.number,), 0)
    assert (await desk.events(case)).count("escalated") == 1
    assert len(await desk.sent()) == 1


async def test_overdue_at_the_top_is_flagged_once(desk: Desk) -> None:
    case = await desk.open()
    for _ in range(3):
        case = await desk.service.escalate(case.number, case.status, actor="system", reason="x")
    assert case.level == "city"
    desk.clock.advance(hours=HOURS[Level.CITY] + 1)
    sent_before = len(await desk.sent())
    first = await desk.service.run_deadlines()
    assert (first.flagged, first.escalated) == ((case.number,), ())
    flagged = await desk.case(case.number)
    assert (flagged.overdue_flagged_at, flagged.level) == (desk.clock(), "city")
    desk.clock.advance(hours=5)
    assert (await desk.service.run_deadlines()).total == 0
    assert (await desk.events(case)).count("overdue_flagged") == 1
    assert len(await desk.sent()) == sent_before


async def _resolve(desk: Desk) -> str:
    case = await desk.open()
    await desk.service.claim(case.number, "li", CaseStatus.ASSIGNED)
    await desk.service.resolve(case.number, CaseStatus.CLAIMED, "mediator:li", "mediated", "")
    return case.number


async def test_the_follow_up_goes_out_once_after_seven_days(desk: Desk) -> None:
    number = await _resolve(desk)
    desk.clock.advance(days=7, seconds=-1)
    assert (await desk.service.run_deadlines()).followed_up == ()
    desk.clock.advance(seconds=1)
    assert (await desk.service.run_deadlines()).followed_up == (number,)
    assert (await desk.service.run_deadlines()).followed_up == ()
    followup = (await desk.sent())[-1]
    assert number in followup["text"]
    assert [(c["label"], c["payload"]) for c in followup["choices"]] == [
        ("已经解决了", f"followup:{number}:ok"),
        ("又有问题了", f"followup:{number}:again"),
    ]
    assert (await desk.case(number)).followed_up_at == desk.clock()


async def test_closed_cases_are_archived_after_thirty_days(desk: Desk) -> None:
    number = await _resolve(desk)
    withdrawn = await desk.open(user_id="bob")
    async with desk.service.store.transaction() as w:
        await desk.service.withdraw(
            w, withdrawn.number, CaseStatus.ASSIGNED, "不需要了", desk.clock()
        )
    desk.clock.advance(days=30)
    report = await desk.service.run_deadlines()
    assert set(report.archived) == {number, withdrawn.number}
    assert (await desk.case(number)).status is CaseStatus.ARCHIVED
    assert (await desk.service.run_deadlines()).total == 0


async def test_a_reopened_case_is_not_archived_on_its_old_date(desk: Desk) -> None:
    number = await _resolve(desk)
    desk.clock.advance(days=10)
    await desk.service.run_deadlines()  # the follow-up
    await desk.service.reopen(None, number, CaseStatus.RESOLVED, "resident", "又有问题了")
    await desk.service.claim(number, "li", CaseStatus.ASSIGNED)
    desk.clock.advance(days=21)
    report = await desk.service.run_deadlines()
    assert report.archived == () and report.followed_up == ()
    assert (await desk.case(number)).status is not CaseStatus.ARCHIVED
