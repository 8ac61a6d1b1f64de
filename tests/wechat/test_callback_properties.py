"""Whatever reaches /wechat, the callback answers it sensibly.

Property-based, like ``tests/resident/test_api_properties.py``: hypothesis makes
up bodies, bytes, headers and query strings; the answer is never a 5xx, a
request without WeChat's signature gets 403, a signed but malformed one 400,
and neither leaves anything behind (no inbound message, no file to download).
One running service per test, shared by its examples.
"""

from __future__ import annotations

import math
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config import Settings

from .conftest import Clock, WeChat, rows, wechat_service
from .fake_api import FakeWeChat
from .sim import ACCOUNT, message_xml, sign

EXAMPLES = settings(
    max_examples=40,  # about 1 s per test: every example is a real HTTP request
    deadline=None,
    database=None,  # nothing written into the checkout
    # The service is a fixture on purpose: one per test, not per example.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
OPENID = "oRESIDENT0000000000000000001"
MSG_TYPES = ["text", "image", "voice", "video", "shortvideo", "location", "link", "file", "event"]
EVENTS = ["subscribe", "unsubscribe", "SCAN", "CLICK", "VIEW", "LOCATION", ""]
FIELD_NAMES = [
    "ToUserName",
    "FromUserName",
    "CreateTime",
    "MsgType",
    "Content",
    "MsgId",
    "MediaId",
    "Format",
    "Recognition",
    "Location_X",
    "Location_Y",
    "Label",
    "Event",
    "EventKey",
    "Latitude",
    "Longitude",
    "Title",
    "Encrypt",
]
_DIGITS = re.compile(r"[0-9]{1,20}")

# Text XML can carry (UTF-8, no markup), and anything UTF-8 now and then.
safe_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="<>&]", exclude_categories=["Cs"]),
    max_size=30,
)
any_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=60)
numbers = st.integers(-(10**25), 10**25) | st.floats(allow_nan=True, allow_infinity=True)
values = safe_text | numbers | any_text
# Header values h11 lets through: printable Latin-1, so odd but well-formed requests.
header_bytes = (
    st.text(
        alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
        max_size=60,
    )
    .map(str.strip)
    .map(lambda s: s.encode("latin-1"))
)
headers = st.dictionaries(
    st.sampled_from(
        [b"Content-Type", b"Content-Encoding", b"User-Agent", b"X-Forwarded-For", b"Accept"]
    ),
    header_bytes,
    max_size=3,
)
garbage = st.binary(max_size=300)
# Bodies shaped like WeChat's messages, XML of any shape, and bytes.
message_fields = st.fixed_dictionaries(
    {"MsgType": st.sampled_from(MSG_TYPES) | safe_text},
    optional={name: values for name in FIELD_NAMES if name != "MsgType"},
)
xml_bodies = message_fields.map(lambda f: message_xml(f).encode("utf-8", "surrogatepass"))
bodies = (
    xml_bodies
    | garbage
    | st.sampled_from(
        [
            b"",
            b"<xml>",
            b"<xml></xml>",
            b"<a><b/></a>",
            b'<!DOCTYPE xml [<!ENTITY x "y">]><xml>&x;</xml>',
            b"<xml><MsgType>text</MsgType><MsgType>image</MsgType></xml>",
        ]
    )
)
queries = st.dictionaries(
    st.sampled_from(
        ["signature", "timestamp", "nonce", "openid", "encrypt_type", "msg_signature", "echostr"]
    )
    | any_text,
    any_text,
    max_size=6,
)


def stored(wx: WeChat) -> tuple[int, int]:
    """Inbound messages and files queued for download."""
    db = wx.service.runtime.settings.db
    messages = rows(db, "SELECT COUNT(*) AS n FROM inbound")[0]["n"]
    files = rows(db, "SELECT COUNT(*) AS n FROM platform_files")[0]["n"]
    return int(messages), int(files)


async def post(
    wx: WeChat, query: dict[str, str] | str, body: bytes, extra: dict[bytes, bytes] | None = None
) -> httpx.Response:
    return await wx.client.post(
        "/wechat", params=httpx.QueryParams(query), content=body, headers=extra or {}
    )


def assert_no_server_error(r: httpx.Response) -> None:
    assert r.status_code < 500, (r.status_code, r.text[:200])


# -- anything at all --------------------------------------------------------------


@EXAMPLES
@given(
    query=queries | any_text,
    body=bodies,
    extra=headers,
    method=st.sampled_from(["GET", "POST"]),
)
async def test_anything_at_all_never_breaks_the_callback(
    wx: WeChat, query: dict[str, str] | str, body: bytes, extra: dict[bytes, bytes], method: str
) -> None:
    before = stored(wx)
    if method == "GET":
        r = await wx.client.get("/wechat", params=httpx.QueryParams(query), headers=extra)
    else:
        r = await post(wx, query, body, extra)
    assert_no_server_error(r)
    assert r.status_code == 403  # none of it is signed
    assert stored(wx) == before


# -- not signed by WeChat -------------------------------------------------------------


def forged_queries(wx: WeChat) -> st.SearchStrategy[dict[str, str]]:
    """Queries that look like WeChat's but are not signed with the token, or not now."""
    now = int(wx.clock().timestamp())

    def signed(timestamp: str, nonce: str, token: str = "") -> dict[str, str]:
        return {
            "signature": sign(token or wx.server.token, timestamp, nonce),
            "timestamp": timestamp,
            "nonce": nonce,
            "openid": OPENID,
        }

    nonces = st.text(alphabet="0123456789", min_size=1, max_size=10)
    wrong_token = st.builds(
        lambda n, t: signed(str(now), n, t), nonces, safe_text.filter(lambda t: t != "")
    ).filter(lambda q: q["signature"] != sign(wx.server.token, q["timestamp"], q["nonce"]))
    stale = st.builds(
        lambda n, skew: signed(str(now + skew), n),
        nonces,
        st.integers(301, 10**9) | st.integers(-(10**9), -301),
    )
    odd_time = st.builds(
        lambda n, t: signed(t, n),
        nonces,
        any_text.filter(lambda t: t != "" and not (t.isascii() and t.isdigit() and len(t) <= 12)),
    )
    tampered = st.builds(
        lambda q, s: {**q, "signature": s},
        st.builds(lambda n: signed(str(now), n), nonces),
        st.text(alphabet="0123456789abcdef", max_size=40) | any_text,
    ).filter(lambda q: q["signature"] != sign(wx.server.token, q["timestamp"], q["nonce"]))
    missing = st.builds(lambda n: signed(str(now), n), nonces).flatmap(
        lambda q: st.sampled_from(["signature", "timestamp"]).map(
            lambda k: {key: v for key, v in q.items() if key != k}
        )
    )
    return wrong_token | stale | odd_time | tampered | missing


@EXAMPLES
@given(data=st.data(), body=bodies, extra=headers)
async def test_without_wechats_signature_it_is_403_and_nothing_is_stored(
    wx: WeChat, data: st.DataObject, body: bytes, extra: dict[bytes, bytes]
) -> None:
    before = stored(wx)
    query = data.draw(forged_queries(wx))
    # Even a well-formed message of a real resident: whoever sent it cannot sign it.
    real = message_xml(
        {
            "ToUserName": ACCOUNT,
            "FromUserName": OPENID,
            "CreateTime": 1409735668,
            "MsgType": "image",
            "MediaId": "PHOTO-FORGED",
            "MsgId": 1,
        }
    ).encode()
    content = data.draw(st.sampled_from([body, real]))
    r = await post(wx, query, content, extra)
    assert r.status_code == 403, (r.status_code, r.text[:200])
    assert stored(wx) == before


# -- signed, but not a message ----------------------------------------------------


def _not_whole_number(text: str) -> bool:
    return not _DIGITS.fullmatch(text.strip())


def _bad_coordinate(bound: float) -> st.SearchStrategy[str]:
    def bad(text: str) -> bool:
        try:
            value = float(text.strip())
        except ValueError:
            return True
        return math.isnan(value) or not -bound <= value <= bound

    return (safe_text | st.floats().map(repr) | st.integers().map(str)).filter(bad)


BASE = {"ToUserName": ACCOUNT, "FromUserName": OPENID, "CreateTime": 1409735668}
# One defect each: every one of these is refused with 400 whatever else the body holds.
malformed_fields = st.one_of(
    st.builds(lambda c: {**BASE, "Content": c}, safe_text),  # no MsgType
    st.builds(lambda t: {**BASE, "MsgType": "text", "MsgId": 1, "CreateTime": t}, safe_text).filter(
        lambda f: _not_whole_number(str(f["CreateTime"]))
    ),
    st.builds(lambda m: {**BASE, "MsgType": "text", "Content": "x", "MsgId": m}, safe_text).filter(
        lambda f: f["MsgId"].strip() != "" and _not_whole_number(f["MsgId"])
    ),
    st.builds(
        lambda kind, media: {**BASE, "MsgType": kind, "MsgId": 2, **media},
        st.sampled_from(["image", "voice", "video", "shortvideo"]),
        st.sampled_from([{}, {"MediaId": ""}, {"MediaId": "m" * 257}]),
    ),
    st.builds(
        lambda x, y, which: (
            {**BASE, "MsgType": "location", "MsgId": 3}
            | (
                {"Location_X": x, "Location_Y": "100.4"}
                if which
                else {"Location_X": "38.9", "Location_Y": y}
            )
        ),
        _bad_coordinate(90),
        _bad_coordinate(180),
        st.booleans(),
    ),
    st.builds(lambda key: {**BASE, "MsgType": "event", "EventKey": key}, safe_text),  # no Event
    st.builds(
        lambda lat: {
            **BASE,
            "MsgType": "event",
            "Event": "LOCATION",
            "Latitude": lat,
            "Longitude": "100.4",
        },
        _bad_coordinate(90),
    ),
)
not_xml = st.one_of(
    garbage.filter(lambda b: b"<" not in b),
    st.builds(lambda t: f"<{t}/>".encode(), st.from_regex(r"[a-wyz][a-z0-9]{0,8}", fullmatch=True)),
    st.builds(lambda b: b"<xml>" + b, garbage.filter(lambda b: b"</xml>" not in b)),
    st.sampled_from(
        [
            b"<!DOCTYPE xml [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><xml>&x;</xml>",
            b"<?xml version='1.0'?><!ENTITY a 'b'><xml/>",
            b"\xff\xfe<\x00x\x00m\x00l\x00>\x00",
        ]
    ),
)


@EXAMPLES
@given(
    body=malformed_fields.map(lambda f: message_xml(f).encode()) | not_xml,
    extra=headers,
)
async def test_signed_but_malformed_is_400_and_nothing_is_stored(
    wx: WeChat, body: bytes, extra: dict[bytes, bytes]
) -> None:
    before = stored(wx)
    query = {**wx.server.query(), "openid": OPENID}
    r = await post(wx, query, body, extra)
    assert r.status_code == 400, (r.status_code, r.text[:200], body[:200])
    assert stored(wx) == before


@EXAMPLES
@given(fields=message_fields, extra=headers)
async def test_signed_messages_of_any_shape_never_break_the_callback(
    wx: WeChat, fields: dict[str, Any], extra: dict[bytes, bytes]
) -> None:
    """Whatever a signed body holds, it is answered (200) or refused (400 with nothing kept)."""
    before = stored(wx)
    query = {**wx.server.query(), "openid": OPENID}
    r = await post(wx, query, message_xml(fields).encode("utf-8", "surrogatepass"), extra)
    assert_no_server_error(r)
    assert r.status_code in (200, 400), (r.status_code, r.text[:200])
    if r.status_code == 400:
        assert stored(wx) == before


@pytest.fixture
async def wx_safe(settings: Settings, clock: Clock, fake: FakeWeChat) -> AsyncIterator[WeChat]:
    """The service in safe mode (安全模式): every message encrypted."""
    async with wechat_service(settings, clock, fake, "safe") as running:
        yield running


@EXAMPLES
@given(
    plain=malformed_fields.map(message_xml) | st.sampled_from(["<a/>", "not xml", "<xml/>"]),
    junk=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef0123456789+/=", min_size=1, max_size=80),
)
async def test_signed_safe_mode_messages_that_are_no_message_are_400(
    wx_safe: WeChat, plain: str, junk: str
) -> None:
    """Correct signatures over a malformed plaintext, or over ciphertext that is nonsense."""
    wx = wx_safe
    before = stored(wx)
    query, body = wx.server.request_xml(plain, {})
    r = await post(wx, query, body)
    assert r.status_code == 400, (r.status_code, r.text[:200], plain[:200])

    q = wx.server.query()
    msg_signature = sign(wx.server.token, q["timestamp"], q["nonce"], junk)
    signed = {**q, "encrypt_type": "aes", "msg_signature": msg_signature}
    envelope = f"<xml><ToUserName>{ACCOUNT}</ToUserName><Encrypt>{junk}</Encrypt></xml>"
    r = await post(wx, signed, envelope.encode())
    assert r.status_code == 400, (r.status_code, r.text[:200], junk)
    assert stored(wx) == before
