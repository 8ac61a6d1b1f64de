"""The storage adapters: SQL (SQLite today) and in-memory, both implementing the
ports that ``dialogs``, ``handoff`` and ``common.outbox`` declare. The only place
with SQL."""

from ._accounts import (
    Account,
    AccountExists,
    AccountStore,
    ConsoleSession,
    LoginFailures,
    MemoryAccounts,
    SqlAccounts,
)
from ._console_reads import ConsoleReads
from ._dialect import SQLITE, Dialect
from ._memory_store import MemoryStore
from ._migrations import MIGRATIONS, migrate, schema_version
from ._sql_store import SqlStore, SqlWrites
from ._sqlite import Database

__all__ = [
    "MIGRATIONS",
    "SQLITE",
    "Account",
    "AccountExists",
    "AccountStore",
    "ConsoleReads",
    "ConsoleSession",
    "Database",
    "Dialect",
    "LoginFailures",
    "MemoryAccounts",
    "MemoryStore",
    "SqlAccounts",
    "SqlStore",
    "SqlWrites",
    "migrate",
    "schema_version",
]
