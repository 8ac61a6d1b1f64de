"""One database connection, one writer at a time, portable SQL.

All SQL in the project is written once, in the storage layer, with ``?``
placeholders and only constructs that SQLite and PostgreSQL both run
(``ON CONFLICT ... DO NOTHING``, ``RETURNING``, ISO-8601 text timestamps).
DDL differences are confined to the few tokens in ``Dialect``.

aiosqlite runs every statement on one worker thread, so a single connection
is shared; an asyncio lock makes each ``transaction()`` block exclusive, so
two conversations can never interleave statements inside one transaction.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite

__all__ = ["SQLITE", "Database", "Dialect", "Row"]

log = logging.getLogger(__name__)

Row = aiosqlite.Row


@dataclass(frozen=True)
class Dialect:
    """The DDL tokens that differ between the engines we support."""

    name: str
    serial_pk: str  # an auto-incrementing integer primary key column type


SQLITE = Dialect(name="sqlite", serial_pk="INTEGER PRIMARY KEY AUTOINCREMENT")


class Database:
    """An open SQLite database file (WAL, foreign keys, full durability)."""

    dialect = SQLITE

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
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield Transaction(self.conn)
            except BaseException:
                await self.conn.execute("ROLLBACK")
                raise
            else:
                await self.conn.execute("COMMIT")

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        async with self._lock, self.conn.execute(sql, params) as cur:
            return list(await cur.fetchall())

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        async with self._lock, self.conn.execute(sql, params) as cur:
            return await cur.fetchone()


class Transaction:
    """Statements inside one ``Database.transaction()`` block."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        await self._conn.execute(sql, params)

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        async with self._conn.execute(sql, params) as cur:
            return await cur.fetchone()

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        async with self._conn.execute(sql, params) as cur:
            return list(await cur.fetchall())
