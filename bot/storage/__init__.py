"""The storage layer: the only place that speaks SQL."""

from ._database import Database
from ._migrations import MIGRATIONS, migrate, schema_version
from ._store import CaseMessage, FaqMiss, Store, StoredMessage, Writes

__all__ = [
    "MIGRATIONS",
    "CaseMessage",
    "Database",
    "FaqMiss",
    "Store",
    "StoredMessage",
    "Writes",
    "migrate",
    "schema_version",
]
