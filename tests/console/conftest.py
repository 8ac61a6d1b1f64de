"""Mediators on the console and residents on the web chat, over real HTTP.

Accounts are stored straight into the database (as ``minshi mediator add``
would); every password here is the same, hashed once, so twenty accounts
cost one Argon2 hash. Logging in goes through the API like any client.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from functools import cache
from typing import Any

import httpx
import pytest

from bot.config import Settings
from bot.console.passwords import hash_password_now
from bot.runtime import Runtime
from handoff import Case, CaseDraft
from tests.resident.conftest import Resident as WebResident
from tests.support import Clock, Service, run_service

PASSWORD = "correct horse battery"
VILLAGE = "620702103203"  # 寺儿沟村综治中心
TOWNSHIP = "620702103"  # 沙井镇综治中心, above the village
COUNTY = "620702"  # 甘州区综治中心
OTHER_TOWNSHIP = "620702107"  # 党寨镇综治中心: a center beside, not above


@cache
def password_hash() -> str:
    return hash_password_now(PASSWORD)


async def add_account(
    rt: Runtime, username: str, role: str = "mediator", center: str = VILLAGE, name: str = ""
) -> None:
    await rt.accounts.add_account(
        username, name or f"调解员{username}", center, role, password_hash(), rt.clock()
    )


async def open_case(
    rt: Runtime,
    region: str = VILLAGE,
    *,
    phone: str | None = "13812345678",
    description: str = "邻居把我家门前的路挖断了",
    attachments: tuple[dict[str, str], ...] = (),
    urgent: bool = False,
) -> Case:
    """A case as the report dialog files it (without the chat before it)."""
    draft = CaseDraft(
        channel="web",
        user_id=f"resident-{region}-{description[:4]}",
        category="neighbor",
        description=description,
        region_code=region,
        location_text=rt.centers.full_name(region),
        location_method="picker",
        phone=phone,
        attachments=attachments,
        urgent=urgent,
    )
    async with rt.store.transaction() as w:
        case, _ = await rt.cases.open(w, draft, rt.clock())
    return case


class Mediator:
    """A console user speaking the JSON API with a cookie jar, like a browser."""

    def __init__(self, base_url: str, username: str) -> None:
        self.username = username
        self.client = httpx.AsyncClient(base_url=base_url, trust_env=False, timeout=20)
        self.csrf = ""

    async def login(self, password: str = PASSWORD) -> httpx.Response:
        r = await self.client.post(
            "/console/api/login", json={"username": self.username, "password": password}
        )
        if r.status_code == 200:
            self.csrf = r.json()["csrf"]
        return r

    async def get(self, path: str) -> httpx.Response:
        return await self.client.get(path)

    async def post(
        self, path: str, body: dict[str, Any] | None = None, *, csrf: str | None = None
    ) -> httpx.Response:
        token = self.csrf if csrf is None else csrf
        headers = {"X-CSRF-Token": token} if token else {}
        return await self.client.post(path, json=body or {}, headers=headers)

    async def act(self, number: str, action: str, **body: Any) -> httpx.Response:
        return await self.post(f"/console/api/cases/{number}/{action}", body)

    async def case(self, number: str) -> dict[str, Any]:
        r = await self.get(f"/console/api/cases/{number}")
        assert r.status_code == 200, r.text
        found: dict[str, Any] = r.json()
        return found


class Resident(WebResident):
    """A resident on the web chat, over HTTP, who can also read the page's history."""

    async def history(self) -> list[dict[str, Any]]:
        r = await self.client.get("/api/chat/messages", headers=self.headers)
        assert r.status_code == 200, r.text
        messages: list[dict[str, Any]] = r.json()["messages"]
        return messages


@pytest.fixture
async def quiet_service(settings: Settings, clock: Clock) -> AsyncIterator[Service]:
    """The service without background jobs: nothing escalates behind the test's back."""
    async with run_service(settings, clock, background=False) as svc:
        yield svc


@pytest.fixture
async def people(
    request: pytest.FixtureRequest,
) -> AsyncIterator[Callable[[Service, str], Awaitable[Mediator]]]:
    """Log people in (``await people(service, "username")``); closed at the end."""
    made: list[Mediator] = []

    async def make(service: Service, username: str) -> Mediator:
        mediator = Mediator(service.base_url, username)
        made.append(mediator)
        r = await mediator.login()
        assert r.status_code == 200, r.text
        return mediator

    yield make
    for m in made:
        await m.client.aclose()


@pytest.fixture
async def new_resident(service: Service) -> AsyncIterator[Callable[[], Awaitable[Resident]]]:
    clients: list[httpx.AsyncClient] = []

    async def make() -> Resident:
        client = httpx.AsyncClient(base_url=service.base_url, trust_env=False, timeout=10)
        clients.append(client)
        r = await client.post("/api/chat/session")
        assert r.status_code == 201
        return Resident(client, r.json()["token"])

    yield make
    for c in clients:
        await c.aclose()
