"""Whatever a client sends to the web chat API, the service answers it sensibly.

Property-based: hypothesis makes up bodies, bytes, headers and query strings
for every endpoint; the answer is never a 5xx, an error is always
``{"error": …}``, and a refused request leaves nothing behind (no stored
message, no upload). One running service per test, shared by its examples.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import Resident, Service, rows

EXAMPLES = settings(
    max_examples=40,  # about 2 s per test: every example is real HTTP requests
    deadline=None,
    database=None,  # nothing written into the checkout
    # The service and the resident are fixtures on purpose: one per test, not per example.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
MESSAGE_FIELDS = ["text", "choice", "location", "photo", "voice", "start", "id"]
UPLOAD_TYPES = [
    "image/jpeg",
    "image/png",
    "image/webp",
    "image/heic",
    "audio/webm",
    "audio/ogg",
    "audio/mp4",
    "audio/mpeg",
    "audio/wav",
    "audio/webm;codecs=opus",
    "application/octet-stream",
    "text/plain",
    "",
]
MAGIC = [
    b"",
    b"\xff\xd8\xff",
    b"\x89PNG\r\n\x1a\n",
    b"RIFF\x00\x00\x00\x00WEBP",
    b"RIFF\x00\x00\x00\x00WAVE",
    b"\x00\x00\x00\x18ftypheic",
    b"\x00\x00\x00\x18ftypM4A ",
    b"\x1a\x45\xdf\xa3",
    b"OggS",
    b"ID3",
    b"\xff\xfb",
]

# Text as residents type it, and text with lone surrogates (JSON can escape
# them; UTF-8 cannot hold them).
surrogates = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
texts = st.text(max_size=40) | st.text(alphabet=st.characters() | surrogates, max_size=40)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | texts
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8,
)
refs = st.from_regex(r"[0-9a-f]{64}\.(jpg|png|webp|heic|webm|ogg|wav|mp3|m4a)", fullmatch=True)
numbers = st.integers(-200, 200) | st.floats(-200, 200) | st.floats()
coordinate = numbers | numbers.map(str) | st.booleans() | json_values
coordinates = st.fixed_dictionaries({}, optional={"lat": coordinate, "lon": coordinate})
coordinates |= st.fixed_dictionaries(
    {"lat": coordinate, "lon": coordinate}, optional={"label": texts}
)
# What each field of a message usually holds, and anything else now and then.
FIELD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "text": texts,
    "choice": texts | st.sampled_from(["menu:report", "menu:ask", "desc:done", "confirm:yes"]),
    "start": texts | st.sampled_from(["", "620702103203"]),
    "photo": refs | texts,
    "voice": refs | texts,
    "location": coordinates,
}
ids = texts | json_values


def one_message(field: str) -> st.SearchStrategy[dict[str, Any]]:
    value = FIELD_VALUES[field] | json_values
    return st.fixed_dictionaries({field: value}, optional={"id": ids, "extra": json_values})


# Bodies shaped like messages (most reach the field checks), loose objects, any JSON.
message_bodies = (
    st.sampled_from(sorted(FIELD_VALUES)).flatmap(one_message)
    | st.dictionaries(st.sampled_from(MESSAGE_FIELDS) | texts, json_values | refs, max_size=3)
    | json_values
)
# Header values h11 lets through: printable Latin-1, so odd but well-formed requests.
header_text = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
    max_size=60,
).map(str.strip)
header_bytes = header_text.map(lambda s: s.encode("latin-1"))  # httpx would insist on ASCII


def inbound_count(service: Service) -> int:
    return int(rows(service.runtime.settings.db, "SELECT COUNT(*) AS n FROM inbound")[0]["n"])


def upload_count(service: Service) -> int:
    return int(rows(service.runtime.settings.db, "SELECT COUNT(*) AS n FROM uploads")[0]["n"])


def stored_files(service: Service) -> set[str]:
    folder = service.runtime.settings.attachments_dir
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


def assert_sensible(r: httpx.Response, allowed: set[int]) -> None:
    assert r.status_code in allowed, (r.status_code, r.text[:200])
    if r.status_code >= 400:
        assert isinstance(r.json()["error"], str)


def assert_acceptable(body: Any) -> None:
    """What an accepted message must be: one field, UTF-8 text, coordinates as numbers."""
    assert isinstance(body, dict)
    assert len([f for f in FIELD_VALUES if f in body]) == 1
    pending = [body]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending += [*item, *item.values()]
        elif isinstance(item, list):
            pending += item
        elif isinstance(item, str):
            item.encode("utf-8")  # raises for a lone surrogate
    if "location" in body:
        for value in (body["location"]["lat"], body["location"]["lon"]):
            assert type(value) in (int, float)


Headers = dict[bytes, bytes]  # as sent on the wire: odd Latin-1 values included


def content_type_header(value: str | bytes) -> Headers:
    if isinstance(value, str):
        value = value.encode("latin-1")
    return {b"Content-Type": value} if value else {}


def tokens(resident: Resident) -> st.SearchStrategy[str]:
    """Tokens a client might send: the real one, near misses, and nonsense."""
    real = resident.token
    return st.one_of(
        st.just(real),
        st.integers(0, len(real) - 1).map(
            lambda i: real[:i] + ("A" if real[i] != "A" else "B") + real[i + 1 :]
        ),
        st.just(real + "="),
        st.from_regex(r"[A-Za-z0-9_-]{32}\.[A-Za-z0-9_-]{43}", fullmatch=True),
        header_text,
    )


def authorizations(resident: Resident) -> st.SearchStrategy[Headers]:
    bearer = tokens(resident).map(lambda t: f"Bearer {t}".strip().encode("latin-1"))
    return st.one_of(st.just({}), (bearer | header_bytes).map(lambda v: {b"Authorization": v}))


@pytest.fixture
async def started(resident: Resident) -> Resident:
    """A resident in the middle of a conversation, so messages reach the dialogs."""
    await resident.start()
    return resident


@EXAMPLES
@given(body=message_bodies)
async def test_message_bodies_never_break_the_service(
    started: Resident, service: Service, body: Any
) -> None:
    before = inbound_count(service)
    raw = json.dumps(body).encode()  # \ud800 travels as an escape, as a client may send it
    r = await started.client.post(
        "/api/chat/messages",
        content=raw,
        headers=started.headers | {"Content-Type": "application/json"},
    )
    assert_sensible(r, {200, 400})
    if r.status_code == 200:
        assert isinstance(r.json()["replies"], list)
        assert_acceptable(body)
    else:
        assert inbound_count(service) == before


@EXAMPLES
@given(
    field=st.sampled_from([*FIELD_VALUES, "id", "key"]),
    bad=st.tuples(texts, surrogates, texts).map("".join),
)
async def test_a_lone_surrogate_anywhere_is_a_400(
    started: Resident, service: Service, field: str, bad: str
) -> None:
    bodies = {
        "id": {"text": "你好", "id": bad},
        "key": {"text": "你好", bad: 1},
        "location": {"location": {"lat": 38.9, "lon": 100.4, "label": bad}},
    }
    before = inbound_count(service)
    r = await started.client.post(
        "/api/chat/messages",
        content=json.dumps(bodies.get(field, {field: bad})).encode(),
        headers=started.headers | {"Content-Type": "application/json"},
    )
    assert_sensible(r, {400})
    assert "Unicode" in r.json()["error"]
    assert inbound_count(service) == before


@EXAMPLES
@given(
    raw=st.binary(max_size=200) | message_bodies.map(lambda b: json.dumps(b).encode()[:-1]),
    content_type=st.sampled_from(["application/json", "text/plain", ""]) | header_bytes,
    data=st.data(),
)
async def test_garbage_bytes_and_odd_headers_never_break_the_service(
    started: Resident, service: Service, raw: bytes, content_type: str | bytes, data: st.DataObject
) -> None:
    before = inbound_count(service)
    headers = data.draw(authorizations(started)) | content_type_header(content_type)
    r = await started.client.post("/api/chat/messages", content=raw, headers=headers)
    assert_sensible(r, {200, 400, 401})
    if r.status_code != 200:
        assert inbound_count(service) == before


@EXAMPLES
@given(
    endpoint=st.sampled_from(["/api/chat/photos", "/api/chat/voice"]),
    content=st.tuples(st.sampled_from(MAGIC), st.binary(max_size=100)).map(b"".join),
    content_type=st.sampled_from(UPLOAD_TYPES) | header_bytes,
    data=st.data(),
)
async def test_uploads_never_break_the_service_and_keep_nothing_refused(
    started: Resident,
    service: Service,
    endpoint: str,
    content: bytes,
    content_type: str | bytes,
    data: st.DataObject,
) -> None:
    files, uploads = stored_files(service), upload_count(service)
    headers = data.draw(authorizations(started)) | content_type_header(content_type)
    r = await started.client.post(endpoint, content=content, headers=headers)
    assert_sensible(r, {201, 400, 401, 413, 415})
    if r.status_code == 201:
        assert r.json()["ref"] in stored_files(service)
    else:
        assert (stored_files(service), upload_count(service)) == (files, uploads)


percent_encoded = st.binary(max_size=24).map(lambda b: quote(b, safe=""))


@settings(EXAMPLES, max_examples=25)  # three requests per example
@given(
    after=st.integers(-5, 10**25).map(str) | percent_encoded,
    last_event_id=st.none() | header_bytes,
    body=st.binary(max_size=64),
    data=st.data(),
)
async def test_reading_endpoints_never_break_the_service(
    started: Resident,
    after: str,
    last_event_id: bytes | None,
    body: bytes,
    data: st.DataObject,
) -> None:
    """History, the event stream and new sessions, with made-up tokens, ids and headers."""
    client = started.client
    auth = data.draw(authorizations(started))
    history = await client.get("/api/chat/messages", headers=auth)
    assert_sensible(history, {200, 401})
    session = await client.post("/api/chat/session", content=body, headers=auth)
    assert_sensible(session, {201})
    token = data.draw(tokens(started).map(lambda t: quote(t, safe="")) | percent_encoded)
    headers = {b"Last-Event-ID": last_event_id} if last_event_id else {}
    url = f"/api/chat/events?token={token}&after={after}"
    async with client.stream("GET", url, headers=headers) as events:
        if events.status_code == 200:  # a live stream: its first line is enough
            first = await asyncio.wait_for(anext(events.aiter_lines()), 5)
            assert first.startswith("retry:")
        else:
            await events.aread()
            assert_sensible(events, {400, 401})
