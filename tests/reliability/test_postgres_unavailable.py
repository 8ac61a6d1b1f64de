"""PostgreSQL that cannot take writes is ``StorageUnavailable`` too, as SQLite is.

Provoked for real on the test cluster where it can be: a database set read-only
(as a standby is), the service's connections terminated by an administrator,
and the server out of reach (a TCP relay in front of it is cut). Each time the
store's own operations raise the typed error, nothing of the refused work is
kept, and the store works again without being reopened. Disk full and out of
memory cannot be provoked safely here; their SQLSTATEs are checked as mapped.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from urllib.parse import urlsplit

import asyncpg
import pytest

from bot.storage import SqlStore, migrate, open_database
from bot.storage._errors import unavailable_from
from bot.storage._postgres import PostgresDatabase
from common.messages import Inbound
from common.unavailable import StorageProblem, StorageUnavailable
from tests.postgres import Cluster

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def said(n: int) -> Inbound:
    return Inbound("web", "alice", "text", text=f"第{n}条", platform_msg_id=f"m{n}")


async def record(store: SqlStore, n: int) -> None:
    async with store.transaction() as w:
        await w.record_inbound(said(n), NOW)


async def stored(store: SqlStore) -> list[str]:
    """The message ids stored, through the database's own read path."""
    rows = await store.db.fetchall("SELECT platform_msg_id FROM inbound ORDER BY id")
    return [r["platform_msg_id"] for r in rows]


@contextlib.asynccontextmanager
async def opened(url: str, *, migrated: bool = False) -> AsyncIterator[SqlStore]:
    db = open_database(url, pool_size=2)
    assert isinstance(db, PostgresDatabase)
    async with db:
        if not migrated:
            await migrate(db)
        yield SqlStore(db)


async def admin(cluster: Cluster, sql: str, *args: object) -> None:
    conn = await asyncpg.connect(cluster.url)
    try:
        await conn.execute(sql, *args)
    finally:
        await conn.close()


async def test_a_read_only_database_refuses_writes_and_keeps_reads(postgres: Cluster) -> None:
    url = await postgres.fresh_database()
    name = urlsplit(url).path.lstrip("/")
    async with opened(url) as store:
        await record(store, 1)
    await admin(postgres, f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
    async with opened(url, migrated=True) as store:
        with pytest.raises(StorageUnavailable) as caught:
            await record(store, 2)
        assert caught.value.problem is StorageProblem.READ_ONLY
        assert await stored(store) == ["m1"]  # reading works, the refused write is not there
        await admin(postgres, f'ALTER DATABASE "{name}" RESET default_transaction_read_only')
        assert isinstance(store.db, PostgresDatabase)
        await store.db.pool.expire_connections()  # as after a failover: new sessions
        await record(store, 2)
        assert await stored(store) == ["m1", "m2"]


async def test_connections_ended_by_an_administrator_lose_only_the_open_work(
    postgres: Cluster,
) -> None:
    url = await postgres.fresh_database()
    name = urlsplit(url).path.lstrip("/")
    async with opened(url) as store:
        with pytest.raises(StorageUnavailable) as caught:
            async with store.transaction() as w:
                await w.record_inbound(said(1), NOW)
                await admin(
                    postgres,
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
                    name,
                )
                await w.record_inbound(said(2), NOW)
        assert caught.value.problem is StorageProblem.DOWN
        assert await stored(store) == []  # the transaction did not half happen
        await record(store, 3)  # the pool connects again by itself
        assert await stored(store) == ["m3"]


class Relay:
    """A TCP relay to the cluster that can be cut, as when the network or server goes."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._open):
            writer.transport.abort()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self._open |= {writer, up_writer}
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            self._open.discard(writer)
            writer.transport.abort()


async def test_a_server_out_of_reach_is_unavailable_until_it_is_back(postgres: Cluster) -> None:
    url = urlsplit(await postgres.fresh_database())
    assert url.port is not None
    relay = Relay(url.port)
    await relay.start()
    async with opened(url._replace(netloc=f"minshi@127.0.0.1:{relay.port}").geturl()) as store:
        await record(store, 1)
        await relay.cut()
        for write in (record(store, 2), stored(store)):  # a write, and a read
            with pytest.raises(StorageUnavailable) as caught:
                await write
            assert caught.value.problem is StorageProblem.DOWN
        await relay.start()  # the same port again
        await record(store, 3)
        assert await stored(store) == ["m1", "m3"]
        await relay.cut()


@pytest.mark.parametrize(
    ("error", "problem"),
    [
        (asyncpg.exceptions.DiskFullError, StorageProblem.FULL),
        (asyncpg.exceptions.OutOfMemoryError, StorageProblem.DOWN),
        (asyncpg.exceptions.ReadOnlySQLTransactionError, StorageProblem.READ_ONLY),
        (asyncpg.exceptions.AdminShutdownError, StorageProblem.DOWN),
        (asyncpg.exceptions.CrashShutdownError, StorageProblem.DOWN),
        (asyncpg.exceptions.CannotConnectNowError, StorageProblem.DOWN),
        (asyncpg.exceptions.ConnectionFailureError, StorageProblem.DOWN),
        (asyncpg.exceptions.PostgresIOError, StorageProblem.IO),
        (asyncpg.exceptions.UniqueViolationError, None),  # a bug or a race, not an outage
        (asyncpg.exceptions.SerializationError, None),
    ],
)
def test_sqlstates_that_mean_try_again_later(
    error: type[asyncpg.PostgresError], problem: StorageProblem | None
) -> None:
    found = unavailable_from(error("from the server"))
    assert (found and found.problem) == problem
