"""A PostgreSQL database (asyncpg pool) with the interface of the SQLite one.

Several service instances share it. Each ``transaction()`` runs on its own
pooled connection (READ COMMITTED), so transactions of different residents
run side by side; the stores' compare-and-set updates, unique constraints,
``FOR UPDATE SKIP LOCKED`` and advisory locks (``Dialect.xact_lock``) keep
them correct. LISTEN/NOTIFY and the locks held by single-instance jobs need
a connection of their own for as long as they last: ``connect()``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from ._database import url_for_display
from ._dialect import POSTGRES, Dialect
from ._errors import POSTGRES_ERRORS, translated
from ._rows import Row

__all__ = ["PostgresDatabase", "PostgresTransaction"]

# A dead peer (a machine gone without closing its connections) is noticed within
# idle + interval × count seconds, so its advisory locks are freed for the others.
# The process id in the name tells operators (pg_stat_activity, pg_locks) which
# instance holds a connection or a lock.
SESSION = {
    "application_name": f"minshi:{os.getpid()}",
    "tcp_keepalives_idle": "5",
    "tcp_keepalives_interval": "2",
    "tcp_keepalives_count": "3",
}


class PostgresDatabase:
    dialect: Dialect = POSTGRES

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self._pool_size = pool_size
        self._pool: asyncpg.Pool | None = None

    def __str__(self) -> str:
        return url_for_display(self.url)

    async def open(self) -> None:
        with translated(POSTGRES_ERRORS):
            self._pool = await asyncpg.create_pool(
                self.url,
                min_size=1,
                max_size=self._pool_size,
                server_settings=SESSION,
            )

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def __aenter__(self) -> PostgresDatabase:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            msg = f"database {self} is not open"
            raise RuntimeError(msg)
        return self._pool

    async def connect(self) -> asyncpg.Connection:
        """A connection outside the pool, for LISTEN and session-long locks; close it."""
        return await asyncpg.connect(self.url, server_settings=SESSION)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PostgresTransaction]:
        """Run a block of statements atomically; roll back on any exception. A full disk,
        a read-only server or a lost connection is ``StorageUnavailable``."""
        with translated(POSTGRES_ERRORS):
            async with self._transaction() as tx:
                yield tx

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[PostgresTransaction]:
        async with self.pool.acquire() as conn:
            tr = conn.transaction()
            await tr.start()
            try:
                yield PostgresTransaction(conn, self.dialect)
            except BaseException:
                await tr.rollback()
                raise
            else:
                await tr.commit()

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        with translated(POSTGRES_ERRORS):
            return list(await self.pool.fetch(self.dialect.sql(sql), *params))

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        with translated(POSTGRES_ERRORS):
            row: Row | None = await self.pool.fetchrow(self.dialect.sql(sql), *params)
        return row


class PostgresTransaction:
    """Statements inside one ``PostgresDatabase.transaction()`` block."""

    def __init__(self, conn: asyncpg.Connection, dialect: Dialect) -> None:
        self._conn = conn
        self.dialect = dialect

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        await self._conn.execute(self.dialect.sql(sql), *params)

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        row: Row | None = await self._conn.fetchrow(self.dialect.sql(sql), *params)
        return row

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return list(await self._conn.fetch(self.dialect.sql(sql), *params))
