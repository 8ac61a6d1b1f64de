"""Leases of dead processes are freed at once, on every store (see common.liveness)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from common.outbox import OutboxState

from .test_contract import ALICE, BOB, NOW, _queue

LEASE = timedelta(minutes=1)


async def test_running_leases_are_listed_by_owner(store: Any) -> None:
    a1, _, b1 = await _queue(store, (ALICE, "a1"), (ALICE, "a2"), (BOB, "b1"))
    await store.lease_outbox("dead", ["web"], NOW, NOW + LEASE, 2)  # a1, a2
    await store.lease_outbox("alive", ["web"], NOW, NOW + LEASE, 10)  # b1
    assert await store.outbox_lease_owners(NOW) == ["alive", "dead"]
    await store.outbox_sending(b1, "alive", NOW)
    await store.outbox_outcome(b1, "alive", OutboxState.DELIVERED, NOW)
    assert await store.outbox_lease_owners(NOW) == ["dead"]  # a delivered entry holds none
    assert await store.outbox_lease_owners(NOW + 2 * LEASE) == []  # run out
    assert a1


async def test_freed_entries_go_out_at_once_and_an_interrupted_send_counts(store: Any) -> None:
    a1, a2, b1 = await _queue(store, (ALICE, "a1"), (ALICE, "a2"), (BOB, "b1"))
    await store.lease_outbox("dead", ["web"], NOW, NOW + LEASE, 2)
    await store.lease_outbox("alive", ["web"], NOW, NOW + LEASE, 10)
    assert await store.outbox_sending(a1, "dead", NOW)  # and then the process died
    assert await store.lease_outbox("new", ["web"], NOW, NOW + LEASE, 10) == []

    assert await store.outbox_free_leases(["dead"]) == 2
    assert await store.outbox_free_leases([]) == 0
    taken = await store.lease_outbox("new", ["web"], NOW, NOW + LEASE, 10)
    assert [(e.id, e.interrupted) for e in taken] == [(a1, True), (a2, False)]
    assert not await store.outbox_sending(a2, "dead", NOW)  # the dead holder lost them
    assert await store.outbox_sending(a1, "new", NOW)
    await store.outbox_outcome(a1, "new", OutboxState.DELIVERED, NOW)
    first = (await store.outbox_records(ALICE))[0]
    assert (first.state, first.resends) == (OutboxState.DELIVERED, 1)
    # Other holders keep theirs.
    assert await store.outbox_lease_owners(NOW) == ["alive", "new"]
    assert await store.outbox_sending(b1, "alive", NOW)
