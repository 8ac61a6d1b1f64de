"""The database the SQL stores run on, whichever it is, and how a URL opens one.

``sqlite:///path`` (one process, the embedded default) and
``postgresql://user:password@host:port/name`` (several instances) give
objects with the same interface: ``transaction()``, ``fetchall``,
``fetchone`` and a ``dialect``; the stores write their SQL once against it.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from ._dialect import Dialect, lock_key
from ._rows import Row

__all__ = [
    "DatabaseUrlError",
    "SqlDatabase",
    "SqlTransaction",
    "open_database",
    "serialize",
    "sqlite_path",
    "url_for_display",
]


class DatabaseUrlError(ValueError):
    """A database URL this service cannot open."""


class SqlTransaction(Protocol):
    dialect: Dialect

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> None: ...
    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None: ...
    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...


class SqlDatabase(Protocol):
    @property
    def dialect(self) -> Dialect: ...

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def __aenter__(self) -> SqlDatabase: ...
    async def __aexit__(self, *exc: object) -> None: ...
    def transaction(self) -> AbstractAsyncContextManager[SqlTransaction]: ...
    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...
    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None: ...


async def serialize(tx: SqlTransaction, *name: str) -> None:
    """Until ``tx`` ends, other transactions serialising on ``name`` wait — in every
    process sharing the database (SQLite's write transactions exclude each other anyway)."""
    if tx.dialect.xact_lock:
        await tx.execute(tx.dialect.xact_lock, (lock_key(*name),))


async def serialize_now(tx: SqlTransaction, *name: str) -> bool:
    """``serialize`` if no other transaction holds ``name``; False (and no lock) if one does."""
    if not tx.dialect.try_xact_lock:
        return True
    row = await tx.fetchone(tx.dialect.try_xact_lock, (lock_key(*name),))
    return bool(row and row["got"])


def sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///path`` URL (relative, or absolute with four slashes
    as in ``sqlite:////srv/minshi.db``); None for any other scheme."""
    if not url.startswith("sqlite:"):
        return None
    rest = url.removeprefix("sqlite:")
    if not rest.startswith("///") or len(rest) == 3:
        msg = f"{url!r}: write sqlite:///relative/path or sqlite:////absolute/path"
        raise DatabaseUrlError(msg)
    return Path(rest[3:])


def _check_postgres(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres") or not parts.hostname:
        msg = f"{url_for_display(url)!r}: expected sqlite:///path or postgresql://user@host/name"
        raise DatabaseUrlError(msg)


def url_for_display(url: str) -> str:
    """The URL without its password, for logs and messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return parts._replace(netloc=netloc).geturl()


def open_database(url: str, *, synchronous: str = "FULL", pool_size: int = 10) -> SqlDatabase:
    """A not yet opened database for ``url`` (``async with`` or ``open()`` it)."""
    path = sqlite_path(url)
    if path is not None:
        from ._sqlite import Database

        return Database(path, synchronous=synchronous)
    _check_postgres(url)
    from ._postgres import PostgresDatabase

    return PostgresDatabase(url, pool_size=pool_size)
