"""Live updates across instances through PostgreSQL LISTEN/NOTIFY.

A mediator's reply committed on one instance must wake the resident's event
stream on another. Each topic is published in this process at once (as
``LocalNotifier`` does) and sent to the others with ``pg_notify``; what the
others publish arrives on a listening connection and wakes the local
waiters. The message itself is always read from the database, so a lost
notification (a dropped connection) only delays a wake-up until the
waiter's next timeout. No broker besides the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

import asyncpg

from common.notify import LocalNotifier, Subscription

from .storage._postgres import PostgresDatabase

__all__ = ["CHANNEL", "PgNotifier"]

log = logging.getLogger(__name__)

CHANNEL = "minshi_topics"
_MAX_PAYLOAD = 7000  # NOTIFY payloads must stay under 8000 bytes
_IDLE_CHECK_SECONDS = 5.0  # a silent connection is tested this often
_RETRY_SECONDS = 1.0


class PgNotifier:
    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db
        self.instance = secrets.token_hex(8)  # our own notifications come back: skip them
        self._local = LocalNotifier()
        self._pending: set[str] = set()
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()  # listening now (tests wait for it)

    def publish(self, topic: str) -> None:
        self._local.publish(topic)
        self._pending.add(topic)
        self._wake.set()

    def subscribe(self, topic: str) -> AbstractContextManager[Subscription]:
        return self._local.subscribe(topic)

    async def start(self) -> None:
        self._stop.clear()
        self._task = asyncio.create_task(self._run(), name="pg-notifier")

    async def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def __aenter__(self) -> PgNotifier:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _run(self) -> None:
        while not self._stop.is_set():
            conn: asyncpg.Connection | None = None
            try:
                conn = await self.db.connect()
                await conn.add_listener(CHANNEL, self._heard)
                self.connected.set()
                await self._send_until_stopped(conn)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("live updates between instances interrupted (%s); reconnecting", exc)
            finally:
                self.connected.clear()
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await conn.close(timeout=2)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), _RETRY_SECONDS)

    async def _send_until_stopped(self, conn: asyncpg.Connection) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), _IDLE_CHECK_SECONDS)
            self._wake.clear()
            if not self._pending:
                await conn.fetchval("SELECT 1")  # notices a dead connection
                continue
            topics, self._pending = self._pending, set()
            try:
                for payload in _payloads(self.instance, sorted(topics)):
                    await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, payload)
            except BaseException:
                self._pending |= topics  # sent again after reconnecting
                raise

    def _heard(self, conn: Any, pid: int, channel: str, payload: str) -> None:
        sender, _, topics = payload.partition("\n")
        if sender == self.instance:
            return
        for topic in topics.split("\n"):
            if topic:
                self._local.publish(topic)


def _payloads(instance: str, topics: list[str]) -> Iterator[str]:
    """``instance\\ntopic\\ntopic…`` in pieces that fit a NOTIFY."""
    chunk: list[str] = []
    size = len(instance)
    for topic in topics:
        if chunk and size + len(topic.encode()) + 1 > _MAX_PAYLOAD:
            yield "\n".join([instance, *chunk])
            chunk, size = [], len(instance)
        chunk.append(topic)
        size += len(topic.encode()) + 1
    if chunk:
        yield "\n".join([instance, *chunk])
