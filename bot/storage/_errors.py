"""The databases' "cannot write now" errors, translated into ``StorageUnavailable``.

SQLite reports a full disk, a read-only file and a failing disk as
``sqlite3.OperationalError`` like any syntax error; PostgreSQL by SQLSTATE,
and a server that went away as a closed or refused connection. The service
must answer them differently (a polite "稍后再试", a failing health check)
and never as a bug. The translation looks at the whole chain of errors,
because a failed ROLLBACK after an automatic one may hide the original cause.
"""

from __future__ import annotations

import socket
import sqlite3

import asyncpg

from common.unavailable import StorageProblem, StorageUnavailable

__all__ = ["POSTGRES_ERRORS", "StorageUnavailable", "translated", "unavailable_from"]

# SQLite's primary result codes (sqlite3.h), stable across versions.
_CODES = {
    8: StorageProblem.READ_ONLY,  # SQLITE_READONLY
    10: StorageProblem.IO,  # SQLITE_IOERR
    11: StorageProblem.IO,  # SQLITE_CORRUPT ("database disk image is malformed")
    13: StorageProblem.FULL,  # SQLITE_FULL
    14: StorageProblem.IO,  # SQLITE_CANTOPEN (the file or its folder vanished)
}

# PostgreSQL's SQLSTATEs (Appendix A of its manual); a class ("08") covers its codes.
_SQLSTATES = {
    "53100": StorageProblem.FULL,  # disk_full
    "25006": StorageProblem.READ_ONLY,  # read_only_sql_transaction (a standby, or set so)
    "58030": StorageProblem.IO,  # io_error
    "XX001": StorageProblem.IO,  # data_corrupted
    "XX002": StorageProblem.IO,  # index_corrupted
    "53000": StorageProblem.DOWN,  # insufficient_resources
    "53200": StorageProblem.DOWN,  # out_of_memory
    "53300": StorageProblem.DOWN,  # too_many_connections
    "57P01": StorageProblem.DOWN,  # admin_shutdown (also pg_terminate_backend)
    "57P02": StorageProblem.DOWN,  # crash_shutdown
    "57P03": StorageProblem.DOWN,  # cannot_connect_now (starting up, recovering)
    "08": StorageProblem.DOWN,  # connection_exception: the connection broke
}

# What a PostgreSQL database's operations raise; ``translated`` looks at these.
POSTGRES_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError)


def _problem(exc: BaseException) -> StorageProblem | None:
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        return _CODES.get(code & 0xFF) if isinstance(code, int) else None
    if isinstance(exc, asyncpg.PostgresError):
        state = str(getattr(exc, "sqlstate", "") or "")
        return _SQLSTATES.get(state) or _SQLSTATES.get(state[:2])
    if isinstance(exc, asyncpg.InterfaceError) and "connection is closed" in str(exc):
        return StorageProblem.DOWN
    if isinstance(exc, ConnectionError | socket.gaierror):  # refused, reset, no such host
        return StorageProblem.DOWN
    return None


def unavailable_from(exc: BaseException) -> StorageUnavailable | None:
    """The storage problem behind ``exc`` or one of the errors it arose from; None if
    it is not one (a bug, a constraint, a lock wait that timed out)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, StorageUnavailable):
            return current
        problem = _problem(current)
        if problem is not None:
            return StorageUnavailable(problem, str(current) or type(current).__name__)
        current = current.__cause__ or current.__context__
    return None


class _Translated:
    """``with translated():`` — a class, not a generator-based context manager: every
    message's transaction passes through one."""

    __slots__ = ("_errors",)

    def __init__(self, errors: tuple[type[BaseException], ...]) -> None:
        self._errors = errors

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        if exc is None or not isinstance(exc, self._errors):
            return
        unavailable = unavailable_from(exc)
        if unavailable is not None:
            raise unavailable from exc


_SQLITE_ERRORS = _Translated((sqlite3.Error,))


def translated(errors: tuple[type[BaseException], ...] | None = None) -> _Translated:
    """Re-raise storage problems of the block as ``StorageUnavailable``; ``errors`` are
    the database's own exceptions to look at (SQLite's by default)."""
    return _SQLITE_ERRORS if errors is None else _Translated(errors)
