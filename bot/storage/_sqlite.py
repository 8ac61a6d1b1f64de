"""An open SQLite database file: WAL, foreign keys, full durability.

aiosqlite runs every statement of a connection on one worker thread, so one
connection is shared and an asyncio lock makes each ``transaction()`` block
exclusive: two conversations never interleave statements in a transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from ._dialect import SQLITE, Dialect
from ._rows import Row

__all__ = ["Database", "Row", "Transaction"]


class Database:
    dialect: Dialect = SQLITE

    def __init__(self, path: Path | str, *, synchronous: str = "FULL") -> None:
        self.path = Path(path)
        self._synchronous = synchronous
        self._conn: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()

    async def open(self) -> None:
        if self.path.parent and not self.path.parent.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        conn.row_factory = aiosqlite.Row
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute(f"PRAGMA synchronous={self._synchronous}")
        await conn.execute("PRAGMA foreign_keys=ON")
        await conn.execute("PRAGMA busy_timeout=5000")
        self._conn = conn

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def __aenter__(self) -> Database:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def conn(self) -> aiosqlite.Connection:
        if self._conn is None:
            msg = f"database {self.path} is not open"
            raise RuntimeError(msg)
        return self._conn

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """Run a block of statements atomically; roll back on any exception."""
        async with self._lock:
            await self.conn.execute(self.dialect.begin_write)
            try:
                yield Transaction(self.conn, self.dialect)
            except BaseException:
                await self.conn.execute("ROLLBACK")
                raise
            else:
                await self.conn.execute("COMMIT")

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        async with self._lock, self.conn.execute(self.dialect.sql(sql), params) as cur:
            return list(await cur.fetchall())

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        async with self._lock, self.conn.execute(self.dialect.sql(sql), params) as cur:
            row: Row | None = await cur.fetchone()
            return row


class Transaction:
    """Statements inside one ``Database.transaction()`` block."""

    def __init__(self, conn: aiosqlite.Connection, dialect: Dialect) -> None:
        self._conn = conn
        self.dialect = dialect

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        await self._conn.execute(self.dialect.sql(sql), params)

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        async with self._conn.execute(self.dialect.sql(sql), params) as cur:
            row: Row | None = await cur.fetchone()
            return row

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        async with self._conn.execute(self.dialect.sql(sql), params) as cur:
            return list(await cur.fetchall())
