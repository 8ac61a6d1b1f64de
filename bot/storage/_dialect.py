"""What differs between the SQL databases the storage layer runs on.

The store's SQL is written once, with ``?`` placeholders and constructs both
SQLite and PostgreSQL run (``ON CONFLICT``, ``RETURNING``, ISO-8601 text
timestamps). Everything else that differs sits here: DDL types, how a write
transaction starts, row locking, and the placeholder style. PostgreSQL will
be one more ``Dialect`` value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["SQLITE", "Dialect"]

_PLACEHOLDER = re.compile(r"\?")


@dataclass(frozen=True)
class Dialect:
    name: str
    serial_pk: str  # an auto-incrementing integer primary key column type
    begin_write: str  # starts a transaction that will write
    for_update: str  # appended to a SELECT whose rows the transaction will change
    numbered_params: bool  # $1, $2 … instead of ?

    def sql(self, statement: str) -> str:
        """The statement in this dialect's placeholder style."""
        if not self.numbered_params:
            return statement
        counter = iter(range(1, statement.count("?") + 1))
        return _PLACEHOLDER.sub(lambda _: f"${next(counter)}", statement)

    def ddl(self, statement: str) -> str:
        return statement.format(pk=self.serial_pk)


# SQLite locks the whole database for a writer: BEGIN IMMEDIATE takes the
# lock up front (no deadlock on upgrade), and row locks are not needed.
SQLITE = Dialect(
    name="sqlite",
    serial_pk="INTEGER PRIMARY KEY AUTOINCREMENT",
    begin_write="BEGIN IMMEDIATE",
    for_update="",
    numbered_params=False,
)
