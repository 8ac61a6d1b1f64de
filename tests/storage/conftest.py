"""Every storage adapter, for the contract suite: the same tests run against each.

PostgreSQL runs in the throwaway cluster of the test run (``postgres`` fixture),
a new database for each test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.storage import MemoryStore, SqlDatabase, SqlStore, migrate, open_database

from ..postgres import Cluster

ADAPTERS = ["memory", "sqlite", "postgres"]

# Opens the store of the fixture again, as a restarted process would.
Reopen = Callable[[], Awaitable[Any]]


@pytest.fixture(params=ADAPTERS)
async def stores(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Reopen]:
    """A factory: each call gives the store as a new process would see it."""
    opened: list[SqlDatabase] = []
    memory = MemoryStore()
    url = f"sqlite:///{tmp_path / 'store.db'}"
    if request.param == "postgres":
        cluster: Cluster = request.getfixturevalue("postgres")
        url = await cluster.fresh_database()

    async def reopen() -> Any:
        if request.param == "memory":
            return memory
        db = open_database(url)
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
