"""The web chat: a JSON API, a server-sent event stream, and the page itself.

Anonymous residents: ``POST /api/chat/session`` hands out a random token;
the resident's id is a hash of it, so the token alone proves who is asking
and the database never stores it. Routes only parse, validate and pass the
message on; the dialog engine does the rest.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import re
import secrets
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from dialogs import Attachment, Inbound, Location, Sent

from .base import ChannelAdapter

if TYPE_CHECKING:
    from bot.runtime import Runtime

__all__ = ["WebChannel", "web_routes"]

_MAX_BODY = 16_384
_MAX_PHOTO = 8 * 1024 * 1024
_PHOTO_TYPES = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "image/heic": ".heic",
}
_PHOTO_REF = re.compile(r"^[0-9a-f]{64}\.(jpg|png|webp|heic)$")
_MAX_TEXT = 2000
_HEARTBEAT_SECONDS = 15.0


def user_for_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:32]


def _sent_json(sent: Sent) -> dict[str, Any]:
    return {"id": sent.id, **sent.message.to_json()}


class WebChannel(ChannelAdapter):
    """Wakes the event streams of a resident when a message is stored for them."""

    name = "web"

    def __init__(self) -> None:
        self._listeners: dict[str, set[asyncio.Event]] = defaultdict(set)

    async def deliver(self, user_id: str, messages: Sequence[Sent]) -> None:
        for event in self._listeners.get(user_id, ()):
            event.set()

    def listen(self, user_id: str) -> asyncio.Event:
        event = asyncio.Event()
        self._listeners[user_id].add(event)
        return event

    def unlisten(self, user_id: str, event: asyncio.Event) -> None:
        listeners = self._listeners.get(user_id)
        if listeners is not None:
            listeners.discard(event)
            if not listeners:
                del self._listeners[user_id]


class _BadRequest(Exception):
    def __init__(self, status: int, error: str) -> None:
        self.status, self.error = status, error


def _user(request: Request, *, allow_query: bool = False) -> str:
    header = request.headers.get("authorization", "")
    token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
    if not token and allow_query:  # EventSource cannot send headers
        token = request.query_params.get("token", "")
    if not (16 <= len(token) <= 128):
        raise _BadRequest(401, "missing or malformed token: POST /api/chat/session first")
    return user_for_token(token)


def _parse_message(body: Any, user_id: str) -> Inbound:
    if not isinstance(body, dict):
        raise _BadRequest(400, "body must be a JSON object")
    client_id = body.get("id")
    if client_id is not None and (not isinstance(client_id, str) or not 0 < len(client_id) <= 64):
        raise _BadRequest(400, "'id' must be a string of 1-64 characters")
    kinds = [k for k in ("text", "choice", "location", "photo") if k in body]
    if len(kinds) != 1:
        raise _BadRequest(400, "send exactly one of 'text', 'choice', 'location' or 'photo'")
    kind = kinds[0]
    common: dict[str, Any] = {"channel": "web", "user_id": user_id, "platform_msg_id": client_id}
    value = body[kind]
    if kind == "text":
        if not isinstance(value, str) or not value.strip():
            raise _BadRequest(400, "'text' must be a non-empty string")
        if len(value) > _MAX_TEXT:
            raise _BadRequest(400, f"'text' is longer than {_MAX_TEXT} characters")
        return Inbound(kind="text", text=value, **common)
    if kind == "choice":
        if not isinstance(value, str) or not 0 < len(value) <= 200:
            raise _BadRequest(400, "'choice' must be the payload string of a choice")
        return Inbound(kind="choice", payload=value, **common)
    if kind == "photo":
        if not isinstance(value, str) or not _PHOTO_REF.match(value):
            raise _BadRequest(400, "'photo' must be a ref from POST /api/chat/photos")
        return Inbound(kind="attachment", attachments=(Attachment("photo", value),), **common)
    if not isinstance(value, dict):
        raise _BadRequest(400, "'location' must be an object with 'lat' and 'lon'")
    try:
        lat, lon = float(value["lat"]), float(value["lon"])
    except (KeyError, TypeError, ValueError) as exc:
        raise _BadRequest(400, "'location' needs numeric 'lat' and 'lon'") from exc
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise _BadRequest(400, "'location' is outside the valid range")
    return Inbound(kind="location", location=Location(lat, lon), **common)


def _save(path: Path, data: bytes) -> None:
    """Write once: the name is the content hash, so an existing file is the same photo."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    partial.write_bytes(data)
    partial.replace(path)


def web_routes(runtime: Callable[[], Runtime], channel: WebChannel) -> list[Route]:
    """The API routes; ``runtime`` gives the parts opened by the app's lifespan."""

    async def upload_photo(request: Request) -> Response:
        """Keep a photo under its content hash; the ref then goes into a message."""
        try:
            _user(request)
            kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if kind not in _PHOTO_TYPES:
                raise _BadRequest(415, f"photos must be one of {', '.join(_PHOTO_TYPES)}")
            if int(request.headers.get("content-length") or 0) > _MAX_PHOTO:
                raise _BadRequest(413, f"photo larger than {_MAX_PHOTO} bytes")
            data = b""
            async for chunk in request.stream():
                data += chunk
                if len(data) > _MAX_PHOTO:
                    raise _BadRequest(413, f"photo larger than {_MAX_PHOTO} bytes")
            if not data:
                raise _BadRequest(400, "empty photo")
        except _BadRequest as bad:
            return JSONResponse({"error": bad.error}, status_code=bad.status)
        ref = hashlib.sha256(data).hexdigest() + _PHOTO_TYPES[kind]
        folder = runtime().settings.attachments_dir
        await asyncio.to_thread(_save, folder / ref, data)
        return JSONResponse({"ref": ref}, status_code=201)

    async def create_session(request: Request) -> Response:
        return JSONResponse({"token": secrets.token_urlsafe(24)}, status_code=201)

    async def send_message(request: Request) -> Response:
        try:
            user_id = _user(request)
            raw = await request.body()
            if len(raw) > _MAX_BODY:
                raise _BadRequest(413, f"body larger than {_MAX_BODY} bytes")
            try:
                body = json.loads(raw)
            except ValueError as exc:
                raise _BadRequest(400, "body is not valid JSON") from exc
            msg = _parse_message(body, user_id)
        except _BadRequest as bad:
            return JSONResponse({"error": bad.error}, status_code=bad.status)
        replies = await runtime().dispatcher.receive(msg)
        return JSONResponse({"replies": [_sent_json(s) for s in replies]})

    async def history(request: Request) -> Response:
        try:
            user_id = _user(request)
        except _BadRequest as bad:
            return JSONResponse({"error": bad.error}, status_code=bad.status)
        messages = []
        for m in await runtime().store.transcript("web", user_id):
            if m.direction == "out":
                item = {"id": m.id, "from": "bot", **m.body}
            else:
                label = m.body.get("text") or m.body.get("payload", "")
                if m.body.get("kind") == "location":
                    label = "📍 位置"
                elif m.body.get("kind") == "attachment":
                    label = "📷 照片"
                item = {"from": "resident", "text": label, "kind": m.body.get("kind")}
            messages.append(item | {"at": m.at.isoformat()})
        return JSONResponse({"messages": messages})

    async def events(request: Request) -> Response:
        try:
            user_id = _user(request, allow_query=True)
            after = int(
                request.headers.get("last-event-id") or request.query_params.get("after") or 0
            )
        except _BadRequest as bad:
            return JSONResponse({"error": bad.error}, status_code=bad.status)
        except ValueError:
            return JSONResponse({"error": "'after' must be an integer"}, status_code=400)

        store = runtime().store

        async def stream() -> AsyncIterator[str]:
            nonlocal after
            wake = channel.listen(user_id)
            try:
                yield "retry: 3000\n\n"
                while True:
                    wake.clear()
                    for m in await store.outbound_after("web", user_id, after):
                        after = m.id
                        data = json.dumps({"id": m.id, **m.body}, ensure_ascii=False)
                        yield f"id: {m.id}\nevent: message\ndata: {data}\n\n"
                    try:
                        await asyncio.wait_for(wake.wait(), _HEARTBEAT_SECONDS)
                    except TimeoutError:
                        yield ": keep-alive\n\n"
            finally:
                channel.unlisten(user_id, wake)

        return StreamingResponse(
            stream(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    return [
        Route("/api/chat/session", create_session, methods=["POST"]),
        Route("/api/chat/messages", send_message, methods=["POST"]),
        Route("/api/chat/messages", history, methods=["GET"]),
        Route("/api/chat/events", events, methods=["GET"]),
        Route("/api/chat/photos", upload_photo, methods=["POST"]),
    ]
