"""Operations reads and the retention purge behave the same on every store."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.storage import MemoryStore
from bot.storage._ops import MemoryOps, OpsStore, PurgeCounts, SqlOps
from common.messages import Inbound, Outbound
from common.outbox import Destination, OutboxState
from common.privacy import REMOVED
from handoff import CaseEvent, CaseStatus
from handoff._webhooks import WebhookCall

from .conftest import Reopen
from .test_contract import ALICE, NOW, _case

PHONE = "13812345678"
ID_NUMBER = "62070219800101123X"
ARCHIVED_AT = NOW - timedelta(days=40)
HOOK = Destination("webhook", "620702103#0")


def ops_of(store: Any) -> OpsStore:
    return MemoryOps(store) if isinstance(store, MemoryStore) else SqlOps(store.db)


async def _archived_case_with_numbers(store: Any) -> Any:
    """An archived case of alice whose numbers are everywhere, and an open one."""
    earlier = ARCHIVED_AT - timedelta(days=2)
    async with store.transaction() as w:
        said = Inbound("web", "alice", "text", text=f"我的电话 138 1234 5678，身份证{ID_NUMBER}")
        inbound_id = await w.record_inbound(said, earlier)
        await w.take_inbound(inbound_id, earlier)
        await w.enqueue(ALICE, Outbound(f"您留的电话：{PHONE}"), earlier, delivered=True)
        await w.log_faq_miss("web", "alice", f"打{PHONE}没人接", "no_match", None, None, earlier)
        case = await w.insert_case(
            _case(
                status=CaseStatus.RATED,
                description=f"邻居堵路，联系我{PHONE}",
                transcript_from=inbound_id,
                created_at=earlier,
                updated_at=ARCHIVED_AT,
            )
        )
        await w.add_case_message(case.id, "resident", f"我的身份证号{ID_NUMBER}", [], None, earlier)
        await w.add_case_event(
            case.id,
            CaseEvent(
                "resolved", None, None, "mediator:1", {"note": f"已电话{PHONE}联系"}, earlier
            ),
        )
        archived = {"status": CaseStatus.ARCHIVED, "updated_at": ARCHIVED_AT}
        case = await w.update_case(case.id, CaseStatus.RATED, archived)
        call = WebhookCall("", payload={"case_number": case.number, "phone": PHONE})
        await w.enqueue(HOOK, call, earlier)
        later = Inbound("web", "alice", "text", text=f"新的事，电话{PHONE}")
        later_id = await w.record_inbound(later, NOW)
        await w.take_inbound(later_id, NOW)
        still_open = await w.insert_case(_case(description=f"新事项{PHONE}", updated_at=NOW))
    return case, still_open


async def test_outbox_backlog_and_case_counts(store: Any) -> None:
    ops = ops_of(store)
    assert await ops.outbox_backlog() == []
    assert await ops.case_counts() == {}
    async with store.transaction() as w:
        await w.enqueue(ALICE, Outbound("第一条"), NOW - timedelta(minutes=5))
        await w.enqueue(ALICE, Outbound("第二条"), NOW)
        await w.enqueue(ALICE, Outbound("已送达"), NOW, delivered=True)
        given_up = await w.enqueue(HOOK, Outbound("送不到"), NOW)
        await w.insert_case(_case())
        await w.insert_case(_case(status=CaseStatus.RESOLVED))
        await w.insert_case(_case(status=CaseStatus.RESOLVED))
    (entry,) = await store.lease_outbox("w", ["webhook"], NOW, NOW + timedelta(minutes=1), 10)
    assert entry.id == given_up
    assert await store.outbox_sending(given_up, "w", NOW)
    await store.outbox_outcome(given_up, "w", OutboxState.UNDELIVERABLE, NOW, error="blocked")

    backlog = {b.channel: b for b in await ops.outbox_backlog()}
    assert backlog["web"].waiting == 2 and backlog["web"].undeliverable == 0
    assert backlog["web"].oldest_waiting == NOW - timedelta(minutes=5)
    assert backlog["webhook"].waiting == 0 and backlog["webhook"].undeliverable == 1
    assert await ops.case_counts() == {"assigned": 1, "resolved": 2}


async def test_the_write_check_passes_on_a_working_store(store: Any) -> None:
    await ops_of(store).write_check(NOW)


async def test_retention_removes_numbers_and_keeps_the_case(stores: Reopen) -> None:
    store = await stores()
    case, still_open = await _archived_case_with_numbers(store)
    ops = ops_of(store)
    assert await ops.cases_to_purge(ARCHIVED_AT - timedelta(seconds=1), 10) == []
    (due,) = await ops.cases_to_purge(NOW - timedelta(days=30), 10)
    assert due.id == case.id

    dry = await ops.purge_case(case.id, NOW, apply=False)
    assert dry.cases == 1 and dry.phones == 1 and dry.texts >= 7
    assert (await store.case_by_id(case.id)).phone == PHONE  # a dry run changes nothing

    done = await ops.purge_case(case.id, NOW, apply=True)
    assert done == dry

    store = await stores()  # as the next process sees it
    ops = ops_of(store)
    kept = await store.case_by_id(case.id)
    assert kept.phone is None
    assert kept.description == f"邻居堵路，联系我{REMOVED}"
    assert (kept.number, kept.status, kept.created_at) == (
        case.number,
        case.status,
        case.created_at,
    )
    (message,) = await store.case_messages(case.id)
    assert message.body == f"我的身份证号{REMOVED}"
    (event,) = await store.case_events(case.id)
    assert event.detail == {"note": f"已电话{REMOVED}联系"}
    chat = await store.transcript("web", "alice")
    texts = [m.body.get("text") for m in chat]
    assert f"我的电话 {REMOVED}，身份证{REMOVED}" in texts
    assert f"您留的电话：{REMOVED}" in texts
    assert f"新的事，电话{PHONE}" in texts  # after the archiving: another matter
    (hook,) = await store.outbox_records(HOOK)
    assert hook.body["webhook"]["phone"] == REMOVED
    assert [m.query for m in await store.faq_misses()] == [f"打{REMOVED}没人接"]
    assert (await store.case_by_id(still_open.id)).phone == PHONE

    assert await ops.cases_to_purge(NOW, 10) == []  # done once
    assert await ops.purge_case(case.id, NOW, apply=True) == PurgeCounts()
    assert await ops.purge_case(still_open.id, NOW, apply=True) == PurgeCounts()


async def test_a_dry_run_leaves_every_store_as_it_was(store: Any) -> None:
    case, _ = await _archived_case_with_numbers(store)
    before = await store.transcript("web", "alice")
    await ops_of(store).purge_case(case.id, NOW, apply=False)
    assert await store.transcript("web", "alice") == before
    assert await ops_of(store).cases_to_purge(NOW, 10) != []
