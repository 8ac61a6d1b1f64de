"""Dialog flows straight into the engine, on the in-memory store.

The FAQ and the centers are loaded once per session (they are immutable);
each test gets a fresh store, engine and clock, so a whole conversation
takes milliseconds. Messages are parsed by the web channel's own parser,
so a test body is exactly what the page would send.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bot.channels.web import _parse_message, user_for_token
from bot.config import Settings
from bot.storage import MemoryStore
from common.clock import ManualClock
from dialogs import Engine, Services, Texts
from faq import FaqService
from handoff import Case, CaseService, CenterDirectory, DeadlinePolicy, Level, load_centers
from tests.chat import ChatDriver
from tests.resident.conftest import Resident
from tests.support import Clock, Service, run_service

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
        texts = Texts(None)
        self.cases = CaseService(
            self.store,
            centers,
            DeadlinePolicy(HOURS),
            self.clock,
            notices=texts,
            followup_days=7,
            archive_days=30,
        )
        services = Services(
            faq=faq,
            centers=centers,
            texts=texts,
            clock=self.clock,
            cases=self.cases,
            **options,
        )
        self.engine = Engine(self.store, services)

    async def resident(self, user_id: str = "alice") -> EngineResident:
        return EngineResident(self, user_id)

    async def cases_of(self, user_id: str = "alice") -> list[Case]:
        return await self.store.cases_for_resident("web", user_id)


class _Observed:
    """What a test reads about a resident besides the replies: later messages, the step."""

    harness: Any
    user_id: str
    replies: list[dict[str, Any]]

    async def read_later_messages(self) -> list[dict[str, Any]]:
        """What reached the resident after the latest reply (the page's event stream)."""
        after = max((r["id"] for r in self.replies), default=0)
        stored = await self.harness.store.outbound_after("web", self.user_id, after)
        self.replies = [{"id": m.id, **m.body} for m in stored]
        return self.replies

    async def state(self) -> str:
        found = await self.harness.store.conversation("web", self.user_id)
        assert found is not None
        return str(found[0])


class EngineResident(_Observed, ChatDriver):
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


@pytest.fixture
def harness(faq_service: FaqService, centers: CenterDirectory) -> Harness:
    return Harness(faq_service, centers)


@pytest.fixture
async def resident(harness: Harness) -> EngineResident:
    return await harness.resident()


class HttpHarness:
    """The same as ``Harness``, but residents talk to the running service over HTTP."""

    def __init__(self, service: Service, client: httpx.AsyncClient) -> None:
        self.service = service
        self.client = client
        self.clock = service.runtime.clock
        self.store = service.runtime.store
        self.engine = service.runtime.engine
        self._users: dict[str, str] = {}

    async def resident(self, name: str = "alice") -> HttpResident:
        token = (await self.client.post("/api/chat/session")).json()["token"]
        self._users[name] = user_for_token(token)
        return HttpResident(self, self.client, token)

    async def cases_of(self, name: str = "alice") -> list[Case]:
        return await self.store.cases_for_resident("web", self._users[name])


class HttpResident(_Observed, Resident):
    def __init__(self, harness: HttpHarness, client: httpx.AsyncClient, token: str) -> None:
        super().__init__(client, token)
        self.harness = harness
        self.user_id = user_for_token(token)
        self.pace = 0.0

    async def _send(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        self.harness.clock.advance(seconds=self.pace)
        return await super()._send(body)


@pytest.fixture(params=["engine", "http"])
async def harness_both(
    request: pytest.FixtureRequest,
    faq_service: FaqService,
    centers: CenterDirectory,
    settings: Settings,
    clock: Clock,
) -> AsyncIterator[Harness | HttpHarness]:
    """For the resident-facing behaviours that must hold end to end: each test runs on
    the engine (fast, exact) and over real HTTP against the running service."""
    if request.param == "engine":
        yield Harness(faq_service, centers)
        return
    async with (
        run_service(settings, clock) as service,
        httpx.AsyncClient(base_url=service.base_url, trust_env=False, timeout=10) as client,
    ):
        yield HttpHarness(service, client)
