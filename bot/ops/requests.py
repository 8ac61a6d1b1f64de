"""Request ids and request timing, as a pure ASGI middleware.

Pure ASGI (not Starlette's ``BaseHTTPMiddleware``, which buffers and breaks
event streams). Each HTTP request gets an id — the caller's ``X-Request-ID``
when it is a sane token (a reverse proxy's), else a new one — echoed in the
response and put into every log line written while answering it. The time
to answer goes to the ``http_request_seconds`` histogram, per channel; event
streams stay open for minutes and are left out.
"""

from __future__ import annotations

import itertools
import os
import re
import time
from collections.abc import Iterable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from common.metrics import HTTP_SECONDS

from .logs import REQUEST_ID

__all__ = ["RequestContext", "channel_of"]

# New ids: a random prefix for this process and a serial number (a uuid4 each cost
# more than the rest of this middleware).
_PREFIX = os.urandom(8).hex()
_SERIAL = itertools.count(1)
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_CHANNELS = (
    ("/api/chat/", "web"),
    ("/chat", "web"),
    ("/telegram/", "telegram"),
    ("/wechat", "wechat"),
    ("/console", "console"),
)


def channel_of(path: str) -> str:
    """The part of the service a path belongs to (a bounded label)."""
    return next((name for prefix, name in _CHANNELS if path.startswith(prefix)), "other")


def _given_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            return text if _SANE_ID.fullmatch(text) else None
    return None


class RequestContext:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _given_id(scope) or f"{_PREFIX}{next(_SERIAL):016x}"
        # Each request runs in its own task: the id stays set for the server's own
        # log line about an exception that escapes the app, and goes with the task.
        REQUEST_ID.set(request_id)
        started = time.perf_counter()
        status = 500
        stream = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, stream
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = message.get("headers", ())
                stream = _is_event_stream(headers)
                # A new list: the response's own stays as it was.
                message["headers"] = [*headers, (b"x-request-id", request_id.encode("latin-1"))]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            metrics = _metrics(scope)
            if metrics is not None and not stream:
                metrics.observe(
                    HTTP_SECONDS,
                    time.perf_counter() - started,
                    channel=channel_of(scope.get("path", "")),
                    status=f"{status // 100}xx",
                )


def _is_event_stream(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    # The raw header list as the response made it: one pass, no header object.
    for name, value in headers:
        if name.lower() == b"content-type":
            return value.startswith(b"text/event-stream")
    return False


def _metrics(scope: Scope) -> Any:
    """The runtime's metrics, from the lifespan state (absent before start-up)."""
    runtime = scope.get("state", {}).get("runtime")
    return getattr(runtime, "metrics", None)
