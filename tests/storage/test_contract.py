"""The storage contract: what every adapter must do, run against each of them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from common.messages import Choice, Inbound, Outbound
from common.outbox import Destination, OutboxState
from handoff import Case, CaseEvent, CaseStatus, center_topic

from .conftest import Reopen

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
ALICE = Destination("web", "alice")
BOB = Destination("web", "bob")


def _case(**overrides: Any) -> Case:
    fields: dict[str, Any] = {
        "id": 0,
        "number": "",
        "channel": "web",
        "user_id": "alice",
        "category": "neighbor",
        "description": "邻居把路堵了",
        "region_code": "620702103203",
        "location_text": "张掖市甘州区沙井镇寺儿沟村",
        "location_method": "picker",
        "lat": None,
        "lon": None,
        "phone": "13812345678",
        "center_id": "620702103",
        "center_name": "沙井镇综治中心",
        "level": "township",
        "status": CaseStatus.ASSIGNED,
        "urgent": True,
        "transcript_from": None,
        "created_at": NOW,
        "updated_at": NOW,
        "due_at": NOW + timedelta(hours=48),
        "resolved_at": None,
        "outcome": None,
        "assignee": None,
    }
    fields.update(overrides)
    return Case(**fields)


async def test_message_ids_are_deduplicated_per_resident(store: Any) -> None:
    alice = Inbound("web", "alice", "text", text="hi", platform_msg_id="m1")
    bob = Inbound("web", "bob", "text", text="hello", platform_msg_id="m1")
    no_id = Inbound("web", "alice", "text", text="again")
    async with store.transaction() as w:
        assert await w.record_inbound(alice, NOW) is not None
        assert await w.record_inbound(alice, NOW) is None  # the same resident's retry
        assert await w.record_inbound(bob, NOW) is not None  # another resident, same id
        assert await w.record_inbound(no_id, NOW) is not None
        assert await w.record_inbound(no_id, NOW) is not None  # no id: never a duplicate


async def test_a_failed_transaction_leaves_nothing(store: Any) -> None:
    with pytest.raises(RuntimeError):
        async with store.transaction() as w:
            await w.save_conversation("web", "alice", "ask", {"x": 1}, NOW)
            await w.enqueue(ALICE, Outbound("x"), NOW)
            await w.insert_case(_case())
            raise RuntimeError("boom")
    assert await store.conversation("web", "alice") is None
    assert await store.outbound_after("web", "alice", 0) == []
    assert await store.cases_for_resident("web", "alice") == []


async def test_conversations_are_saved_and_replaced(store: Any) -> None:
    async with store.transaction() as w:
        await w.save_conversation("web", "alice", "ask", {"report": {"messages": ["a"]}}, NOW)
        await w.save_conversation("web", "alice", "menu", {"home": "620702"}, NOW)
    assert await store.conversation("web", "alice") == ("menu", {"home": "620702"})
    assert await store.conversation("web", "bob") is None


async def test_stored_replies_come_back_for_a_retried_message(store: Any) -> None:
    msg = Inbound("web", "alice", "text", text="hi", platform_msg_id="m1")
    reply = Outbound("您好", (Choice("菜单", "cmd:menu"),), tone="warning", calls=("110",))
    async with store.transaction() as w:
        inbound_id = await w.record_inbound(msg, NOW)
        out_id = await w.enqueue(ALICE, reply, NOW, inbound_id=inbound_id, delivered=True)
        assert await w.take_inbound(inbound_id, NOW)
        assert not await w.take_inbound(inbound_id, NOW)  # taken once only
    sent = await store.replies_to("web", "alice", "m1")
    assert [(s.id, s.message) for s in sent] == [(out_id, reply)]
    assert await store.replies_to("web", "bob", "m1") == []
    assert await store.unprocessed_inbound() == []


async def test_a_message_is_taken_as_it_is_stored_unless_an_earlier_one_waits(
    store: Any,
) -> None:
    async with store.transaction() as w:
        first = await w.record_inbound_and_take(
            Inbound("web", "alice", "text", text="1", platform_msg_id="a1"), NOW
        )
        assert first is not None and first[1]  # nothing of alice's waited: taken
        waiting = await w.record_inbound(Inbound("web", "alice", "text", text="2"), NOW)
        second = await w.record_inbound_and_take(Inbound("web", "alice", "text", text="3"), NOW)
        assert second is not None and not second[1]  # "2" waits: its turn comes first
        bob = await w.record_inbound_and_take(Inbound("web", "bob", "text", text="4"), NOW)
        assert bob is not None and bob[1]  # alice's waiting message is not bob's
        await w.put_back_inbound(bob[0])  # e.g. bob sent too fast: his turn waits
        repeat = Inbound("web", "alice", "text", text="1", platform_msg_id="a1")
        assert await w.record_inbound_and_take(repeat, NOW) is None
    pending = await store.unprocessed_inbound()
    assert [i for i, _ in pending] == [waiting, second[0], bob[0]]


async def test_unprocessed_messages_are_listed_oldest_first(store: Any) -> None:
    async with store.transaction() as w:
        first = await w.record_inbound(Inbound("web", "a", "text", text="1"), NOW)
        second = await w.record_inbound(Inbound("web", "b", "start", payload="620702"), NOW)
    pending = await store.unprocessed_inbound()
    assert [(i, m.kind, m.payload) for i, m in pending] == [
        (first, "text", ""),
        (second, "start", "620702"),
    ]
    assert [i for i, _ in await store.unprocessed_inbound("web", "b")] == [second]


async def test_transcript_puts_each_reply_after_its_message(store: Any) -> None:
    async with store.transaction() as w:
        one = await w.record_inbound(Inbound("web", "alice", "text", text="问1"), NOW)
        await w.enqueue(ALICE, Outbound("答1"), NOW, inbound_id=one, delivered=True)
    async with store.transaction() as w:
        await w.enqueue(ALICE, Outbound("调解员来信"), NOW + timedelta(seconds=5))
    async with store.transaction() as w:
        two = await w.record_inbound(
            Inbound("web", "alice", "text", text="问2"), NOW + timedelta(seconds=9)
        )
        await w.enqueue(
            ALICE, Outbound("答2"), NOW + timedelta(seconds=9), inbound_id=two, delivered=True
        )
        await w.enqueue(BOB, Outbound("别人的"), NOW)
    texts = [m.body["text"] for m in await store.transcript("web", "alice")]
    assert texts == ["问1", "答1", "调解员来信", "问2", "答2"]
    later = await store.outbound_after("web", "alice", 0)
    assert [m.body["text"] for m in later] == ["答1", "调解员来信", "答2"]


async def test_a_case_is_declared_once_and_stored_whole(store: Any) -> None:
    async with store.transaction() as w:
        first = await w.insert_case(_case())
        second = await w.insert_case(_case(user_id="bob"))
    assert first.number == "MS261122-0001" and second.number == "MS261122-0002"
    assert await store.case_by_number(first.number) == first
    assert await store.case_by_id(second.id) == second
    assert first == replace(_case(), id=first.id, number=first.number)
    assert [c.id for c in await store.cases_for_resident("web", "alice")] == [first.id]


async def test_update_case_is_a_compare_and_set(store: Any) -> None:
    async with store.transaction() as w:
        case = await w.insert_case(_case())
    async with store.transaction() as w:
        claimed = await w.update_case(
            case.id, CaseStatus.ASSIGNED, {"status": CaseStatus.CLAIMED, "assignee": "m1"}
        )
        again = await w.update_case(
            case.id, CaseStatus.ASSIGNED, {"status": CaseStatus.CLAIMED, "assignee": "m2"}
        )
    assert claimed is not None and claimed.assignee == "m1"
    assert again is None
    stored = await store.case_by_id(case.id)
    assert (stored.status, stored.assignee) == (CaseStatus.CLAIMED, "m1")


async def test_case_events_and_messages_keep_their_order(store: Any) -> None:
    async with store.transaction() as w:
        case = await w.insert_case(_case())
        event = CaseEvent("claimed", CaseStatus.ASSIGNED, CaseStatus.CLAIMED, "m1", {"a": 1}, NOW)
        await w.add_case_event(case.id, event)
        later = NOW + timedelta(minutes=3)
        await w.add_case_message(case.id, "resident", "第一条", [], None, NOW)
        await w.add_case_message(
            case.id, "resident", "照片", [{"kind": "photo", "ref": "x.jpg"}], None, later
        )
    assert await store.case_events(case.id) == [event]
    messages = await store.case_messages(case.id)
    assert [(m.body, m.attachments) for m in messages] == [
        ("第一条", []),
        ("照片", [{"kind": "photo", "ref": "x.jpg"}]),
    ]
    updated = await store.case_by_id(case.id)
    assert updated.updated_at == NOW + timedelta(minutes=3)


async def test_cases_due_lists_open_overdue_cases_earliest_first(store: Any) -> None:
    async with store.transaction() as w:
        late = await w.insert_case(_case(due_at=NOW - timedelta(hours=2)))
        later = await w.insert_case(_case(due_at=NOW - timedelta(hours=1)))
        await w.insert_case(_case(due_at=NOW + timedelta(hours=1)))
        await w.insert_case(_case(due_at=NOW - timedelta(hours=3), status=CaseStatus.RESOLVED))
    assert [c.id for c in await store.cases_due(NOW, 10)] == [late.id, later.id]
    assert [c.id for c in await store.cases_due(NOW, 1)] == [late.id]


async def test_cases_flagged_overdue_are_not_due_again(store: Any) -> None:
    async with store.transaction() as w:
        flagged = await w.insert_case(_case(due_at=NOW - timedelta(hours=2)))
        await w.update_case(flagged.id, CaseStatus.ASSIGNED, {"overdue_flagged_at": NOW})
        late = await w.insert_case(_case(due_at=NOW - timedelta(hours=1)))
    assert [c.id for c in await store.cases_due(NOW, 1)] == [late.id]


async def test_cases_due_a_follow_up_are_closed_and_not_followed_up(store: Any) -> None:
    def closed(status: CaseStatus, due: timedelta, **more: Any) -> Case:
        return _case(status=status, followup_due_at=NOW - due, **more)

    async with store.transaction() as w:
        later = await w.insert_case(closed(CaseStatus.RATED, timedelta(hours=1)))
        first = await w.insert_case(closed(CaseStatus.RESOLVED, timedelta(hours=2)))
        await w.insert_case(closed(CaseStatus.RESOLVED, -timedelta(hours=1)))  # not yet
        await w.insert_case(closed(CaseStatus.RESOLVED, timedelta(hours=3), followed_up_at=NOW))
        await w.insert_case(closed(CaseStatus.ARCHIVED, timedelta(hours=3)))
        await w.insert_case(closed(CaseStatus.ASSIGNED, timedelta(hours=3)))  # reopened
    assert [c.id for c in await store.cases_followup_due(NOW, 10)] == [first.id, later.id]
    assert [c.id for c in await store.cases_followup_due(NOW, 1)] == [first.id]


async def test_cases_due_archiving_are_closed_or_withdrawn(store: Any) -> None:
    def closed(status: CaseStatus, due: timedelta) -> Case:
        return _case(status=status, archive_due_at=NOW - due)

    async with store.transaction() as w:
        rated = await w.insert_case(closed(CaseStatus.RATED, timedelta(hours=1)))
        withdrawn = await w.insert_case(closed(CaseStatus.WITHDRAWN, timedelta(hours=2)))
        resolved = await w.insert_case(closed(CaseStatus.RESOLVED, timedelta(hours=3)))
        await w.insert_case(closed(CaseStatus.RESOLVED, -timedelta(hours=1)))  # not yet
        await w.insert_case(closed(CaseStatus.ARCHIVED, timedelta(hours=3)))
        await w.insert_case(closed(CaseStatus.IN_PROGRESS, timedelta(hours=3)))
    due = await store.cases_archive_due(NOW, 10)
    assert [c.id for c in due] == [resolved.id, withdrawn.id, rated.id]
    assert len(await store.cases_archive_due(NOW, 2)) == 2


async def test_a_case_moving_centers_is_published_to_both(store: Any) -> None:
    async with store.transaction() as w:
        case = await w.insert_case(_case())
    async with store.transaction() as w:
        await w.update_case(
            case.id, CaseStatus.ASSIGNED, {"center_id": "6207", "center_name": "甘州区综治中心"}
        )
        topics = set(w.topics)
    assert {center_topic("620702103"), center_topic("6207")} <= topics


async def test_case_messages_can_be_read_inside_a_transaction(store: Any) -> None:
    async with store.transaction() as w:
        case = await w.insert_case(_case())
        await w.add_case_message(
            case.id, "mediator:li", "您好", [], None, NOW, kind="message", author_name="李明"
        )
        (message,) = await w.case_messages(case.id)
    assert (message.author_name, message.kind) == ("李明", "message")


async def test_faq_misses_are_counted_per_question(store: Any) -> None:
    async with store.transaction() as w:
        for _ in range(3):
            await w.log_faq_miss("web", "a", "化肥哪里买", "no_match", None, None, NOW)
        await w.log_faq_miss("web", "b", "离婚咋办", "not_helpful", "divorce", 0.7, NOW)
    misses = await store.faq_misses()
    assert [(m.query, m.reason, m.count) for m in misses] == [
        ("化肥哪里买", "no_match", 3),
        ("离婚咋办", "not_helpful", 1),
    ]
    assert (misses[1].best_id, misses[1].best_score) == ("divorce", 0.7)


async def test_faq_questions_get_ids_that_their_taps_refer_to(store: Any) -> None:
    async with store.transaction() as w:
        first = await w.log_faq_question("web", "a", "离婚咋办", "answer", "divorce", None, NOW)
        await w.log_faq_feedback(first, "useful", "divorce", NOW)
    async with store.transaction() as w:
        second = await w.log_faq_question("web", "b", "化肥", "none", None, "620702103", NOW)
        await w.log_faq_feedback(second, "not_useful", None, NOW)
    assert isinstance(first, int) and second > first


# -- the outbox ------------------------------------------------------------------


async def _queue(store: Any, *items: tuple[Destination, str]) -> list[int]:
    async with store.transaction() as w:
        return [await w.enqueue(dest, Outbound(text), NOW) for dest, text in items]


async def test_only_pending_entries_of_served_channels_are_leased(store: Any) -> None:
    tg = Destination("telegram", "42")
    ids = await _queue(store, (ALICE, "a1"), (tg, "t1"))
    async with store.transaction() as w:
        await w.enqueue(BOB, Outbound("inline"), NOW, delivered=True)
    leased = await store.lease_outbox("w1", ["web"], NOW, NOW + timedelta(minutes=1), 10)
    assert [e.id for e in leased] == [ids[0]]
    assert leased[0].message == Outbound("a1")
    # Leased entries are not handed to a second worker until the lease ends.
    assert await store.lease_outbox("w2", ["web"], NOW, NOW + timedelta(minutes=1), 10) == []
    expired = NOW + timedelta(minutes=2)
    again = await store.lease_outbox("w2", ["web"], expired, expired + timedelta(minutes=1), 10)
    assert [e.id for e in again] == [ids[0]]


async def test_a_waiting_entry_holds_back_later_ones_of_its_destination(store: Any) -> None:
    a1, a2, b1 = await _queue(store, (ALICE, "a1"), (ALICE, "a2"), (BOB, "b1"))
    leased = await store.lease_outbox("w", ["web"], NOW, NOW + timedelta(minutes=1), 10)
    assert [e.id for e in leased] == [a1, a2, b1]
    assert await store.outbox_sending(a1, "w", NOW)
    retry_at = NOW + timedelta(seconds=30)
    await store.outbox_outcome(
        a1, "w", OutboxState.RETRYING, NOW, next_attempt_at=retry_at, error="429"
    )
    await store.outbox_release([a2], "w")
    soon = NOW + timedelta(seconds=10)
    assert await store.lease_outbox("w", ["web"], soon, soon + timedelta(minutes=1), 10) == []
    late = NOW + timedelta(seconds=31)
    after = await store.lease_outbox("w", ["web"], late, late + timedelta(minutes=1), 10)
    assert [e.id for e in after] == [a1, a2]
    assert after[0].attempts == 1


async def test_outcomes_are_recorded_and_interrupted_sends_counted(store: Any) -> None:
    (a1,) = await _queue(store, (ALICE, "a1"))
    await store.lease_outbox("w1", ["web"], NOW, NOW + timedelta(minutes=1), 10)
    assert await store.outbox_sending(a1, "w1", NOW)
    # w1 dies here, after it may have sent. Its lease runs out; w2 takes over.
    later = NOW + timedelta(minutes=5)
    (entry,) = await store.lease_outbox("w2", ["web"], later, later + timedelta(minutes=1), 10)
    assert entry.interrupted
    assert not await store.outbox_sending(a1, "w1", later)  # w1's lease is gone
    assert await store.outbox_sending(a1, "w2", later)
    await store.outbox_outcome(a1, "w2", OutboxState.DELIVERED, later)
    (record,) = await store.outbox_records(ALICE)
    assert (record.state, record.attempts, record.resends) == (OutboxState.DELIVERED, 2, 1)
    assert record.delivered_at == later


async def test_undeliverable_entries_keep_their_reason_and_free_the_queue(store: Any) -> None:
    a1, a2 = await _queue(store, (ALICE, "a1"), (ALICE, "a2"))
    await store.lease_outbox("w", ["web"], NOW, NOW + timedelta(minutes=1), 1)
    await store.outbox_sending(a1, "w", NOW)
    await store.outbox_outcome(a1, "w", OutboxState.UNDELIVERABLE, NOW, error="blocked")
    leased = await store.lease_outbox("w", ["web"], NOW, NOW + timedelta(minutes=1), 10)
    assert [e.id for e in leased] == [a2]
    first = (await store.outbox_records(ALICE))[0]
    assert (first.state, first.last_error) == (OutboxState.UNDELIVERABLE, "blocked")


async def test_the_outbox_survives_a_restart(stores: Reopen) -> None:
    store = await stores()
    a1, a2 = await _queue(store, (ALICE, "a1"), (ALICE, "a2"))
    await store.lease_outbox("old", ["web"], NOW, NOW + timedelta(minutes=1), 10)
    reopened = await stores()
    later = NOW + timedelta(minutes=2)
    leased = await reopened.lease_outbox("new", ["web"], later, later + timedelta(minutes=1), 10)
    assert [e.id for e in leased] == [a1, a2]


async def test_uploads_belong_to_the_resident_who_sent_them(store: Any) -> None:
    await store.record_upload("web", "alice", "abc.jpg", "photo", 1234, NOW)
    await store.record_upload("web", "alice", "abc.jpg", "photo", 1234, NOW)  # again: fine
    assert await store.uploaded_by("web", "alice", "abc.jpg")
    assert not await store.uploaded_by("web", "bob", "abc.jpg")
    assert not await store.uploaded_by("web", "alice", "other.jpg")


async def test_a_secret_is_made_once_and_kept(stores: Reopen) -> None:
    store = await stores()
    first = await store.service_secret("token-key", "k1", NOW)
    assert first == "k1"
    again = await (await stores()).service_secret("token-key", "k2", NOW)
    assert again == "k1"


async def test_an_unreachable_resident_is_remembered_and_can_come_back(store: Any) -> None:
    tg = Destination("telegram", "42")
    assert await store.is_reachable(tg)
    await store.set_reachable(tg, False, NOW, "blocked")
    assert not await store.is_reachable(tg)
    assert await store.is_reachable(Destination("telegram", "43"))
    await store.set_reachable(tg, True, NOW)
    assert await store.is_reachable(tg)


async def test_waking_a_destination_makes_its_waiting_entries_due(store: Any) -> None:
    a1, b1 = await _queue(store, (ALICE, "a1"), (BOB, "b1"))
    await store.lease_outbox("w", ["web"], NOW, NOW + timedelta(minutes=1), 10)
    for entry_id in (a1, b1):
        await store.outbox_sending(entry_id, "w", NOW)
        await store.outbox_outcome(
            entry_id, "w", OutboxState.RETRYING, NOW, next_attempt_at=NOW + timedelta(days=2)
        )
    soon = NOW + timedelta(minutes=5)
    assert await store.outbox_wake(ALICE, soon) == 1
    leased = await store.lease_outbox("w", ["web"], soon, soon + timedelta(minutes=1), 10)
    assert [e.id for e in leased] == [a1]  # bob's entry still waits


async def test_platform_files_wait_until_fetched_or_given_up(store: Any) -> None:
    await store.queue_file("telegram", "file-1", "photo", NOW)
    await store.queue_file("telegram", "file-2", "voice", NOW + timedelta(seconds=1))
    await store.queue_file("telegram", "file-1", "photo", NOW)  # the same file again: once
    waiting = await store.files_to_fetch("telegram", 10)
    assert [(f.platform_ref, f.kind, f.attempts) for f in waiting] == [
        ("file-1", "photo", 0),
        ("file-2", "voice", 0),
    ]
    assert await store.files_to_fetch("wechat", 10) == []
    await store.file_fetched("telegram", "file-1", "abc.jpg", 1234, NOW)
    await store.file_failed("telegram", "file-2", "timeout", NOW, give_up=False)
    assert [f.attempts for f in await store.files_to_fetch("telegram", 10)] == [1]
    await store.file_failed("telegram", "file-2", "gone", NOW, give_up=True)
    assert await store.files_to_fetch("telegram", 10) == []
    assert await store.local_file("telegram", "file-1") == "abc.jpg"
    assert await store.local_file("telegram", "file-2") is None


async def test_a_platform_update_is_seen_once(stores: Reopen) -> None:
    store = await stores()
    assert await store.first_sight("telegram", "update-7", NOW)
    assert not await store.first_sight("telegram", "update-7", NOW)
    assert await store.first_sight("wechat", "update-7", NOW)
    assert not await (await stores()).first_sight("telegram", "update-7", NOW)  # after restart
