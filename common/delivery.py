"""The delivery worker: takes due outbox entries and hands them to the adapters.

Per destination, entries go out strictly in order: a failed entry holds back
the ones after it until its retry succeeds or it is given up. Different
destinations are sent concurrently. The worker never lets an adapter's
exception escape; an unexpected one counts as "retry later". When it starts,
it frees the leases of this machine's processes that died (``common.liveness``),
so what a killed process was sending goes out now, not when its lease runs out.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from .clock import Clock
from .jobs import heartbeat
from .liveness import is_gone, this_process
from .metrics import DELIVERY_FAILURES, MESSAGES_OUT, NO_METRICS, RESENDS, Metrics
from .notify import Notifier
from .outbox import (
    Delivered,
    DeliveryResult,
    Destination,
    OutboxEntry,
    OutboxState,
    OutboxStore,
    RetryLater,
    Unreachable,
)

__all__ = ["OUTBOX_TOPIC", "DeliveryStats", "DeliveryWorker", "Sender"]

log = logging.getLogger(__name__)

OUTBOX_TOPIC = "outbox"  # published after any commit that queued an entry


class Sender(Protocol):
    """A channel adapter as the worker sees it."""

    async def send(self, entry: OutboxEntry) -> DeliveryResult: ...


@dataclass
class DeliveryStats:
    delivered: int = 0
    retried: int = 0
    undeliverable: int = 0
    resends: int = 0  # sends repeated because the process died during an earlier one


class DeliveryWorker:
    def __init__(
        self,
        store: OutboxStore,
        senders: Mapping[str, Sender],
        clock: Clock,
        *,
        notifier: Notifier | None = None,
        owner: str | None = None,
        lease: timedelta = timedelta(seconds=60),
        batch: int = 200,
        backoff_base: timedelta = timedelta(seconds=2),
        backoff_max: timedelta = timedelta(minutes=30),
        max_attempts: int = 30,
        concurrency: int = 32,
        poll_seconds: float = 1.0,
        metrics: Metrics = NO_METRICS,
    ) -> None:
        self.store = store
        self.senders = dict(senders)
        self.clock = clock
        self.notifier = notifier
        # host:pid:start of this process (common.liveness), then this worker
        self.owner = owner or f"{this_process()}:{id(self):x}"
        self.lease = lease
        self.batch = batch
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.max_attempts = max_attempts
        self.poll_seconds = poll_seconds
        self.stats = DeliveryStats()
        self.metrics = metrics
        self._slots = asyncio.Semaphore(concurrency)

    def backoff(self, attempts: int) -> timedelta:
        """2 s, 4 s, 8 s … capped: the wait after the ``attempts``-th failure."""
        wait: timedelta = self.backoff_base * (2 ** max(attempts - 1, 0))
        return min(wait, self.backoff_max)

    async def run_once(self) -> int:
        """Lease what is due now and send it; the number of entries leased."""
        if not self.senders:
            return 0
        now = self.clock()
        entries = await self.store.lease_outbox(
            self.owner, sorted(self.senders), now, now + self.lease, self.batch
        )
        # Entries come oldest first, destinations interleaved: one run per destination
        # (itertools.groupby would split a destination into concurrent runs).
        by_destination: dict[Destination, list[OutboxEntry]] = {}
        for entry in entries:
            by_destination.setdefault(entry.destination, []).append(entry)
        runs = list(by_destination.values())
        await asyncio.gather(*(self._send_run(run) for run in runs))
        return len(entries)

    async def free_dead_leases(self) -> int:
        """Entries leased by processes of this machine that died (kill -9, power cut) are
        sent now, not when their leases run out; the number freed."""
        dead = [o for o in await self.store.outbox_lease_owners(self.clock()) if is_gone(o)]
        freed = await self.store.outbox_free_leases(dead)
        if freed:
            log.warning("outbox: %s entries leased by dead processes freed (%s)", freed, dead)
        return freed

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set, waking on new entries or every poll interval."""
        await self.free_dead_leases()
        if self.notifier is None:
            await self._loop(stop, None)
            return
        with self.notifier.subscribe(OUTBOX_TOPIC) as wake:
            await self._loop(stop, wake.wait)

    async def _loop(
        self, stop: asyncio.Event, wake: Callable[[float], Awaitable[bool]] | None
    ) -> None:
        while not stop.is_set():
            heartbeat()
            if await self.run_once():
                continue  # more may be due right away
            await self._idle(stop, wake)

    async def _idle(
        self, stop: asyncio.Event, wake: Callable[[float], Awaitable[bool]] | None
    ) -> None:
        """Until new entries are published, ``stop`` is set, or a poll interval passes
        (retries fall due without any publication)."""
        waiters: list[asyncio.Future[bool]] = [asyncio.ensure_future(stop.wait())]
        if wake is not None:
            waiters.append(asyncio.ensure_future(wake(self.poll_seconds)))
        try:
            await asyncio.wait(
                waiters, timeout=self.poll_seconds, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def _send_run(self, run: list[OutboxEntry]) -> None:
        """One destination's entries, in order; stop at the first that must wait."""
        async with self._slots:
            for index, entry in enumerate(run):
                if not await self._send(entry):
                    rest = [e.id for e in run[index + 1 :]]
                    if rest:
                        await self.store.outbox_release(rest, self.owner)
                    return

    async def _send(self, entry: OutboxEntry) -> bool:
        """Send one entry and record the outcome; False when later entries must wait."""
        sender = self.senders[entry.destination.channel]
        if not await self.store.outbox_sending(entry.id, self.owner, self.clock()):
            return False  # our lease ran out and someone else took it
        channel = entry.destination.channel
        if entry.interrupted:
            self.stats.resends += 1
            self.metrics.count(RESENDS, channel=channel)
            log.warning(
                "outbox entry %s to %s: sending again after an interrupted send",
                entry.id,
                entry.destination.channel,
            )
        try:
            result = await sender.send(entry)
        except Exception as exc:  # an adapter bug must not stop delivery
            log.exception("adapter %s failed on entry %s", entry.destination.channel, entry.id)
            result = RetryLater(f"adapter error: {exc!r}")
        now = self.clock()
        attempts = entry.attempts + 1
        if isinstance(result, Delivered):
            await self.store.outbox_outcome(entry.id, self.owner, OutboxState.DELIVERED, now)
            self.stats.delivered += 1
            self.metrics.count(MESSAGES_OUT, channel=channel)
            return True
        if isinstance(result, Unreachable) or attempts >= self.max_attempts:
            reason = result.reason
            if not isinstance(result, Unreachable):
                reason = f"gave up after {attempts} attempts: {reason}"
            log.warning("outbox entry %s undeliverable: %s", entry.id, reason)
            await self.store.outbox_outcome(
                entry.id, self.owner, OutboxState.UNDELIVERABLE, now, error=reason
            )
            self.stats.undeliverable += 1
            self.metrics.count(DELIVERY_FAILURES, channel=channel, outcome="undeliverable")
            return True
        delay = result.delay if result.delay is not None else self.backoff(attempts)
        await self.store.outbox_outcome(
            entry.id,
            self.owner,
            OutboxState.RETRYING,
            now,
            next_attempt_at=now + delay,
            error=result.reason,
        )
        self.stats.retried += 1
        self.metrics.count(DELIVERY_FAILURES, channel=channel, outcome="retry")
        return False
