"""Live updates: "something new for topic X" between parts of the service.

An event stream of the web chat (and later the mediator console) waits on a
topic; whoever stores something for it publishes the topic after commit. The
message itself is always read from storage, so a missed wake-up loses
nothing. ``LocalNotifier`` works inside one process; several instances would
plug a shared one (e.g. PostgreSQL LISTEN/NOTIFY) into the same port.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

__all__ = ["LocalNotifier", "Notifier", "Subscription"]


class Subscription(Protocol):
    async def wait(self, timeout: float) -> bool:
        """True when the topic was published since the last wait, False on timeout."""
        ...


class Notifier(Protocol):
    def publish(self, topic: str) -> None: ...

    def subscribe(self, topic: str) -> AbstractContextManager[Subscription]: ...


class _Waiter:
    def __init__(self) -> None:
        self.event = asyncio.Event()

    async def wait(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self.event.wait(), timeout)
        except TimeoutError:
            return False
        self.event.clear()
        return True


class LocalNotifier:
    """Topics and their waiters in this process."""

    def __init__(self) -> None:
        self._waiters: dict[str, set[_Waiter]] = defaultdict(set)

    def publish(self, topic: str) -> None:
        for waiter in self._waiters.get(topic, ()):
            waiter.event.set()

    @contextmanager
    def subscribe(self, topic: str) -> Iterator[Subscription]:
        waiter = _Waiter()
        self._waiters[topic].add(waiter)
        try:
            yield waiter
        finally:
            waiters = self._waiters.get(topic)
            if waiters is not None:
                waiters.discard(waiter)
                if not waiters:
                    del self._waiters[topic]
