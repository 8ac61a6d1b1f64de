"""``minshi backup``, ``minshi export`` and ``minshi purge``: operations by hand."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from common.clock import utc_now

from ..config import Settings
from ..storage import SqlDatabase, SqlStore, migrate, open_database, sqlite_path
from ..storage._backup import BackupError, backup_sqlite
from ..storage._ops import SqlOps
from .export import export_case
from .retention import apply_retention

__all__ = ["register"]

T = TypeVar("T")


class _Refused(Exception):
    """A clear reason the command cannot do what was asked (exit 1, no traceback)."""


def _settings(args: argparse.Namespace) -> Settings:
    return Settings(**({"db": args.db} if args.db is not None else {}))


def _run(command: str, work: Callable[[], int]) -> int:
    try:
        return work()
    except (_Refused, BackupError) as exc:
        print(f"minshi {command}: {exc}", file=sys.stderr)
        return 1


def _with_database(settings: Settings, work: Callable[[SqlDatabase], Awaitable[T]]) -> T:
    """Open the service's database (which must exist) and run ``work`` on it."""
    path = sqlite_path(settings.database)
    if path is not None and not path.is_file():
        raise _Refused(f"no database at {path} (use --db or MINSHI_DB)")

    async def run() -> T:
        async with open_database(
            settings.database, synchronous=settings.db_synchronous, pool_size=2
        ) as db:
            await migrate(db)
            return await work(db)

    return asyncio.run(run())


def _backup(args: argparse.Namespace) -> int:
    settings = _settings(args)
    source = sqlite_path(settings.database)
    if source is None:
        raise _Refused("the database is PostgreSQL: back it up with pg_dump")
    if not source.is_file():
        raise _Refused(f"no database at {source} (use --db or MINSHI_DB)")
    target: Path = args.path
    if target.is_dir():
        target = target / f"minshi-{datetime.now():%Y%m%d-%H%M%S}.db"
    if not target.parent.is_dir():
        raise _Refused(f"cannot write {target}: folder {target.parent} does not exist")
    report = asyncio.run(backup_sqlite(source, target))
    print(f"备份完成：{report.path}（{report.size / 1024 / 1024:.1f} MB）")
    print(f"完整性检查：通过；数据库版本：{report.schema_version}")
    for table, count in report.counts.items():
        print(f"  {table:<14} {count:>8} 行")
    return 0


def _export(args: argparse.Namespace) -> int:
    settings = _settings(args)
    number = args.case.strip().upper()

    async def read(db: SqlDatabase) -> dict[str, Any] | None:
        return await export_case(SqlStore(db), number, utc_now())

    found = _with_database(settings, read)
    if found is None:
        raise _Refused(f"no case numbered {number}")
    text = json.dumps(found, ensure_ascii=False, indent=2) + "\n"
    if args.out is None:
        sys.stdout.write(text)
        return 0
    try:
        args.out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise _Refused(f"cannot write {args.out}: {exc.strerror or exc}") from exc
    print(f"已导出事项 {number} 到 {args.out}（未打码，请妥善保管）", file=sys.stderr)
    return 0


def _purge(args: argparse.Namespace) -> int:
    settings = _settings(args)
    days = args.days if args.days is not None else settings.retention_days
    if days is None:
        raise _Refused("no retention set: give --days N or set MINSHI_RETENTION_DAYS")
    if days <= 0:
        raise _Refused("--days must be more than 0")

    async def purge(db: SqlDatabase) -> Any:
        return await apply_retention(SqlOps(db), utc_now(), days, apply=not args.dry_run)

    done = _with_database(settings, purge)
    verb = "将删除" if args.dry_run else "已删除"
    print(
        f"归档超过 {days:g} 天的事项：{done.cases} 件；{verb}手机号 {done.phones} 个，"
        f"改写含手机号或身份证号的文字 {done.texts} 条。"
        + ("（试运行，没有改动任何数据）" if args.dry_run else "")
    )
    return 0


def register(commands: Any) -> None:
    """Add backup, export and purge to the ``minshi`` command."""
    db_help = "SQLite database file (default data/minshi.db, or MINSHI_DATABASE_URL)"

    backup = commands.add_parser(
        "backup",
        help="copy the database while the service runs, then verify the copy",
        description="Online SQLite backup: safe while `minshi serve` runs. The copy is "
        "checked (PRAGMA integrity_check) before it takes the target's name.",
    )
    backup.add_argument("path", type=Path, help="backup file, or a folder for a dated file")
    backup.add_argument("--db", type=Path, help=db_help)
    backup.set_defaults(run=lambda a: _run("backup", lambda: _backup(a)))

    export = commands.add_parser(
        "export",
        help="one case as JSON: transcript and audit trail (UNMASKED phone numbers)",
        description="Writes the case, the resident's chat since the report, the case "
        "messages and the audit trail as JSON. Phone and ID numbers are NOT masked: it is "
        "for the mediator or admin working the case; keep the file as safe as the case.",
    )
    export.add_argument("--case", required=True, metavar="NUMBER", help="e.g. MS261122-0001")
    export.add_argument("--out", type=Path, help="write to this file instead of stdout")
    export.add_argument("--db", type=Path, help=db_help)
    export.set_defaults(run=lambda a: _run("export", lambda: _export(a)))

    purge = commands.add_parser(
        "purge",
        help="remove phone and ID numbers from cases archived longer than the retention",
        description="Applies MINSHI_RETENTION_DAYS (or --days): archived cases older than "
        "that lose their phone and ID numbers; case numbers and statistics stay.",
    )
    purge.add_argument("--days", type=float, help="override MINSHI_RETENTION_DAYS")
    purge.add_argument("--dry-run", action="store_true", help="count only, change nothing")
    purge.add_argument("--db", type=Path, help=db_help)
    purge.set_defaults(run=lambda a: _run("purge", lambda: _purge(a)))
