"""Whatever reaches the mediator console — its JSON API and its forms, logged in or not —
the answer is never a 5xx nor a traceback, and a refused request changes nothing.

Property-based, one running service per test shared by its examples (the web chat
API, the Telegram webhook and the WeChat callback have their own: tests/resident,
tests/telegram, tests/wechat).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config import Settings
from tests.console.conftest import VILLAGE, Mediator, add_account, open_case
from tests.support import Clock, Service, rows, run_service

EXAMPLES = settings(
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ACTIONS = ["claim", "reply", "note", "supervise", "transfer", "escalate", "resolve", "nothing"]
# What a refused request must not change (failed logins are counted on purpose).
TABLES = ("accounts", "cases", "case_events", "case_messages", "outbound", "console_sessions")

surrogates = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
controls = st.characters(min_codepoint=0, max_codepoint=0x1F)
texts = (
    st.text(max_size=30)
    | st.text(alphabet=st.characters() | surrogates | controls, max_size=30)
    | st.sampled_from(["", " ", "mediated", "620702103", "x" * 5000, "13812345678"])
)
scalars = st.none() | st.booleans() | st.integers() | st.floats() | texts
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8,
)
FIELDS = [
    "text",
    "reason",
    "outcome",
    "note",
    "to",
    "seen",
    "category",
    "description",
    "place",
    "phone",
    "urgent",
    "username",
    "password",
    "name",
    "role",
    "center",
    "csrf",
]
bodies = st.dictionaries(st.sampled_from(FIELDS) | texts, json_values, max_size=4) | json_values
raw_bodies = (
    st.binary(max_size=300)
    | st.just(b"[" * 100_000 + b"]" * 100_000)  # nested deeper than any parser recursion
    | st.just(b'{"text": "' + b"x" * 70_000 + b'"}')  # over the size limit
    | bodies.map(lambda b: json.dumps(b).encode())
)
content_types = st.sampled_from(
    [
        "application/json",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
        "text/plain",
        "",
        "application/json; charset=latin-1",
    ]
)
query = st.text(alphabet=st.characters(codec="utf-8") | surrogates, max_size=20)


def _counts(service: Service) -> dict[str, int]:
    db = service.runtime.settings.db
    return {t: rows(db, f"SELECT COUNT(*) AS n FROM {t}")[0]["n"] for t in TABLES}


def _state(service: Service) -> list[dict[str, Any]]:
    return rows(service.runtime.settings.db, "SELECT * FROM cases ORDER BY id")


def _sensible(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    assert "Traceback" not in response.text
    if response.status_code >= 400 and response.request.url.path.startswith("/console/api/"):
        assert isinstance(response.json().get("error"), str)


class Desk:
    def __init__(self, service: Service, mediator: Mediator, number: str) -> None:
        self.service = service
        self.mediator = mediator
        self.number = number


@pytest.fixture
async def desk(settings: Settings, clock: Clock) -> AsyncIterator[Desk]:
    async with run_service(settings, clock, background=False) as service:
        await add_account(service.runtime, "m1")
        await add_account(service.runtime, "boss", role="admin")
        case = await open_case(service.runtime, VILLAGE)
        mediator = Mediator(service.base_url, "m1")
        assert (await mediator.login()).status_code == 200
        try:
            yield Desk(service, mediator, case.number)
        finally:
            await mediator.client.aclose()


@EXAMPLES
@given(
    action=st.sampled_from(ACTIONS),
    body=raw_bodies,
    kind=content_types,
    with_csrf=st.booleans(),
)
async def test_case_actions_take_anything_and_change_nothing_they_refuse(
    desk: Desk, action: str, body: bytes, kind: str, with_csrf: bool
) -> None:
    before, cases = _counts(desk.service), _state(desk.service)
    headers = {"Content-Type": kind} if kind else {}
    if with_csrf:
        headers["X-CSRF-Token"] = desk.mediator.csrf
    for path in (
        f"/console/api/cases/{desk.number}/{action}",
        f"/console/cases/{desk.number}/{action}",
    ):
        response = await desk.mediator.client.post(path, content=body, headers=headers)
        _sensible(response)
        if response.status_code >= 400:
            assert _counts(desk.service) == before and _state(desk.service) == cases
        else:
            before, cases = _counts(desk.service), _state(desk.service)


@EXAMPLES
@given(
    path=st.sampled_from(
        [
            "/console/api/login",
            "/console/api/logout",
            "/console/api/walk-in",
            "/console/api/accounts",
            "/console/api/accounts/m1/password",
            "/console/api/accounts/m1/disable",
            "/console/login",
            "/console/walk-in",
            "/console/accounts",
            "/console/logout",
        ]
    ),
    body=raw_bodies,
    kind=content_types,
)
async def test_without_a_session_nothing_is_stored(
    desk: Desk, path: str, body: bytes, kind: str
) -> None:
    before = _counts(desk.service)
    async with httpx.AsyncClient(base_url=desk.service.base_url, trust_env=False) as stranger:
        headers = {"Content-Type": kind} if kind else {}
        response = await stranger.post(path, content=body, headers=headers)
    _sensible(response)
    assert response.status_code != 200 or path.endswith("login")
    after = _counts(desk.service)
    if response.status_code == 200:  # a lucky login: one new session, nothing else
        after["console_sessions"] -= 1
    assert after == before


@EXAMPLES
@given(
    path=st.sampled_from(
        [
            "/console/api/places?q=",
            "/console/api/stats?from=",
            "/console/api/stats?to=",
            "/console/api/trends?by=",
            "/console/api/trends?periods=",
            "/console/api/queue?center=",
            "/console/api/faq/test?q=",
            "/console/stats?from=",
            "/console/trends?by=",
            "/console/api/cases/",
            "/console/cases/",
            "/console/faq/misses?q=",
        ]
    ),
    value=query,
)
async def test_reading_with_any_query_never_breaks(desk: Desk, path: str, value: str) -> None:
    # Percent-escapes of any bytes: lone surrogates become escapes of no valid UTF-8.
    response = await desk.mediator.client.get(
        path + quote(value.encode("utf-8", "surrogatepass"), safe="")
    )
    _sensible(response)
