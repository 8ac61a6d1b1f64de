"""The storage adapters: SQL (SQLite or PostgreSQL) and in-memory, both implementing the
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
from ._database import DatabaseUrlError, SqlDatabase, open_database, sqlite_path
from ._dialect import POSTGRES, SQLITE, Dialect, lock_key
from ._errors import StorageUnavailable
from ._forum import CaseTopic, ForumStore, MemoryForumStore, SqlForumStore, TopicClaim
from ._memory_store import MemoryStore
from ._migrations import MIGRATIONS, migrate, schema_version
from ._sql_store import SqlStore, SqlWrites
from ._sqlite import Database

__all__ = [
    "MIGRATIONS",
    "POSTGRES",
    "SQLITE",
    "Account",
    "AccountExists",
    "AccountStore",
    "CaseTopic",
    "ConsoleReads",
    "ConsoleSession",
    "Database",
    "DatabaseUrlError",
    "Dialect",
    "ForumStore",
    "LoginFailures",
    "MemoryAccounts",
    "MemoryForumStore",
    "MemoryStore",
    "SqlAccounts",
    "SqlDatabase",
    "SqlForumStore",
    "SqlStore",
    "SqlWrites",
    "StorageUnavailable",
    "TopicClaim",
    "lock_key",
    "migrate",
    "open_database",
    "schema_version",
    "sqlite_path",
]
