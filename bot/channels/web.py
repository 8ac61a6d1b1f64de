"""The web chat: a JSON API, a server-sent event stream, and the page itself.

Anonymous residents: ``POST /api/chat/session`` hands out a token that the
server signed (``<nonce>.<HMAC of the nonce>``), so a made-up string is not
a resident. The resident's id is a hash of the token, so the token alone
proves who is asking and the database never stores it. The signing key is
kept in the database, so tokens outlive a restart.

Routes only parse, validate and pass the message to the dialog engine;
errors are raised as ``HTTPException`` and rendered as ``{"error": …}`` by
the app. Photos and voice messages are uploaded first (kept under their
content hash) and then sent as a message that names the ref; a message may
only name a file its sender uploaded.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from common import jsontext
from common.messages import Attachment, Inbound, Location
from common.outbox import Delivered, DeliveryResult, Destination, OutboxEntry
from dialogs import Sent, StoredMessage

from ..bodies import read_body
from ..runtime import runtime_of
from .base import ChannelAdapter

if TYPE_CHECKING:
    from ..runtime import Runtime

__all__ = ["WebChannel"]

_MAX_BODY = 16_384
_MAX_TEXT = 2000
_HEARTBEAT_SECONDS = 15.0
_TOKEN_KEY = "web-token-key"
# 24 random bytes and a SHA-256 HMAC, both URL-safe base64 without padding.
_TOKEN_SHAPE = re.compile(r"([A-Za-z0-9_-]{32})\.([A-Za-z0-9_-]{43})")
_KNOWN_TOKENS = 50_000  # tokens recognised lately, not checked again (see ``valid``)
_EVENT_ID = re.compile(r"[0-9]{1,18}")  # fits a 64-bit database integer
_BAD_TOKEN = "missing or malformed token: POST /api/chat/session first"


def user_for_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:32]


# -- tokens -------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class _TokenSigner:
    """Issues tokens and recognises its own: only the server can make a valid one."""

    def __init__(self, key: bytes) -> None:
        self._key = key
        self._known: set[str] = set()

    def issue(self) -> str:
        nonce = secrets.token_urlsafe(24)
        return f"{nonce}.{self._mac(nonce)}"

    def valid(self, token: str) -> bool:
        """A resident sends a dozen messages with one token: a token found valid is
        remembered, and only tokens not seen lately cost an HMAC."""
        if token in self._known:
            return True
        shape = _TOKEN_SHAPE.fullmatch(token)
        if shape is None:
            return False
        nonce, mac = shape.groups()
        # Constant time, so response timing reveals nothing about the right MAC.
        if not hmac.compare_digest(mac.encode("ascii"), self._mac(nonce).encode("ascii")):
            return False
        if len(self._known) >= _KNOWN_TOKENS:
            self._known.clear()
        self._known.add(token)
        return True

    def _mac(self, nonce: str) -> str:
        return _b64(hmac.new(self._key, nonce.encode("ascii"), hashlib.sha256).digest())


# -- uploads ------------------------------------------------------------------

_HEIF_BRANDS = {b"heic", b"heix", b"mif1", b"msf1"}


def _ftyp_brands(data: bytes) -> set[bytes]:
    """The major and compatible brands of an ISO media file's leading ``ftyp`` box."""
    if data[4:8] != b"ftyp":
        return set()
    end = min(int.from_bytes(data[0:4], "big"), len(data))
    compatible = {data[i : i + 4] for i in range(16, end - 3, 4)}
    return {data[8:12]} | compatible


def _photo_extension(data: bytes) -> str | None:
    """The file's real type, from its first bytes: a photo named .jpg may still be a program."""
    if data.startswith(b"\xff\xd8\xff"):
        return ".jpg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return ".png"
    if data[0:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ".webp"
    if _ftyp_brands(data) & _HEIF_BRANDS:
        return ".heic"
    return None


def _voice_extension(data: bytes) -> str | None:
    if data.startswith(b"\x1a\x45\xdf\xa3"):  # EBML: WebM, what Chrome records
        return ".webm"
    if data.startswith(b"OggS"):
        return ".ogg"
    if data[0:4] == b"RIFF" and data[8:12] == b"WAVE":
        return ".wav"
    if data.startswith(b"ID3") or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return ".mp3"  # a tag, or straight into an MPEG audio frame
    brands = _ftyp_brands(data)
    if brands and not brands & _HEIF_BRANDS:  # what Safari records
        return ".m4a"
    return None


@dataclass(frozen=True)
class _Upload:
    """One kind of file residents may upload, and how to recognise it."""

    kind: Literal["photo", "voice"]
    path: str
    types: tuple[str, ...]  # accepted Content-Types
    limit: int
    sniff: Callable[[bytes], str | None]  # the extension, or None when it is not such a file
    ref: re.Pattern[str]


_PHOTO = _Upload(
    kind="photo",
    path="/api/chat/photos",
    types=("image/jpeg", "image/png", "image/webp", "image/heic"),
    limit=8 * 1024 * 1024,
    sniff=_photo_extension,
    ref=re.compile(r"[0-9a-f]{64}\.(jpg|png|webp|heic)"),
)
_VOICE = _Upload(
    kind="voice",
    path="/api/chat/voice",
    types=("audio/webm", "audio/ogg", "audio/mp4", "audio/mpeg", "audio/wav"),
    limit=4 * 1024 * 1024,
    sniff=_voice_extension,
    ref=re.compile(r"[0-9a-f]{64}\.(webm|ogg|wav|mp3|m4a)"),
)
_UPLOADS: dict[str, _Upload] = {u.kind: u for u in (_PHOTO, _VOICE)}


def _save(path: Path, data: bytes) -> None:
    """Write once: the name is the content hash, so an existing file is the same content."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    # A name of its own, so two uploads of the same file at once do not collide.
    partial = path.with_name(f"{path.name}.{secrets.token_hex(4)}.part")
    partial.write_bytes(data)
    partial.replace(path)


# -- request bodies -----------------------------------------------------------


def _json_body(raw: bytes) -> Any:
    try:
        return jsontext.loads(raw)  # orjson refuses lone surrogates: its strings are UTF-8
    except ValueError:
        # The standard library also reads JSON that escapes a lone surrogate, which
        # orjson refuses: _require_utf8 then says what is wrong with it.
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError) as exc:  # RecursionError: "[[[[…" too deep
            raise HTTPException(400, "body is not valid JSON") from exc
    _require_utf8(body)
    return body


def _require_utf8(body: Any) -> None:
    """JSON may escape a lone surrogate ("\\ud800"): a string no database can store."""
    pending = [body]
    while pending:  # a loop, not recursion: the nesting depth is the client's choice
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise HTTPException(400, "strings must be valid Unicode text") from exc


# -- messages -----------------------------------------------------------------

_MESSAGE_KINDS = ("text", "choice", "location", "photo", "voice", "start")


def _parse_message(body: Any, user_id: str) -> Inbound:
    """The resident's message; the body is parsed JSON whose strings are valid Unicode."""
    if not isinstance(body, dict):
        raise HTTPException(400, "body must be a JSON object")
    client_id = body.get("id")
    if client_id is not None and (not isinstance(client_id, str) or not 0 < len(client_id) <= 64):
        raise HTTPException(400, "'id' must be a string of 1-64 characters")
    kinds = [k for k in _MESSAGE_KINDS if k in body]
    if len(kinds) != 1:
        raise HTTPException(400, f"send exactly one of {', '.join(map(repr, _MESSAGE_KINDS))}")
    kind = kinds[0]
    fields = _FIELD_PARSERS[kind](body[kind], kind)
    return Inbound(channel="web", user_id=user_id, platform_msg_id=client_id, **fields)


def _text(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, str) or not value.strip():
        raise HTTPException(400, "'text' must be a non-empty string")
    if len(value) > _MAX_TEXT:
        raise HTTPException(400, f"'text' is longer than {_MAX_TEXT} characters")
    return {"kind": "text", "text": value}


def _start(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, str) or len(value) > 32:
        raise HTTPException(400, "'start' must be a region code string (or empty)")
    return {"kind": "start", "payload": value.strip()}


def _choice(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, str) or not 0 < len(value) <= 200:
        raise HTTPException(400, "'choice' must be the payload string of a choice")
    return {"kind": "choice", "payload": value}


def _file(value: Any, name: str) -> dict[str, Any]:
    upload = _UPLOADS[name]
    if not isinstance(value, str) or not upload.ref.fullmatch(value):
        raise HTTPException(400, f"'{name}' must be a ref from POST {upload.path}")
    return {"kind": "attachment", "attachments": (Attachment(upload.kind, value),)}


def _coordinate(value: Any, bound: int) -> float:
    # bool is an int in Python, but true is no latitude.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise HTTPException(400, "'location' needs numeric 'lat' and 'lon'")
    if not -bound <= value <= bound:  # NaN and infinities fail this too
        raise HTTPException(400, "'location' is outside the valid range")
    return float(value)


def _location(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise HTTPException(400, "'location' must be an object with 'lat' and 'lon'")
    lat, lon = _coordinate(value.get("lat"), 90), _coordinate(value.get("lon"), 180)
    return {"kind": "location", "location": Location(lat, lon)}


_FIELD_PARSERS: dict[str, Callable[[Any, str], dict[str, Any]]] = {
    "text": _text,
    "start": _start,
    "choice": _choice,
    "photo": _file,
    "voice": _file,
    "location": _location,
}


# -- history ------------------------------------------------------------------

_ATTACHMENT_LABELS = {"photo": "📷 照片", "voice": "🎤 语音"}


def _history(stored: Sequence[StoredMessage]) -> list[dict[str, Any]]:
    """The conversation as the resident saw it: what they tapped, not the payload codes.

    Bot items keep their outbox id; resident items get ``"in-<inbound id>"``.
    Opening the chat (a ``start`` message) is not something the resident said.
    """
    items: list[dict[str, Any]] = []
    bot_bodies: list[dict[str, Any]] = []
    for m in stored:
        if m.direction == "out":
            bot_bodies.append(m.body)
            items.append({"id": m.id, "from": "bot", **m.body, "at": m.at.isoformat()})
        elif m.body.get("kind") != "start":
            items.append(
                {
                    "id": f"in-{m.id}",
                    "from": "resident",
                    "kind": m.body.get("kind"),
                    "text": _resident_label(m.body, bot_bodies),
                    "at": m.at.isoformat(),
                }
            )
    return items


def _resident_label(body: dict[str, Any], bot_bodies: list[dict[str, Any]]) -> str:
    kind = body.get("kind")
    if kind == "location":
        return "📍 位置"
    if kind == "attachment":
        attachments = body.get("attachments") or [{}]
        return _ATTACHMENT_LABELS.get(attachments[0].get("kind", ""), "📎 文件")
    if kind == "choice":
        return _tapped_label(str(body.get("payload", "")), bot_bodies)
    return str(body.get("text", ""))


def _tapped_label(payload: str, bot_bodies: list[dict[str, Any]]) -> str:
    """The label of the button the resident tapped: the newest offer of that payload."""
    for bot in reversed(bot_bodies):
        for choice in bot.get("choices", ()):
            if choice.get("payload") == payload:
                return str(choice.get("label", ""))
    return "（已选择）"  # the offer is gone from the transcript; never show the code


# -- the channel --------------------------------------------------------------


class _Json(JSONResponse):
    """The replies to a message, encoded in C (see common.jsontext)."""

    def render(self, content: Any) -> bytes:
        return jsontext.dumps_bytes(content)


def _sent_json(sent: Sent) -> dict[str, Any]:
    return {"id": sent.id, **sent.message.to_json()}


def _after(request: Request) -> int:
    raw = request.headers.get("last-event-id") or request.query_params.get("after") or "0"
    if not _EVENT_ID.fullmatch(raw.strip()):
        raise HTTPException(400, "'after' must be a message id (a whole number)")
    return int(raw)


class WebChannel(ChannelAdapter):
    """The resident web chat. Delivery is storage itself: the page's event stream
    reads every message for the resident from the database, woken on commit."""

    name = "web"

    def __init__(self) -> None:
        self._signer: _TokenSigner | None = None

    async def start(self, runtime: Runtime) -> None:
        # Asked once: the first start stores a new key, later starts find it.
        key = await runtime.store.service_secret(
            _TOKEN_KEY, secrets.token_urlsafe(32), runtime.clock()
        )
        self._signer = _TokenSigner(key.encode())

    async def send(self, entry: OutboxEntry) -> DeliveryResult:
        return Delivered()

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/api/chat/messages", self.send_message, methods=["POST"]),
            Route("/api/chat/session", self.create_session, methods=["POST"]),
            Route("/api/chat/messages", self.history, methods=["GET"]),
            Route("/api/chat/events", self.events, methods=["GET"]),
            Route(_PHOTO.path, self.upload_photo, methods=["POST"]),
            Route(_VOICE.path, self.upload_voice, methods=["POST"]),
        ]

    @property
    def signer(self) -> _TokenSigner:
        if self._signer is None:
            raise RuntimeError("the web channel serves requests only after start()")
        return self._signer

    def _user(self, request: Request, *, allow_query: bool = False) -> str:
        """The resident the token names; 401 unless this server issued the token."""
        header = request.headers.get("authorization", "")
        token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
        if not token and allow_query:  # EventSource cannot send headers
            token = request.query_params.get("token", "")
        if not self.signer.valid(token):
            raise HTTPException(401, _BAD_TOKEN)
        return user_for_token(token)

    async def create_session(self, request: Request) -> Response:
        return _Json({"token": self.signer.issue()}, status_code=201)

    async def upload_photo(self, request: Request) -> Response:
        return await self._upload(request, _PHOTO)

    async def upload_voice(self, request: Request) -> Response:
        return await self._upload(request, _VOICE)

    async def _upload(self, request: Request, upload: _Upload) -> Response:
        """Keep the file under its content hash; the ref then goes into a message."""
        user_id = self._user(request)
        declared = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if declared not in upload.types:
            raise HTTPException(415, f"a {upload.kind} must be one of {', '.join(upload.types)}")
        data = await read_body(request, upload.limit, upload.kind)
        if not data:
            raise HTTPException(400, f"empty {upload.kind}")
        extension = upload.sniff(data)
        if extension is None:
            raise HTTPException(415, f"the content is not a {upload.kind} of a supported type")
        ref = hashlib.sha256(data).hexdigest() + extension
        rt = runtime_of(request)
        await asyncio.to_thread(_save, rt.settings.attachments_dir / ref, data)
        await rt.store.record_upload(self.name, user_id, ref, upload.kind, len(data), rt.clock())
        return _Json({"ref": ref}, status_code=201)

    async def send_message(self, request: Request) -> Response:
        user_id = self._user(request)
        body = _json_body(await read_body(request, _MAX_BODY, "body"))
        msg = _parse_message(body, user_id)
        rt = runtime_of(request)
        for attachment in msg.attachments:
            if not await rt.store.uploaded_by(self.name, user_id, attachment.ref):
                upload = _UPLOADS[attachment.kind]
                raise HTTPException(400, f"'{upload.kind}' was not uploaded by you: {upload.path}")
        replies = await rt.engine.handle(msg)
        return _Json({"replies": [_sent_json(s) for s in replies]})

    async def history(self, request: Request) -> Response:
        user_id = self._user(request)
        stored = await runtime_of(request).store.transcript(self.name, user_id)
        return _Json({"messages": _history(stored)})

    async def events(self, request: Request) -> Response:
        user_id = self._user(request, allow_query=True)
        after = _after(request)
        rt = runtime_of(request)
        topic = Destination(self.name, user_id).topic

        async def stream() -> AsyncIterator[str]:
            nonlocal after
            with rt.notifier.subscribe(topic) as wake:
                yield "retry: 3000\n\n"
                while True:
                    for m in await rt.store.outbound_after(self.name, user_id, after):
                        after = m.id
                        data = jsontext.dumps({"id": m.id, **m.body})
                        yield f"id: {m.id}\nevent: message\ndata: {data}\n\n"
                    if not await wake.wait(_HEARTBEAT_SECONDS):
                        yield ": keep-alive\n\n"

        return StreamingResponse(
            stream(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
