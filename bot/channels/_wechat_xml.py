"""What WeChat POSTs to the callback: signatures, safe-mode crypto, safe XML parsing.

Checked in this order, each before anything else is done with the request:

1. the query's ``signature`` (SHA-1 of the sorted token, timestamp, nonce) and a
   ``timestamp`` within the window of now → 403 otherwise;
2. the body: UTF-8 XML of a bounded size with no DOCTYPE, entity or other
   declaration (refused before the parser sees it, so nothing can expand) → 400;
3. in compatible and safe mode (``encrypt_type=aes``): ``msg_signature`` over the
   ``Encrypt`` element → 403; then wechatpy's ``WeChatCrypto`` decrypts it and
   the plaintext goes through step 2 again. The plaintext fields a compatible
   mode body also carries are never trusted: only the decrypted ones count.

The message's own ``CreateTime`` is never compared with the clock: WeChat
retries keep it, and a resident's phone clock is no signature.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from xml.parsers.expat import ExpatError

import xmltodict
from starlette.datastructures import QueryParams
from wechatpy.crypto import WeChatCrypto

__all__ = ["CallbackError", "Envelope", "WeChatCallback", "parse_xml", "signature"]

# CDATA is the only "<!" a WeChat message ever contains.
_DECLARATION = re.compile(rb"<!(?!\[CDATA\[)")


class CallbackError(Exception):
    """The request is refused: ``status`` 403 (not from WeChat) or 400 (malformed)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def signature(*parts: str) -> str:
    """WeChat's signature: SHA-1 of the parts sorted and joined."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def parse_xml(raw: bytes) -> dict[str, Any]:
    """The ``<xml>`` element as a dict; CallbackError(400) for anything else."""
    if not raw.strip():
        raise CallbackError(400, "empty body")
    if _DECLARATION.search(raw):
        raise CallbackError(400, "DOCTYPE, entity or other declarations are not accepted")
    try:
        text = raw.decode("utf-8")
        parsed = xmltodict.parse(text, disable_entities=True)
    except (UnicodeDecodeError, ValueError, ExpatError) as exc:
        raise CallbackError(400, f"not a WeChat XML message: {type(exc).__name__}") from exc
    root = parsed.get("xml") if isinstance(parsed, dict) else None
    if not isinstance(root, dict):
        raise CallbackError(400, "not a WeChat XML message: no <xml> element")
    return root


def text_field(fields: dict[str, Any], name: str) -> str:
    """A plain text element, or "" when missing, empty or nested."""
    value = fields.get(name)
    return value.strip() if isinstance(value, str) else ""


@dataclass(frozen=True)
class Envelope:
    """A verified message: its fields, the plaintext XML and how to answer it."""

    fields: dict[str, Any]
    xml: str
    encrypted: bool
    nonce: str
    timestamp: str


class WeChatCallback:
    """Verifies and opens what WeChat sends to the callback URL."""

    def __init__(
        self, token: str, app_id: str, aes_key: str = "", *, window_seconds: float = 300
    ) -> None:
        self.token = token
        self.window_seconds = window_seconds
        self.crypto = WeChatCrypto(token, aes_key, app_id) if aes_key else None

    def verify_query(self, query: QueryParams, now: datetime) -> tuple[str, str]:
        """The signed ``timestamp`` and ``nonce``; CallbackError(403) unless WeChat signed them."""
        given = query.get("signature", "")
        timestamp = query.get("timestamp", "")
        nonce = query.get("nonce", "")
        if not given or not timestamp or not _same(given, signature(self.token, timestamp, nonce)):
            raise CallbackError(403, "bad signature")
        if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
            raise CallbackError(403, "bad timestamp")
        if abs(int(timestamp) - now.timestamp()) > self.window_seconds:
            raise CallbackError(403, "timestamp outside the accepted window")
        return timestamp, nonce

    def open(self, query: QueryParams, raw: bytes, now: datetime) -> Envelope:
        """The message of a POST, verified and decrypted."""
        timestamp, nonce = self.verify_query(query, now)
        outer = parse_xml(raw)
        encrypted = query.get("encrypt_type", "raw").lower() == "aes" and self.crypto is not None
        if not encrypted:
            return Envelope(outer, raw.decode("utf-8"), False, nonce, timestamp)
        assert self.crypto is not None
        encrypt = text_field(outer, "Encrypt")
        given = query.get("msg_signature", "")
        expected = signature(self.token, timestamp, nonce, encrypt)
        if not encrypt or not given or not _same(given, expected):
            raise CallbackError(403, "bad msg_signature")
        try:
            plain: str = self.crypto.decrypt_message({"Encrypt": encrypt}, given, timestamp, nonce)
        except Exception as exc:  # bad base64, padding, length or app id: not a WeChat message
            raise CallbackError(400, f"cannot decrypt: {type(exc).__name__}") from exc
        fields = parse_xml(plain.encode("utf-8"))
        return Envelope(fields, plain, True, nonce, timestamp)

    def seal(self, reply_xml: str, envelope: Envelope) -> str:
        """A passive reply as WeChat expects it: encrypted when the message was."""
        if not envelope.encrypted or self.crypto is None:
            return reply_xml
        sealed: str = self.crypto.encrypt_message(reply_xml, envelope.nonce, envelope.timestamp)
        return sealed
