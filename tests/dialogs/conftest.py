"""Dialog flows straight into the engine, on the in-memory store.

The FAQ and the centers are loaded once per session (they are immutable);
each test gets a fresh store, engine and clock, so a whole conversation
takes milliseconds. Messages are parsed by the web channel's own parser,
so a test body is exactly what the page would send.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.channels.web import _parse_message
from bot.storage import MemoryStore
from common.clock import ManualClock
from dialogs import Engine, Services, Texts
from faq import FaqService
from handoff import Case, CaseService, CenterDirectory, DeadlinePolicy, Level, load_centers
from tests.chat import ChatDriver

HOURS = {Level.VILLAGE: 24, Level.TOWNSHIP: 48, Level.COUNTY: 48, Level.CITY: 48}


@pytest.fixture(scope="session")
def faq_service() -> FaqService:
    faq = FaqService(None)
    faq.load()
    return faq


@pytest.fixture(scope="session")
def centers(faq_service: FaqService) -> CenterDirectory:
    return load_centers(None, faq_service.categories().keys())


class Harness:
    """One service instance: store, engine, clock."""

    def __init__(self, faq: FaqService, centers: CenterDirectory, **options: Any) -> None:
        self.clock = ManualClock()
        self.store = MemoryStore()
        self.cases = CaseService(self.store, centers, DeadlinePolicy(HOURS), self.clock)
        services = Services(
            faq=faq,
            centers=centers,
            texts=Texts(None),
            clock=self.clock,
            cases=self.cases,
            **options,
        )
        self.engine = Engine(self.store, services)

    def resident(self, user_id: str = "alice") -> EngineResident:
        return EngineResident(self, user_id)

    async def cases_of(self, user_id: str = "alice") -> list[Case]:
        return await self.store.cases_for_resident("web", user_id)


class EngineResident(ChatDriver):
    def __init__(self, harness: Harness, user_id: str) -> None:
        super().__init__()
        self.harness = harness
        self.user_id = user_id
        self.pace = 0.0  # seconds that pass before each message (a resident typing)

    async def _send(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        self.harness.clock.advance(seconds=self.pace)
        msg = _parse_message(body, self.user_id)
        sent = await self.harness.engine.handle(msg)
        return [{"id": s.id, **s.message.to_json()} for s in sent]

    async def read_later_messages(self) -> list[dict[str, Any]]:
        """What reached the resident after the latest reply (the page's event stream)."""
        after = max((r["id"] for r in self.replies), default=0)
        stored = await self.harness.store.outbound_after("web", self.user_id, after)
        self.replies = [{"id": m.id, **m.body} for m in stored]
        return self.replies

    async def state(self) -> str:
        found = await self.harness.store.conversation("web", self.user_id)
        assert found is not None
        return found[0]


@pytest.fixture
def harness(faq_service: FaqService, centers: CenterDirectory) -> Harness:
    return Harness(faq_service, centers)


@pytest.fixture
def resident(harness: Harness) -> EngineResident:
    return harness.resident()
