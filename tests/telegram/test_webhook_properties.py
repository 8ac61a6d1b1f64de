"""Whatever reaches the Telegram webhook, the service answers it sensibly.

Property-based, like the web chat's (``tests/resident/test_api_properties``):
hypothesis makes up JSON values, garbage bytes, odd headers and update-shaped
objects with random fields and types. With the right secret the answer is 200
for any update (one the service cannot read is ignored, so Telegram does not
send it again and again) and 400 for a body that is no update at all — never
a 5xx (503 is kept for a store that failed, which does not happen here). With
a wrong or missing secret it is 403 and nothing is stored. One running service
per test, shared by its examples.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.resident.test_api_properties import EXAMPLES, header_text, json_values, surrogates
from tests.resident.test_api_properties import texts as typed
from tests.support import rows

from .conftest import SECRET, Telegram

SECRET_HEADER = b"X-Telegram-Bot-Api-Secret-Token"
CHAT = 700_123_456

# Text as people type it, and now and then with a lone surrogate (JSON escapes it).
texts = st.one_of(typed, typed, typed, st.tuples(typed, surrogates, typed).map("".join))
update_ids = st.integers(-(2**63), 2**63 - 1) | st.integers(-(10**30), 10**30)
numbers = st.integers(-(10**12), 10**12) | st.floats()  # NaN and infinities too
sizes = st.none() | st.integers(-1, 10**11)


def loosely(plausible: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """What a field usually holds, and anything else now and then."""
    return plausible | json_values


def file_shaped(**extra: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"file_id": texts, "file_unique_id": texts} | extra,
        optional={"file_size": sizes, "file_name": texts, "mime_type": texts},
    )


private = st.just({"id": CHAT, "type": "private", "first_name": "居民"})
chats = (
    private
    | private
    | st.sampled_from(
        [
            {"id": CHAT + 1, "type": "private"},
            {"id": -100123, "type": "supergroup", "title": "村民群"},
            {"id": -100456, "type": "channel", "title": "通知"},
        ]
    )
    | st.fixed_dictionaries({"id": loosely(numbers), "type": loosely(texts)})
)
people = st.fixed_dictionaries(
    {"id": st.just(CHAT) | st.integers(1, 10**10), "is_bot": st.booleans(), "first_name": texts}
)
entities = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["bot_command", "bold", "text_link", "url", "custom_emoji"]),
        "offset": st.integers(-3, 60),
        "length": st.integers(-3, 60),
    },
    optional={"url": texts},
)
MESSAGE_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "text": texts | st.sampled_from(["/start", "/start 620702103203", "/menu", "/cancel"]),
    "caption": texts,
    "entities": st.lists(entities, max_size=2),
    "photo": st.lists(file_shaped(width=numbers, height=numbers), max_size=3),
    "voice": file_shaped(duration=numbers),
    "audio": file_shaped(duration=numbers),
    "video": file_shaped(width=numbers, height=numbers, duration=numbers),
    "document": file_shaped(),
    "location": st.fixed_dictionaries({"latitude": numbers, "longitude": numbers}),
    "venue": st.fixed_dictionaries(
        {
            "location": st.fixed_dictionaries({"latitude": numbers, "longitude": numbers}),
            "title": texts,
            "address": texts,
        }
    ),
    "contact": st.fixed_dictionaries(
        {"phone_number": texts, "first_name": texts}, optional={"user_id": numbers}
    ),
    "sticker": json_values,
    "dice": st.fixed_dictionaries({"emoji": texts, "value": numbers}),
    "edit_date": numbers,
}


def objects(
    required: dict[str, st.SearchStrategy[Any]], optional: dict[str, st.SearchStrategy[Any]]
) -> st.SearchStrategy[dict[str, Any]]:
    """Mostly an object as Telegram sends it (the optional fields now and then of another
    type, an unknown field now and then); else one with any field of any type."""
    extra = {"future_field": json_values}
    proper = st.fixed_dictionaries(
        required, optional={k: loosely(v) for k, v in optional.items()} | extra
    )
    odd = st.fixed_dictionaries(
        {k: loosely(v) for k, v in required.items()},
        optional={k: loosely(v) for k, v in optional.items()} | extra,
    )
    loose = st.dictionaries(st.sampled_from([*required, *optional]) | texts, json_values)
    return st.one_of(proper, proper, proper, odd, loose)


MESSAGE_BASE = {"message_id": st.integers(1, 10**6), "date": st.integers(0, 2**31), "chat": chats}
# Each message has its content (text most often), and other fields now and then.
messages = st.sampled_from(["text", "text", *MESSAGE_FIELDS]).flatmap(
    lambda content: objects(
        MESSAGE_BASE | {content: MESSAGE_FIELDS[content]},
        {"from": people} | {k: v for k, v in MESSAGE_FIELDS.items() if k != content},
    )
)
# A resident's message as Telegram sends it, whatever its content holds.
resident_messages = st.sampled_from(["text", "text", *MESSAGE_FIELDS]).flatmap(
    lambda content: st.fixed_dictionaries(
        {
            "message_id": st.integers(1, 10**6),
            "date": st.integers(0, 2**31),
            "chat": private,
            "from": people,
            content: loosely(MESSAGE_FIELDS[content]),
        },
        optional={k: loosely(v) for k, v in MESSAGE_FIELDS.items() if k != content},
    )
)
callback_data = texts | st.sampled_from(
    ["tg:d:1", "tg:d:99999", "tg:c:1:0", "tg:c:2:7", "menu:ask"]
)
callback_queries = objects(
    {"id": texts, "from": people, "chat_instance": texts},
    {"data": callback_data, "message": messages},
)
statuses = st.sampled_from(["member", "kicked", "left", "administrator", "restricted"])
member_updates = objects(
    {
        "chat": chats,
        "from": people,
        "date": st.integers(0, 2**31),
        "old_chat_member": st.fixed_dictionaries({"user": people, "status": loosely(statuses)}),
        "new_chat_member": st.fixed_dictionaries(
            {"user": people, "status": loosely(statuses)}, optional={"until_date": numbers}
        ),
    },
    {},
)
KINDS: dict[str, st.SearchStrategy[Any]] = {
    "message": messages,
    "edited_message": messages,
    "callback_query": callback_queries,
    "my_chat_member": member_updates,
    "inline_query": json_values,
    "galaxy_event": json_values,  # a kind Telegram adds next year
}
# Updates: one kind (shaped, or anything), with a proper or an odd update_id.
updates = st.builds(
    lambda update_id, kind, content: {"update_id": update_id, kind: content},
    update_id=st.one_of(update_ids, update_ids, update_ids, json_values),
    kind=st.sampled_from(sorted(KINDS)),
    content=st.sampled_from(sorted(KINDS)).flatmap(lambda k: KINDS[k]) | json_values,
)
shaped_updates = st.sampled_from(["message", "message", "callback_query", *KINDS]).flatmap(
    lambda kind: st.builds(lambda i, c: {"update_id": i, kind: c}, update_ids, KINDS[kind])
)
bodies: st.SearchStrategy[Any] = st.one_of(
    shaped_updates,
    shaped_updates,
    updates,
    st.dictionaries(st.sampled_from(["update_id", *KINDS]) | texts, json_values),
    json_values,
)
content_types = st.sampled_from(["application/json", "text/plain", ""]) | header_text
wrong_secrets = st.one_of(
    st.none(),  # no header at all
    st.just(""),
    st.integers(0, len(SECRET) - 1).map(
        lambda i: SECRET[:i] + ("A" if SECRET[i] != "A" else "B") + SECRET[i + 1 :]
    ),
    st.just(SECRET + "0"),
    st.just(SECRET[:-1]),
    header_text,
).filter(lambda s: s != SECRET)


def inbound_count(telegram: Telegram) -> int:
    db = telegram.runtime.settings.db
    return int(rows(db, "SELECT COUNT(*) AS n FROM inbound")[0]["n"])


def is_update(body: Any) -> bool:
    update_id = body.get("update_id") if isinstance(body, dict) else None
    return isinstance(update_id, int) and not isinstance(update_id, bool)


async def post(
    telegram: Telegram, raw: bytes, secret: str | None, content_type: str = "application/json"
) -> httpx.Response:
    headers: dict[bytes, bytes] = {}
    if secret is not None:
        headers[SECRET_HEADER] = secret.encode("latin-1")
    if content_type:
        headers[b"Content-Type"] = content_type.encode("latin-1")
    async with httpx.AsyncClient(trust_env=False, timeout=20) as client:
        return await client.post(telegram.fake.webhook_target, content=raw, headers=headers)


def assert_sensible(r: httpx.Response, allowed: set[int]) -> None:
    assert r.status_code in allowed, (r.status_code, r.text[:200])
    if r.status_code >= 400:
        assert isinstance(r.json()["error"], str)


_LIST_AS_CHAT_ID = {"message_id": 1, "date": 0, "chat": {"id": [], "type": ""}, "text": ""}


@EXAMPLES
@given(body=bodies, content_type=content_types)
@example(body={"update_id": 0, "edited_message": _LIST_AS_CHAT_ID}, content_type="application/json")
@example(body={"update_id": 0, "message": _LIST_AS_CHAT_ID}, content_type="application/json")
async def test_any_json_with_the_right_secret_is_taken_or_refused_never_a_5xx(
    webhook: Telegram, body: Any, content_type: str
) -> None:
    raw = json.dumps(body).encode()  # \ud800 travels as an escape, NaN as NaN
    r = await post(webhook, raw, SECRET, content_type)
    assert_sensible(r, {200} if is_update(body) else {400})


@EXAMPLES
@given(update_id=update_ids, content=resident_messages)
async def test_any_message_from_a_resident_is_taken(
    webhook: Telegram, update_id: int, content: dict[str, Any]
) -> None:
    raw = json.dumps({"update_id": update_id, "message": content}).encode()
    assert_sensible(await post(webhook, raw, SECRET), {200})


@EXAMPLES
@given(raw=st.binary(max_size=200) | bodies.map(lambda b: json.dumps(b).encode()[:-1]))
async def test_garbage_bytes_with_the_right_secret_are_a_400(webhook: Telegram, raw: bytes) -> None:
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    before = inbound_count(webhook)
    r = await post(webhook, raw, SECRET)
    assert_sensible(r, {200} if is_update(body) else {400})
    if r.status_code != 200:
        assert inbound_count(webhook) == before


@settings(EXAMPLES, max_examples=60)  # cheap: refused before the body is read
@given(
    secret=wrong_secrets,
    raw=bodies.map(lambda b: json.dumps(b).encode()) | st.binary(max_size=100),
    content_type=content_types,
)
async def test_a_wrong_or_missing_secret_is_a_403_and_stores_nothing(
    webhook: Telegram, secret: str | None, raw: bytes, content_type: str
) -> None:
    before, sent = inbound_count(webhook), len(webhook.fake.sent)
    r = await post(webhook, raw, secret, content_type)
    assert_sensible(r, {403})
    assert inbound_count(webhook) == before
    assert len(webhook.fake.sent) == sent
