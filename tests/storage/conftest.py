"""Every storage adapter, for the contract suite: the same tests run against each.

PostgreSQL will be one more entry in ``ADAPTERS``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.storage import Database, MemoryStore, SqlStore, migrate

ADAPTERS = ["memory", "sqlite"]

# Opens the store of the fixture again, as a restarted process would.
Reopen = Callable[[], Awaitable[Any]]


@pytest.fixture(params=ADAPTERS)
async def stores(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Reopen]:
    """A factory: each call gives the store as a new process would see it."""
    opened: list[Database] = []
    memory = MemoryStore()

    async def reopen() -> Any:
        if request.param == "memory":
            return memory
        db = Database(tmp_path / "store.db")
        await db.open()
        await migrate(db)
        opened.append(db)
        return SqlStore(db)

    yield reopen
    for db in opened:
        await db.close()


@pytest.fixture
async def store(stores: Reopen) -> Any:
    return await stores()
