"""WeChat's side of the callback: messages built, signed and encrypted as WeChat sends them.

``WeChatServer`` POSTs to the service's /wechat like WeChat's servers do, in
one of the three modes an account can choose: ``plain`` (明文), ``compat``
(兼容: plaintext fields and ``Encrypt`` side by side) or ``safe`` (安全: only
``Encrypt``). A passive reply is decrypted and its signature checked with
wechatpy's crypto, as WeChat would. ``Resident`` is one follower of the
account, reading what comes back (passive replies and customer-service
messages) and answering by number, like a person reading the screen.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from itertools import count
from typing import Any
from xml.sax.saxutils import escape

import httpx
import xmltodict
from wechatpy.crypto import WeChatCrypto

from .fake_api import FakeWeChat

TOKEN = "pamtest"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
ACCOUNT = "gh_10f6c3c3ac5a"  # the account's own id (ToUserName)
MODES = ("plain", "compat", "safe")

_ids = count(6054768590064713728)


def sign(*parts: str) -> str:
    import hashlib

    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def message_xml(fields: dict[str, Any]) -> str:
    """WeChat's XML: strings in CDATA, numbers bare."""
    nodes = []
    for name, value in fields.items():
        if isinstance(value, int | float):
            nodes.append(f"<{name}>{value}</{name}>")
        else:
            nodes.append(f"<{name}><![CDATA[{value}]]></{name}>")
    return "<xml>" + "".join(nodes) + "</xml>"


@dataclass
class Answer:
    status: int
    body: str
    passive: str | None  # the text of a passive reply; None for "success" (or an error)


class WeChatServer:
    def __init__(
        self,
        client: httpx.AsyncClient,
        clock: Callable[[], datetime],
        mode: str = "plain",
        *,
        token: str = TOKEN,
        aes_key: str = AES_KEY,
        app_id: str = "",
    ) -> None:
        self.client = client
        self.clock = clock
        self.mode = mode
        self.token = token
        self.crypto = WeChatCrypto(token, aes_key, app_id)

    def query(self, *, timestamp: str | None = None, nonce: str | None = None) -> dict[str, str]:
        ts = timestamp or str(int(self.clock().timestamp()))
        nonce = nonce or str(secrets.randbelow(10**9))
        return {"signature": sign(self.token, ts, nonce), "timestamp": ts, "nonce": nonce}

    def request(
        self, fields: dict[str, Any], *, openid: str | None = None, **query_kw: str
    ) -> tuple[dict[str, str], bytes]:
        """The query string and body WeChat would POST for this message."""
        return self.request_xml(message_xml(fields), fields, openid=openid, **query_kw)

    def request_xml(
        self, plain: str, fields: dict[str, Any], *, openid: str | None = None, **query_kw: str
    ) -> tuple[dict[str, str], bytes]:
        """The same for a message given as its XML text."""
        query = self.query(**query_kw)
        if openid:
            query["openid"] = openid
        if self.mode == "plain":
            return query, plain.encode()
        envelope = xmltodict.parse(
            self.crypto.encrypt_message(plain, query["nonce"], query["timestamp"])
        )["xml"]
        query.update(encrypt_type="aes", msg_signature=envelope["MsgSignature"])
        encrypt = f"<Encrypt><![CDATA[{envelope['Encrypt']}]]></Encrypt>"
        if self.mode == "compat":
            return query, (plain.removesuffix("</xml>") + encrypt + "</xml>").encode()
        head = f"<xml><ToUserName><![CDATA[{fields.get('ToUserName', ACCOUNT)}]]></ToUserName>"
        return query, (head + encrypt + "</xml>").encode()

    async def post(self, query: dict[str, str], body: bytes, **headers: str) -> Answer:
        r = await self.client.post("/wechat", params=query, content=body, headers=headers)
        return self.read(r, query)

    def read(self, r: httpx.Response, query: dict[str, str]) -> Answer:
        if r.status_code != 200 or r.text in ("success", ""):
            return Answer(r.status_code, r.text, None)
        reply = xmltodict.parse(r.text)["xml"]
        if query.get("encrypt_type") == "aes":
            assert "Encrypt" in reply, "an encrypted message gets an encrypted reply"
            plain = self.crypto.decrypt_message(
                r.text, reply["MsgSignature"], reply["TimeStamp"], reply["Nonce"]
            )
            reply = xmltodict.parse(plain)["xml"]
        assert reply["MsgType"] == "text"
        assert len(reply["Content"].encode()) <= 2047, "WeChat drops longer passive replies"
        return Answer(r.status_code, r.text, reply["Content"])

    async def send(self, fields: dict[str, Any], **query_kw: str) -> Answer:
        query, body = self.request(fields, openid=fields.get("FromUserName"), **query_kw)
        return await self.post(query, body)


class Resident:
    """One follower of the account, on their phone."""

    def __init__(self, server: WeChatServer, fake: FakeWeChat, openid: str) -> None:
        self.server = server
        self.fake = fake
        self.openid = openid
        self.last = ""  # the latest text the resident saw (passive reply or service message)

    def _fields(self, msg_type: str, **values: Any) -> dict[str, Any]:
        return {
            "ToUserName": ACCOUNT,
            "FromUserName": self.openid,
            "CreateTime": int(self.server.clock().timestamp()),
            "MsgType": msg_type,
            **values,
        }

    async def send(self, msg_type: str, *, msg_id: int | None = None, **values: Any) -> Answer:
        fields = self._fields(msg_type, **values)
        if msg_type != "event":
            fields["MsgId"] = msg_id if msg_id is not None else next(_ids)
        answer = await self.server.send(fields)
        assert answer.status == 200, answer.body
        if answer.passive is not None:
            self.last = answer.passive
        return answer

    async def say(self, text: str, **kw: Any) -> str:
        answer = await self.send("text", Content=escape(text) if "]]>" in text else text, **kw)
        assert answer.passive is not None, f"no passive reply to {text!r}"
        return answer.passive

    async def pick(self, label: str) -> str:
        """Reply with the number printed before ``label`` in what the bot said last."""
        return await self.say(str(number_of(self.last, label)))

    async def event(self, event: str, **values: Any) -> Answer:
        return await self.send("event", Event=event, **values)


def amr_nb(seconds: float = 1.0, *, payload: bytes = bytes(range(31))) -> bytes:
    """A recording as WeChat stores it: an AMR-NB file (RFC 4867 storage format).

    The ``#!AMR`` header, then one 20 ms frame after another, each a table-of-
    contents byte (mode 7, 12.2 kbit/s: 0x3C) and its 31 bytes of speech bits;
    any bits decode to sound, so this is what a phone would record.
    """
    assert len(payload) == 31
    return b"#!AMR\n" + (b"\x3c" + payload) * round(seconds * 50)


def number_of(text: str, label: str) -> int:
    """The number of the numbered line that contains ``label``."""
    for line in text.splitlines():
        match = re.match(r"(\d+)\. (.*)", line)
        if match and label in match.group(2):
            return int(match.group(1))
    raise AssertionError(f"no numbered choice '{label}' in:\n{text}")
