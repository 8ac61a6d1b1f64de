"""The case service: creation, exclusive claims, the 四级七天 ladder, transfers."""

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
    CaseConflict,
    CaseDraft,
    CaseService,
    CaseStatus,
    CenterDirectory,
    DeadlinePolicy,
    IllegalTransition,
    Level,
    NoHigherCenter,
)

VILLAGE = "620702103203"  # 寺儿沟村, with its own center
HOURS = {Level.VILLAGE: 24, Level.TOWNSHIP: 48, Level.COUNTY: 72, Level.CITY: 96}


def _draft(**overrides: Any) -> CaseDraft:
    fields: dict[str, Any] = {
        "channel": "web",
        "user_id": "alice",
        "category": "neighbor",
        "description": "邻居把路堵了",
        "region_code": VILLAGE,
        "location_text": "寺儿沟村",
        "location_method": "picker",
        "attachments": ({"kind": "photo", "ref": "a.jpg", "name": ""},),
    }
    fields.update(overrides)
    return CaseDraft(**fields)


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
