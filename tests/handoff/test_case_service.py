"""The case service: creation, exclusive claims, the 四级七天 ladder, transfers,
replies, notes, closing, rating, reopening and walk-in cases."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.storage import Database, MemoryStore, SqlStore, migrate
from common.clock import ManualClock
from common.messages import Outbound
from common.outbox import Destination
from handoff import (
    OUTCOME_LABELS,
    WALK_IN,
    CaseConflict,
    CaseService,
    CaseStatus,
    CenterDirectory,
    DeadlinePolicy,
    IllegalTransition,
    Level,
    NoHigherCenter,
)

from .conftest import ALICE, Desk, draft

VILLAGE = "620702103203"  # 寺儿沟村, with its own center
HOURS = {Level.VILLAGE: 24, Level.TOWNSHIP: 48, Level.COUNTY: 72, Level.CITY: 96}


_draft = draft


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def service(directory: CenterDirectory, clock: ManualClock) -> CaseService:
    return CaseService(MemoryStore(), directory, DeadlinePolicy(HOURS), clock)


async def _open(service: CaseService, **overrides: Any) -> Any:
    async with service.store.transaction() as w:
        case, _ = await service.open(w, _draft(**overrides), service.clock())
    return case


async def test_a_new_case_is_routed_with_its_deadline_message_and_audit(
    service: CaseService, clock: ManualClock
) -> None:
    case = await _open(service)
    assert (case.center_name, case.level, case.status) == (
        "寺儿沟村综治中心",
        "village",
        CaseStatus.ASSIGNED,
    )
    assert case.due_at == clock() + timedelta(hours=24)
    events = await service.store.case_events(case.id)
    assert [(e.kind, e.from_status, e.to_status) for e in events] == [
        ("received", None, CaseStatus.RECEIVED),
        ("assigned", CaseStatus.RECEIVED, CaseStatus.ASSIGNED),
    ]
    (first,) = await service.store.case_messages(case.id)
    assert (first.author, first.body, first.attachments[0]["ref"]) == (
        "resident",
        "邻居把路堵了",
        "a.jpg",
    )


async def test_a_committee_gets_its_county_deadline(service: CaseService) -> None:
    case = await _open(service, category="traffic")
    assert case.center_id == "ganzhou-traffic"
    assert case.level == "county"
    assert case.due_at - case.created_at == timedelta(hours=72)


async def test_a_second_claim_names_who_holds_the_case(service: CaseService) -> None:
    case = await _open(service)
    claimed = await service.claim(case.number, "li", CaseStatus.ASSIGNED)
    assert (claimed.status, claimed.assignee) == (CaseStatus.CLAIMED, "li")
    with pytest.raises(CaseConflict) as conflict:
        await service.claim(case.number, "wang", CaseStatus.ASSIGNED)
    assert (conflict.value.current, conflict.value.holder) == (CaseStatus.CLAIMED, "li")
    assert "held by li" in str(conflict.value)


async def test_a_move_the_lifecycle_forbids_is_refused(service: CaseService) -> None:
    case = await _open(service)
    with pytest.raises(IllegalTransition):
        await service.change(
            case.number, CaseStatus.ASSIGNED, CaseStatus.RATED, kind="rated", actor="resident"
        )


async def test_escalation_climbs_the_ladder_and_restarts_the_clock(
    service: CaseService, clock: ManualClock
) -> None:
    case = await _open(service)
    seen = [(case.center_name, case.level)]
    for _ in range(3):
        clock.advance(hours=30)
        case = await service.escalate(case.number, case.status, actor="system", reason="逾期")
        assert case.due_at == clock() + timedelta(hours=HOURS[Level(case.level)])
        assert case.status is CaseStatus.ASSIGNED and case.assignee is None
        seen.append((case.center_name, case.level))
    assert seen == [
        ("寺儿沟村综治中心", "village"),
        ("沙井镇综治中心", "township"),
        ("甘州区综治中心", "county"),
        ("张掖市综治中心", "city"),
    ]
    with pytest.raises(NoHigherCenter):  # the province oversees; it does not take cases
        await service.escalate(case.number, case.status, actor="system", reason="逾期")
    kinds = [e.kind for e in await service.store.case_events(case.id)]
    assert kinds == ["received", "assigned", "escalated", "escalated", "escalated"]


async def test_a_committee_escalates_to_its_county_center(service: CaseService) -> None:
    case = await _open(service, category="traffic")
    case = await service.escalate(case.number, case.status, actor="system", reason="逾期")
    assert (case.center_name, case.level) == ("甘州区综治中心", "county")


async def test_a_transfer_moves_a_claimed_case_and_tells_the_resident(
    service: CaseService, directory: CenterDirectory
) -> None:
    case = await _open(service)
    case = await service.claim(case.number, "li", CaseStatus.ASSIGNED)
    labor = directory.center("ganzhou-labor")
    assert labor is not None
    moved = await service.reassign(
        case.number,
        CaseStatus.CLAIMED,
        labor,
        kind="transferred",
        actor="mediator:li",
        reason="是欠薪的事",
        notice=Outbound("您的事项已转到劳动人事争议调解委员会。"),
    )
    assert (moved.center_id, moved.status, moved.assignee) == (
        "ganzhou-labor",
        CaseStatus.ASSIGNED,
        None,
    )
    (notice,) = await service.store.outbox_records(Destination("web", "alice"))
    assert notice.body["text"] == "您的事项已转到劳动人事争议调解委员会。"
    last = (await service.store.case_events(case.id))[-1]
    assert (last.kind, last.detail["reason"]) == ("transferred", "是欠薪的事")


def test_every_level_needs_its_own_deadline() -> None:
    with pytest.raises(AssertionError, match="missing"):
        DeadlinePolicy({Level.VILLAGE: 24, Level.TOWNSHIP: 48, Level.COUNTY: 48})


async def test_twenty_concurrent_claims_on_a_sqlite_file_one_wins(
    tmp_path: Path, directory: CenterDirectory, clock: ManualClock
) -> None:
    """Mediators in several processes: four connections to one file, five claims each."""
    databases = [Database(tmp_path / "race.db") for _ in range(4)]
    for db in databases:
        await db.open()
    await migrate(databases[0])
    services = [
        CaseService(SqlStore(db), directory, DeadlinePolicy(HOURS), clock) for db in databases
    ]
    try:
        case = await _open(services[0])
        results = await asyncio.gather(
            *(services[n % 4].claim(case.number, f"m{n}", CaseStatus.ASSIGNED) for n in range(20)),
            return_exceptions=True,
        )
        winners = [r for r in results if not isinstance(r, BaseException)]
        conflicts = [r for r in results if isinstance(r, CaseConflict)]
        assert len(winners) == 1 and len(conflicts) == 19
        holder = winners[0].assignee
        assert {c.holder for c in conflicts} == {holder}
        events = await services[0].store.case_events(case.id)
        claims = [e for e in events if e.kind == "claimed"]
        assert [(e.from_status, e.to_status, e.actor) for e in claims] == [
            (CaseStatus.ASSIGNED, CaseStatus.CLAIMED, f"mediator:{holder}")
        ]
    finally:
        for db in databases:
            await db.close()


# -- replies, notes, 督办 ---------------------------------------------------------


async def test_the_first_reply_starts_the_work_and_reaches_the_resident(desk: Desk) -> None:
    service, clock = desk.service, desk.clock
    case = await desk.open()
    await service.claim(case.number, "li", CaseStatus.ASSIGNED)
    clock.advance(minutes=12)
    replied = await service.reply(case.number, "li", "李明", "您好，我明天上午到村里看看。")
    assert (replied.status, replied.first_reply_at) == (CaseStatus.IN_PROGRESS, clock())
    (notice,) = await desk.outbox(ALICE)
    assert notice.body["text"] == "调解员李明：您好，我明天上午到村里看看。"
    assert [c["payload"] for c in notice.body["choices"]] == [f"reply:{case.number}"]
    message = (await service.store.case_messages(case.id))[-1]
    assert (message.kind, message.author, message.author_name, message.outbox_id) == (
        "message",
        "mediator:li",
        "李明",
        notice.id,
    )
    clock.advance(hours=1)
    again = await service.reply(
        case.number, "li", "李明", "照片收到了", [{"kind": "photo", "ref": "b.jpg", "name": ""}]
    )
    assert (again.status, again.first_reply_at) == (CaseStatus.IN_PROGRESS, replied.first_reply_at)
    assert [n["text"] for n in await desk.sent()][-1] == "调解员李明：照片收到了"
    last = (await service.store.case_messages(case.id))[-1]
    assert last.attachments == [{"kind": "photo", "ref": "b.jpg", "name": ""}]
    assert (await desk.events(case)).count("replied") == 1


async def test_only_the_mediator_holding_the_case_may_reply(desk: Desk) -> None:
    service = desk.service
    case = await desk.open()
    with pytest.raises(CaseConflict):  # nobody has claimed it yet
        await service.reply(case.number, "li", "李明", "您好")
    await service.claim(case.number, "li", CaseStatus.ASSIGNED)
    with pytest.raises(CaseConflict) as refused:
        await service.reply(case.number, "wang", "王芳", "您好")
    assert refused.value.holder == "li"
    assert await desk.sent() == []
    assert [m.author for m in await service.store.case_messages(case.id)] == ["resident"]


async def test_notes_and_supervision_stay_inside_the_centers(desk: Desk) -> None:
    service = desk.service
    case = await desk.open()
    await service.note(case.number, "mediator:li", "李明", "双方是亲戚，先分开谈")
    await service.supervise(case.number, "mediator:zhao", "赵主任", "请三日内上门")
    messages = (await service.store.case_messages(case.id))[1:]
    assert [(m.kind, m.author_name, m.body, m.outbox_id) for m in messages] == [
        ("note", "李明", "双方是亲戚，先分开谈", None),
        ("supervision", "赵主任", "请三日内上门", None),
    ]
    assert await desk.sent() == []
    assert (await desk.events(case))[-2:] == ["note", "supervised"]
    assert (await desk.case(case.number)).status is CaseStatus.ASSIGNED


# -- moving between centers -------------------------------------------------------


async def test_a_transfer_tells_the_resident_where_the_case_went(desk: Desk) -> None:
    service = desk.service
    case = await desk.open()
    await service.claim(case.number, "li", CaseStatus.ASSIGNED)
    moved = await service.transfer(
        case.number, CaseStatus.CLAIMED, "ganzhou-labor", "mediator:li", "是欠薪的事"
    )
    assert (moved.center_id, moved.status, moved.assignee) == (
        "ganzhou-labor",
        CaseStatus.ASSIGNED,
        None,
    )
    (notice,) = await desk.sent()
    assert moved.center_name in notice["text"] and case.number in notice["text"]
    with pytest.raises(LookupError):
        await service.transfer(case.number, CaseStatus.ASSIGNED, "nowhere", "mediator:li", "")


async def test_escalating_by_hand_tells_the_resident_in_plain_words(desk: Desk) -> None:
    case = await desk.open()
    await desk.service.escalate(case.number, case.status, actor="mediator:li", reason="村里调不了")
    (notice,) = await desk.sent()
    assert "已转到上一级：沙井镇综治中心" in notice["text"]


# -- closing, rating, reopening ---------------------------------------------------


async def _resolved(desk: Desk, outcome: str = "mediated", note: str = "双方签了协议") -> Any:
    case = await desk.open()
    await desk.service.claim(case.number, "li", CaseStatus.ASSIGNED)
    await desk.service.reply(case.number, "li", "李明", "您好")
    return await desk.service.resolve(
        case.number, CaseStatus.IN_PROGRESS, "mediator:li", outcome, note
    )


async def test_resolving_tells_the_outcome_and_asks_for_a_rating(desk: Desk) -> None:
    case = await _resolved(desk)
    now = desk.clock()
    assert (case.status, case.outcome, case.resolved_at) == (CaseStatus.RESOLVED, "mediated", now)
    assert case.followup_due_at == now + timedelta(days=7)
    assert case.archive_due_at == now + timedelta(days=30)
    notice = (await desk.sent())[-1]
    assert OUTCOME_LABELS["mediated"] == "调解成功"
    assert "办理结果：调解成功" in notice["text"] and "说明：双方签了协议" in notice["text"]
    assert [(c["label"], c["payload"]) for c in notice["choices"]] == [
        ("满意", f"rate:{case.number}:satisfied"),
        ("基本满意", f"rate:{case.number}:fairly_satisfied"),
        ("不满意", f"rate:{case.number}:dissatisfied"),
    ]
    last = (await desk.service.store.case_events(case.id))[-1]
    assert (last.kind, last.detail) == ("resolved", {"outcome": "mediated", "note": "双方签了协议"})


async def test_an_unknown_outcome_is_refused(desk: Desk) -> None:
    case = await desk.open()
    with pytest.raises(ValueError, match="outcome"):
        await desk.service.resolve(case.number, case.status, "mediator:li", "done", "")


async def test_a_rating_is_kept_once(desk: Desk) -> None:
    case = await _resolved(desk)
    desk.clock.advance(hours=2)
    async with desk.service.store.transaction() as w:
        rated = await desk.service.rate(w, case.number, "fairly_satisfied", " 还行 ", desk.clock())
    assert (rated.status, rated.rating, rated.rating_comment, rated.rated_at) == (
        CaseStatus.RATED,
        "fairly_satisfied",
        "还行",
        desk.clock(),
    )
    with pytest.raises(CaseConflict):
        async with desk.service.store.transaction() as w:
            await desk.service.rate(w, case.number, "satisfied", None, desk.clock())


async def test_reopening_puts_the_case_back_with_a_new_deadline(desk: Desk) -> None:
    case = await _resolved(desk)
    desk.clock.advance(days=2)
    again = await desk.service.reopen(
        None, case.number, CaseStatus.RESOLVED, "mediator:li", "对方又堵路了"
    )
    assert (again.status, again.center_name, again.assignee) == (
        CaseStatus.ASSIGNED,
        "寺儿沟村综治中心",
        None,
    )
    assert again.due_at == desk.clock() + timedelta(hours=24)
    assert (again.resolved_at, again.followup_due_at, again.archive_due_at) == (None, None, None)
    assert "已重新交给「寺儿沟村综治中心」办理" in (await desk.sent())[-1]["text"]
    await desk.service.resolve(case.number, CaseStatus.ASSIGNED, "mediator:li", "referred", "")
    async with desk.service.store.transaction() as w:  # the resident's own turn: no notice
        up = await desk.service.reopen(
            w, case.number, CaseStatus.RESOLVED, "resident", "不满意", escalate=True
        )
    assert (up.center_name, up.level) == ("沙井镇综治中心", "township")
    assert "已重新交给" not in (await desk.sent())[-1]["text"]
    assert (await desk.events(case)).count("reopened") == 2


# -- walk-in cases (兜底受理) -----------------------------------------------------


async def test_a_walk_in_case_lives_as_any_other_but_sends_nothing(desk: Desk) -> None:
    service = desk.service
    case = await service.register_walk_in(
        _draft(channel="web", user_id="", phone="13812345678", attachments=()),
        "li",
        "李明",
        center_id="620702103",
    )
    assert (case.channel, case.user_id, case.status, case.assignee, case.center_name) == (
        WALK_IN,
        "13812345678",
        CaseStatus.CLAIMED,
        "li",
        "沙井镇综治中心",
    )
    assert case.due_at == desk.clock() + timedelta(hours=48)
    replied = await service.reply(case.number, "li", "李明", "已电话联系")
    assert replied.status is CaseStatus.IN_PROGRESS
    await service.resolve(case.number, CaseStatus.IN_PROGRESS, "mediator:li", "mediated", "")
    assert await desk.outbox() == []
    messages = await service.store.case_messages(case.id)
    assert [(m.author, m.outbox_id) for m in messages] == [
        ("resident", None),
        ("mediator:li", None),
    ]
    events = await service.store.case_events(case.id)
    assert (events[0].actor, events[2].detail["walk_in"]) == ("mediator:li", True)


async def test_a_walk_in_without_a_phone_gets_its_own_id(desk: Desk) -> None:
    first = await desk.service.register_walk_in(_draft(user_id=""), "li", "李明")
    second = await desk.service.register_walk_in(_draft(user_id=""), "li", "李明")
    assert first.center_name == "寺儿沟村综治中心"  # routed by place and category
    assert first.user_id != second.user_id and first.user_id.startswith("walk-in-")
