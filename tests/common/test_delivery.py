"""The delivery worker: order per destination, retries, restarts, and no loss."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.storage import Database, MemoryStore, SqlStore, migrate
from common.clock import ManualClock
from common.delivery import DeliveryWorker
from common.messages import Outbound
from common.outbox import (
    Delivered,
    DeliveryResult,
    Destination,
    OutboxEntry,
    OutboxState,
    RetryLater,
    Unreachable,
)

ALICE = Destination("telegram", "alice")
BOB = Destination("telegram", "bob")


class Platform:
    """A fake messaging platform: records what it accepted; ``script`` decides each send."""

    name = "telegram"

    def __init__(self, script: Callable[[OutboxEntry, int], DeliveryResult] | None = None):
        self.received: list[tuple[str, str]] = []
        self.calls = 0
        self.script = script

    async def send(self, entry: OutboxEntry) -> DeliveryResult:
        self.calls += 1
        result = self.script(entry, self.calls) if self.script else Delivered()
        if isinstance(result, Delivered):
            self.received.append((entry.destination.address, entry.message.text))
        return result


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    if request.param == "memory":
        yield MemoryStore()
        return
    async with Database(tmp_path / "outbox.db") as db:
        await migrate(db)
        yield SqlStore(db)


async def _queue(store: Any, clock: ManualClock, *items: tuple[Destination, str]) -> None:
    async with store.transaction() as w:
        for dest, text in items:
            await w.enqueue(dest, Outbound(text), clock())


async def test_entries_go_out_in_order_per_destination(store: Any) -> None:
    clock = ManualClock()
    platform = Platform()
    await _queue(store, clock, (ALICE, "a1"), (BOB, "b1"), (ALICE, "a2"), (ALICE, "a3"))
    worker = DeliveryWorker(store, {"telegram": platform}, clock)
    assert await worker.run_once() == 4
    assert [t for a, t in platform.received if a == "alice"] == ["a1", "a2", "a3"]
    assert await worker.run_once() == 0  # nothing is sent twice
    assert worker.stats.delivered == 4


async def test_a_failing_platform_gets_retries_with_backoff_then_order_holds(store: Any) -> None:
    clock = ManualClock()
    down_until = 3

    def flaky(entry: OutboxEntry, call: int) -> DeliveryResult:
        return RetryLater("502 Bad Gateway") if call <= down_until else Delivered()

    platform = Platform(flaky)
    await _queue(store, clock, (ALICE, "a1"), (ALICE, "a2"))
    worker = DeliveryWorker(store, {"telegram": platform}, clock)
    waits = []
    for _ in range(down_until):
        await worker.run_once()
        (first, _) = await store.outbox_records(ALICE)
        assert first.state is OutboxState.RETRYING
        waits.append(first.next_attempt_at - clock())
        assert await worker.run_once() == 0  # not due yet, and a2 waits behind a1
        clock.now = first.next_attempt_at
    assert waits == [timedelta(seconds=2), timedelta(seconds=4), timedelta(seconds=8)]
    await worker.run_once()
    assert platform.received == [("alice", "a1"), ("alice", "a2")]
    records = await store.outbox_records(ALICE)
    assert [(r.state, r.attempts) for r in records] == [
        (OutboxState.DELIVERED, 4),
        (OutboxState.DELIVERED, 1),
    ]


async def test_the_platforms_retry_after_is_honoured(store: Any) -> None:
    clock = ManualClock()

    def limited(entry: OutboxEntry, call: int) -> DeliveryResult:
        return RetryLater("429", timedelta(seconds=37)) if call == 1 else Delivered()

    platform = Platform(limited)
    await _queue(store, clock, (ALICE, "a1"))
    worker = DeliveryWorker(store, {"telegram": platform}, clock)
    await worker.run_once()
    clock.advance(seconds=36)
    await worker.run_once()
    assert platform.received == []
    clock.advance(seconds=1)
    await worker.run_once()
    assert platform.received == [("alice", "a1")]


async def test_an_unreachable_recipient_is_given_up_with_the_reason(store: Any) -> None:
    clock = ManualClock()

    def blocked(entry: OutboxEntry, call: int) -> DeliveryResult:
        if entry.destination == ALICE:
            return Unreachable("bot was blocked by the user")
        return Delivered()

    platform = Platform(blocked)
    await _queue(store, clock, (ALICE, "a1"), (BOB, "b1"))
    worker = DeliveryWorker(store, {"telegram": platform}, clock)
    await worker.run_once()
    (record,) = await store.outbox_records(ALICE)
    assert (record.state, record.last_error) == (
        OutboxState.UNDELIVERABLE,
        "bot was blocked by the user",
    )
    assert platform.received == [("bob", "b1")]


async def test_an_adapter_exception_is_a_retry_not_a_crash(store: Any) -> None:
    clock = ManualClock()

    def broken(entry: OutboxEntry, call: int) -> DeliveryResult:
        if call == 1:
            raise ConnectionResetError("peer closed")
        return Delivered()

    platform = Platform(broken)
    await _queue(store, clock, (ALICE, "a1"))
    worker = DeliveryWorker(store, {"telegram": platform}, clock)
    await worker.run_once()
    (record,) = await store.outbox_records(ALICE)
    assert record.state is OutboxState.RETRYING and "peer closed" in (record.last_error or "")
    clock.advance(seconds=2)
    await worker.run_once()
    assert platform.received == [("alice", "a1")]


async def test_a_worker_killed_inside_a_send_loses_nothing_and_resends_once(store: Any) -> None:
    clock = ManualClock()
    platform = Platform()
    accepted = asyncio.Event()

    class Hangs(Platform):
        async def send(self, entry: OutboxEntry) -> DeliveryResult:
            platform.received.append((entry.destination.address, entry.message.text))
            accepted.set()  # the platform has it; the process dies before recording
            await asyncio.Event().wait()
            raise AssertionError("unreachable")

    await _queue(store, clock, (ALICE, "a1"), (ALICE, "a2"), (BOB, "b1"))
    dying = DeliveryWorker(store, {"telegram": Hangs()}, clock, concurrency=1)
    task = asyncio.create_task(dying.run_once())
    await asyncio.wait_for(accepted.wait(), 5)
    task.cancel()  # the process is gone
    with pytest.raises(asyncio.CancelledError):
        await task
    clock.advance(minutes=2)  # its lease runs out
    survivor = DeliveryWorker(store, {"telegram": platform}, clock)
    while await survivor.run_once():
        pass
    texts = [t for _, t in platform.received]
    assert sorted(set(texts)) == ["a1", "a2", "b1"]  # zero loss
    assert len(texts) - len(set(texts)) == 1  # at most one duplicate: the interrupted send
    assert survivor.stats.resends == 1
    records = await store.outbox_records()
    assert sum(r.resends for r in records) == 1
    assert all(r.state is OutboxState.DELIVERED for r in records)


_DYING_WORKER = textwrap.dedent(
    """
    import asyncio, os, signal, sys
    from bot.storage import Database, SqlStore
    from common.clock import ManualClock
    from common.delivery import DeliveryWorker
    from common.outbox import Delivered

    class Platform:
        async def send(self, entry):
            with open(sys.argv[2], "a") as log:
                log.write(entry.message.text + "\\n")
            if entry.message.text == "a2":
                os.kill(os.getpid(), signal.SIGKILL)  # dies between send and record
            return Delivered()

    async def main():
        async with Database(sys.argv[1]) as db:
            worker = DeliveryWorker(SqlStore(db), {"telegram": Platform()}, ManualClock())
            await worker.run_once()

    asyncio.run(main())
    """
)


async def test_kill_9_between_send_and_record_resends_exactly_that_entry(tmp_path: Path) -> None:
    db_path, sent_log = tmp_path / "kill.db", tmp_path / "sent.txt"
    clock = ManualClock()
    async with Database(db_path) as db:
        await migrate(db)
        await _queue(SqlStore(db), clock, (ALICE, "a1"), (ALICE, "a2"), (ALICE, "a3"))
    proc = subprocess.run(
        [sys.executable, "-c", _DYING_WORKER, str(db_path), str(sent_log)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).parents[2],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert sent_log.read_text().split() == ["a1", "a2"]
    async with Database(db_path) as db:
        store = SqlStore(db)
        clock.advance(minutes=5)

        class Platform:
            async def send(self, entry: OutboxEntry) -> DeliveryResult:
                with sent_log.open("a") as log:
                    log.write(entry.message.text + "\n")
                return Delivered()

        worker = DeliveryWorker(store, {"telegram": Platform()}, clock)
        while await worker.run_once():
            pass
        assert sent_log.read_text().split() == ["a1", "a2", "a2", "a3"]
        assert worker.stats.resends == 1
        assert [r.state for r in await store.outbox_records()] == [OutboxState.DELIVERED] * 3


async def test_order_holds_when_the_platform_is_slow_and_destinations_interleave(
    store: Any,
) -> None:
    """A slow first send must not be overtaken by later entries of the same destination."""
    clock = ManualClock()
    arrived: list[str] = []

    class Slow(Platform):
        async def send(self, entry: OutboxEntry) -> DeliveryResult:
            if entry.message.text == "a1":
                await asyncio.sleep(0.05)  # a slow network answer for the first one
            arrived.append(entry.message.text)
            return Delivered()

    await _queue(store, clock, (ALICE, "a1"), (BOB, "b1"), (ALICE, "a2"), (BOB, "b2"))
    worker = DeliveryWorker(store, {"telegram": Slow()}, clock)
    await worker.run_once()
    assert [t for t in arrived if t.startswith("a")] == ["a1", "a2"]
    assert [t for t in arrived if t.startswith("b")] == ["b1", "b2"]
