"""Copy every row of one database into another (SQLite → PostgreSQL when a deployment
grows past one machine), then prove it by counting.

Both sides are first brought to the newest schema, so the tables and columns
are the same. The tables come from the migrations in creation order, which is
also an order their foreign keys accept. The target must be empty; all rows go
in one transaction, so a failed copy leaves it empty again. Ids are kept (case
numbers and the outbox refer to them) and the target's id sequences continue
after the highest copied id.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ._database import SqlDatabase, SqlTransaction
from ._migrations import MIGRATIONS, migrate

__all__ = ["CopyError", "TableCount", "copy_database", "tables"]

_CREATE = re.compile(r"^\s*CREATE TABLE (?:IF NOT EXISTS )?(\w+)\s*\((.*)\)\s*$", re.S)
_DROP = re.compile(r"^\s*DROP TABLE (?:IF EXISTS )?(\w+)", re.S)
_BATCH = 500


class CopyError(RuntimeError):
    pass


@dataclass(frozen=True)
class TableCount:
    table: str
    source: int
    target: int

    @property
    def ok(self) -> bool:
        return self.source == self.target


def tables() -> list[tuple[str, bool]]:
    """(table, has a serial ``id``) of the newest schema, in creation order."""
    found: dict[str, bool] = {}
    for _, _, statements in MIGRATIONS:
        for statement in statements:
            if created := _CREATE.match(statement):
                found[created[1]] = "id {pk}" in created[2]
            elif dropped := _DROP.match(statement):
                found.pop(dropped[1], None)
    return list(found.items())


async def _count(db: SqlDatabase | SqlTransaction, table: str) -> int:
    row = await db.fetchone(f"SELECT COUNT(*) AS n FROM {table}")
    return int(row["n"]) if row else 0


def _coerce(kind: str | None) -> Callable[[Any], Any]:
    """SQLite keeps any value in any column; PostgreSQL wants the column's type."""
    if kind is None:
        return lambda value: value
    if kind in ("integer", "bigint", "smallint"):
        return lambda value: None if value is None else int(value)
    if kind in ("double precision", "real", "numeric"):
        return lambda value: None if value is None else float(value)
    return lambda value: value if value is None or isinstance(value, str) else str(value)


async def copy_database(
    source: SqlDatabase,
    target: SqlDatabase,
    progress: Callable[[str, int], None] = lambda table, rows: None,
) -> list[TableCount]:
    """Copy all rows from ``source`` into the empty ``target``; the counts per table."""
    await migrate(source)
    await migrate(target)
    names = tables()
    for table, _ in names:
        if await _count(target, table):
            msg = f"the target already holds rows in {table}; copy into an empty database"
            raise CopyError(msg)
    dialect = target.dialect
    async with target.transaction() as tx:
        for table, serial in names:
            rows = await source.fetchall(f"SELECT * FROM {table}")
            if rows:
                columns = _keys(rows[0])
                types = await _column_types(tx, table)
                coerce = [_coerce(types.get(c)) for c in columns]
                insert = (
                    f"INSERT INTO {table} ({', '.join(columns)})"
                    f" VALUES ({', '.join('?' for _ in columns)})"
                )
                for start in range(0, len(rows), _BATCH):
                    for row in rows[start : start + _BATCH]:
                        pairs = zip(columns, coerce, strict=True)
                        await tx.execute(insert, [convert(row[c]) for c, convert in pairs])
            if serial and dialect.restart_serial:
                await tx.execute(dialect.restart_serial.format(table=table))
            progress(table, len(rows))
    counts = [TableCount(t, await _count(source, t), await _count(target, t)) for t, _ in names]
    return counts


def _keys(row: Any) -> list[str]:
    return [str(key) for key in row.keys()]  # noqa: SIM118 - sqlite3.Row iterates values


async def _column_types(tx: SqlTransaction, table: str) -> dict[str, str]:
    if not tx.dialect.column_types:
        return {}
    rows = await tx.fetchall(tx.dialect.column_types, (table,))
    return {str(r["name"]): str(r["kind"]) for r in rows}
