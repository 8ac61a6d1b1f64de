"""Online backup of the SQLite database file, verified before it counts.

SQLite's backup API copies a consistent snapshot through its own
connection while the service keeps writing (in WAL mode readers never
block writers). The copy is written next to the target, switched to a
self-contained rollback journal, checked with ``PRAGMA integrity_check``,
and only then renamed into place, so a target that exists is always whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

__all__ = ["BackupError", "BackupReport", "backup_sqlite", "verify_sqlite"]

# Row counts printed after a backup: what an operator checks against the service.
_COUNTED = (
    "cases",
    "case_messages",
    "case_events",
    "inbound",
    "outbound",
    "conversations",
    "accounts",
    "faq_questions",
)


class BackupError(Exception):
    """The backup could not be written or did not verify; nothing was left at the target."""


@dataclass(frozen=True)
class BackupReport:
    path: Path
    size: int
    schema_version: int
    counts: dict[str, int]


def _backup(source: Path, target: Path) -> BackupReport:
    if not source.is_file():
        msg = f"no database file at {source}"
        raise BackupError(msg)
    partial = target.with_name(target.name + ".partial")
    try:
        with (
            contextlib.closing(sqlite3.connect(source, timeout=30)) as src,
            contextlib.closing(sqlite3.connect(partial)) as dst,
        ):
            src.backup(dst)  # one step: one consistent snapshot, writers go on (WAL)
            dst.execute("PRAGMA journal_mode=DELETE")  # one file, no -wal beside it
        report = verify_sqlite(partial)
        os.replace(partial, target)
    except (OSError, sqlite3.Error) as exc:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise BackupError(f"{target}: {exc}") from exc
    return BackupReport(target, target.stat().st_size, report.schema_version, report.counts)


def verify_sqlite(path: Path) -> BackupReport:
    """Integrity check, schema version and row counts of a database file (read-only)."""
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        problems = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        if problems != ["ok"]:
            msg = f"integrity check failed: {'; '.join(problems[:5])}"
            raise BackupError(msg)
        version = conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        counts = {
            table: int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
            for table in _COUNTED
            if table in tables
        }
    return BackupReport(path, path.stat().st_size, int(version or 0), counts)


async def backup_sqlite(source: Path, target: Path) -> BackupReport:
    """Copy the database file ``source`` to ``target``, verified."""
    return await asyncio.to_thread(_backup, source, target)
