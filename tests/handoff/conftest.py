from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.storage import Database, MemoryStore, SqlStore, migrate
from common.clock import ManualClock
from common.outbox import Destination, OutboxRecord
from dialogs import Texts
from handoff import (
    Case,
    CaseDraft,
    CaseService,
    CenterDirectory,
    DeadlinePolicy,
    Level,
    load_centers,
)

VILLAGE = "620702103203"  # 寺儿沟村, with its own center
# Distinct hours per level, so a test sees which level's deadline applies.
HOURS = {Level.VILLAGE: 24, Level.TOWNSHIP: 48, Level.COUNTY: 72, Level.CITY: 96}
ALICE = Destination("web", "alice")


@pytest.fixture(scope="session")
def directory() -> CenterDirectory:
    """The shipped demo centers file, loaded once."""
    return load_centers()


def draft(**overrides: Any) -> CaseDraft:
    fields: dict[str, Any] = {
        "channel": "web",
        "user_id": "alice",
        "category": "neighbor",
        "description": "邻居把路堵了",
        "region_code": VILLAGE,
        "location_text": "寺儿沟村",
        "location_method": "picker",
        "attachments": ({"kind": "photo", "ref": "a.jpg", "name": ""},),
    }
    fields.update(overrides)
    return CaseDraft(**fields)


class Desk:
    """A case service on a real store (in memory or a SQLite file), its clock, and
    what the stores published after each commit (the live-update topics)."""

    def __init__(self, kind: str, path: Path, directory: CenterDirectory) -> None:
        self.kind = kind
        self.path = path
        self.directory = directory
        self.clock = ManualClock()
        self.texts = Texts(None)
        self.published: list[set[str]] = []
        self._memory = MemoryStore(on_commit=self.published.append)
        self._db: Database | None = None
        self.service: CaseService

    async def start(self) -> CaseService:
        """(Re)start the service, as a new process would on the same database."""
        await self.stop()
        if self.kind == "memory":
            store: Any = self._memory
        else:
            self._db = Database(self.path)
            await self._db.open()
            await migrate(self._db)
            store = SqlStore(self._db, on_commit=self.published.append)
        self.service = CaseService(
            store, self.directory, DeadlinePolicy(HOURS), self.clock, notices=self.texts
        )
        return self.service

    async def stop(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    async def open(self, **overrides: Any) -> Case:
        async with self.service.store.transaction() as w:
            case, _ = await self.service.open(w, draft(**overrides), self.clock())
        return case

    async def sent(self, destination: Destination = ALICE) -> list[dict[str, Any]]:
        """Everything queued to the resident, oldest first."""
        return [r.body for r in await self.outbox(destination)]

    async def outbox(self, destination: Destination | None = None) -> list[OutboxRecord]:
        store: Any = self.service.store  # both stores are outbox stores too
        records: list[OutboxRecord] = await store.outbox_records(destination)
        return records

    async def events(self, case: Case) -> list[str]:
        return [e.kind for e in await self.service.store.case_events(case.id)]

    async def case(self, number: str) -> Case:
        found = await self.service.store.case_by_number(number)
        assert found is not None
        return found


@pytest.fixture(params=["memory", "sqlite"])
async def desk(
    request: pytest.FixtureRequest, tmp_path: Path, directory: CenterDirectory
) -> AsyncIterator[Desk]:
    desk = Desk(request.param, tmp_path / "cases.db", directory)
    await desk.start()
    yield desk
    await desk.stop()
