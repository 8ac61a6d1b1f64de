"""``minshi migrate`` and ``minshi copy-db``, and the database checks before serving.

``copy-db`` moves a deployment to another database (SQLite → PostgreSQL when
it grows past one machine): stop the service, copy, check the counts it
prints, then start the instances with ``MINSHI_DATABASE_URL`` set to the
target.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from .config import Settings
from .storage import migrate, open_database, sqlite_path
from .storage._copy import CopyError, copy_database
from .storage._database import url_for_display

__all__ = ["preflight", "register"]


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run_migrations = commands.add_parser(
        "migrate", help="bring the database schema up to date (minshi serve does it too)"
    )
    run_migrations.add_argument("--db", type=Path, help="SQLite database file")
    run_migrations.add_argument(
        "--database", help="database URL (sqlite:///path or postgresql://…; default: settings)"
    )
    run_migrations.set_defaults(run=_run_migrate)

    copy = commands.add_parser(
        "copy-db", help="copy every row into an empty database, then compare the counts"
    )
    copy.add_argument("--from", dest="source", required=True, help="e.g. sqlite:///data/minshi.db")
    copy.add_argument(
        "--to", dest="target", required=True, help="e.g. postgresql://minshi@db/minshi"
    )
    copy.set_defaults(run=_run_copy)


def _url(args: argparse.Namespace) -> str:
    overrides: dict[str, object] = {}
    if args.db is not None:
        overrides["db"] = args.db
    if args.database is not None:
        overrides["database_url"] = args.database
    return Settings(**overrides).database  # type: ignore[arg-type]


def _run_migrate(args: argparse.Namespace) -> int:
    url = _url(args)

    async def run() -> int:
        async with open_database(url) as db:
            return await migrate(db)

    version = asyncio.run(run())
    print(f"{url_for_display(url)}: schema version {version}")
    return 0


def _run_copy(args: argparse.Namespace) -> int:
    for url in (args.source, args.target):
        Settings(database_url=url)  # type: ignore[call-arg]  # a bad URL: the usual message
    path = sqlite_path(args.source)
    if path is not None and not path.exists():
        print(f"minshi copy-db: {path} does not exist", file=sys.stderr)
        return 1

    def progress(table: str, rows: int) -> None:
        print(f"  {table}: {rows} rows copied", flush=True)

    async def run() -> int:
        async with open_database(args.source) as source, open_database(args.target) as target:
            try:
                counts = await copy_database(source, target, progress)
            except CopyError as exc:
                print(f"minshi copy-db: {exc}", file=sys.stderr)
                return 1
        print(f"{'table':<20} {'source':>8} {'target':>8}")
        for count in counts:
            mark = "" if count.ok else "  ← DIFFERENT"
            print(f"{count.table:<20} {count.source:>8} {count.target:>8}{mark}")
        if all(count.ok for count in counts):
            total = sum(count.target for count in counts)
            print(f"copied {total} rows into {url_for_display(args.target)}; every count matches")
            return 0
        print("minshi copy-db: the counts differ (see above)", file=sys.stderr)
        return 1

    return asyncio.run(run())


async def preflight(settings: Settings) -> None:
    """Before serving: the database answers, is migrated and takes writes, and on
    PostgreSQL no other instance polls Telegram when this one would (``RefusedHere``)."""
    from common.clock import utc_now

    from .app import POLLING_LOCK, POLLING_REFUSED
    from .channels.telegram import webhook_url
    from .pg_jobs import hold_exclusive
    from .storage._ops import SqlOps
    from .storage._postgres import PostgresDatabase

    async with open_database(settings.database, pool_size=2) as db:
        await migrate(db)
        # A read-only file, an unwritable folder or a full disk: one line now
        # (StorageUnavailable, see bot.cli), not a traceback from the lifespan.
        await SqlOps(db).write_check(utc_now())
        polling = bool(settings.telegram_token) and webhook_url(settings) is None
        if polling and isinstance(db, PostgresDatabase):
            async with hold_exclusive(db, POLLING_LOCK, POLLING_REFUSED):
                pass
