"""A fake WeChat API server on 127.0.0.1: what the channel calls, with failures on demand.

Answers like api.weixin.qq.com: HTTP 200 with ``errcode`` for every refusal.
Tokens are handed out by ``/cgi-bin/token`` and checked on every call;
``expire_tokens()`` makes the current ones answer 42001. ``fail(path, …)``
queues refusals for the next calls to an endpoint: an errcode (``-1``,
``40001``, ``45047``…) or ``"502"`` for an HTTP error. ``close_window(openid)``
answers 45015 to every customer-service message for that resident until
``open_window``. Tests await what the server received with ``until``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

APP_ID = "wxb11529c136998cb6"
APP_SECRET = "fake-app-secret"


@dataclass
class FakeWeChat:
    app_id: str = APP_ID
    app_secret: str = APP_SECRET
    tokens_issued: list[str] = field(default_factory=list)
    valid_tokens: set[str] = field(default_factory=set)
    expired_tokens: set[str] = field(default_factory=set)
    sent: list[dict[str, Any]] = field(default_factory=list)  # accepted custom/send bodies
    refused: list[tuple[str, int | str]] = field(default_factory=list)  # (path, errcode)
    templates: list[dict[str, Any]] = field(default_factory=list)
    menus: list[dict[str, Any]] = field(default_factory=list)
    qrcodes: list[dict[str, Any]] = field(default_factory=list)
    uploads: list[tuple[str, int]] = field(default_factory=list)  # (type, body size)
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    media_gets: list[str] = field(default_factory=list)
    closed_windows: set[str] = field(default_factory=set)
    url: str = ""
    _failures: dict[str, list[int | str]] = field(default_factory=dict)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    # -- controls --------------------------------------------------------------

    def fail(self, path: str, *answers: int | str) -> None:
        """The next calls to ``path`` (e.g. "/cgi-bin/message/custom/send") get these."""
        self._failures.setdefault(path, []).extend(answers)

    def expire_tokens(self) -> None:
        self.expired_tokens |= self.valid_tokens
        self.valid_tokens.clear()

    def close_window(self, openid: str) -> None:
        self.closed_windows.add(openid)

    def open_window(self, openid: str) -> None:
        self.closed_windows.discard(openid)

    def texts_to(self, openid: str) -> list[str]:
        return [m["text"]["content"] for m in self.sent if m["touser"] == openid]

    async def until(self, condition: Callable[[], bool], timeout: float = 10) -> None:
        """Wait until the server has received what ``condition`` looks for."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(condition), timeout)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # -- the API -----------------------------------------------------------------

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/cgi-bin/token", self.token, methods=["GET"]),
                Route("/cgi-bin/message/custom/send", self.custom_send, methods=["POST"]),
                Route("/cgi-bin/message/template/send", self.template_send, methods=["POST"]),
                Route("/cgi-bin/media/get", self.media_get, methods=["GET"]),
                Route("/cgi-bin/media/upload", self.media_upload, methods=["POST"]),
                Route("/cgi-bin/qrcode/create", self.qrcode_create, methods=["POST"]),
                Route("/cgi-bin/menu/create", self.menu_create, methods=["POST"]),
            ]
        )

    async def token(self, request: Request) -> Response:
        q = request.query_params
        if q.get("grant_type") != "client_credential" or q.get("appid") != self.app_id:
            return _error(40013, "invalid appid")
        if q.get("secret") != self.app_secret:
            return _error(40125, "invalid appsecret")
        token = f"TOKEN-{len(self.tokens_issued) + 1}-" + "x" * 100
        self.tokens_issued.append(token)
        self.valid_tokens.add(token)
        await self._notify()
        return JSONResponse({"access_token": token, "expires_in": 7200})

    async def _refusal(self, request: Request) -> Response | None:
        """A scripted failure or a token problem for this call, if any."""
        path = request.url.path
        token = request.query_params.get("access_token", "")
        code: int | str | None = None
        if token in self.expired_tokens:
            code = 42001
        elif token not in self.valid_tokens:
            code = 40001
        elif self._failures.get(path):
            code = self._failures[path].pop(0)
        if code is None:
            return None
        self.refused.append((path, code))
        await self._notify()
        if isinstance(code, str):
            return Response("bad gateway", status_code=int(code))
        return _error(code, "scripted")

    async def _json(self, request: Request) -> dict[str, Any]:
        raw = await request.body()
        assert b"\\u" not in raw, "WeChat refuses \\uXXXX escapes (40033)"
        body: dict[str, Any] = json.loads(raw.decode("utf-8"))
        return body

    async def custom_send(self, request: Request) -> Response:
        refusal = await self._refusal(request)
        if refusal is not None:
            return refusal
        body = await self._json(request)
        if body["touser"] in self.closed_windows:
            self.refused.append((request.url.path, 45015))
            await self._notify()
            return _error(45015, "response out of time limit or subscription is canceled")
        assert len(body["text"]["content"].encode("utf-8")) <= 2048
        self.sent.append(body)
        await self._notify()
        return _error(0, "ok")

    async def template_send(self, request: Request) -> Response:
        refusal = await self._refusal(request)
        if refusal is not None:
            return refusal
        self.templates.append(await self._json(request))
        await self._notify()
        return JSONResponse({"errcode": 0, "errmsg": "ok", "msgid": 200228332})

    async def media_get(self, request: Request) -> Response:
        refusal = await self._refusal(request)
        if refusal is not None:
            return refusal
        media_id = request.query_params.get("media_id", "")
        self.media_gets.append(media_id)
        await self._notify()
        if media_id not in self.media:
            return _error(40007, "invalid media_id")
        data, content_type = self.media[media_id]
        return Response(data, media_type=content_type)

    async def media_upload(self, request: Request) -> Response:
        refusal = await self._refusal(request)
        if refusal is not None:
            return refusal
        raw = await request.body()
        assert b'name="media"' in raw
        kind = request.query_params.get("type", "")
        self.uploads.append((kind, len(raw)))
        await self._notify()
        return JSONResponse({"type": kind, "media_id": f"UPLOADED-{len(self.uploads)}"})

    async def qrcode_create(self, request: Request) -> Response:
        refusal = await self._refusal(request)
        if refusal is not None:
            return refusal
        body = await self._json(request)
        self.qrcodes.append(body)
        answer: dict[str, Any] = {
            "ticket": "gQH47joAAAAAAAAAASxodHRwOi8vd2VpeGluLnFxLmNvbS9xL2taZ2Z3TVRtNzJXV1Brb3Zh"
            "YmJJAAIEZ23sUwMEmm3sUw==",
            "url": "http://weixin.qq.com/q/kZgfwMTm72WWPkovabbI",
        }
        if "expire_seconds" in body:
            answer["expire_seconds"] = body["expire_seconds"]
        return JSONResponse(answer)

    async def menu_create(self, request: Request) -> Response:
        refusal = await self._refusal(request)
        if refusal is not None:
            return refusal
        self.menus.append(await self._json(request))
        await self._notify()
        return _error(0, "ok")


def _error(code: int, message: str) -> JSONResponse:
    return JSONResponse({"errcode": code, "errmsg": message})


@contextlib.asynccontextmanager
async def serve_fake(fake: FakeWeChat) -> AsyncIterator[FakeWeChat]:
    """Serve ``fake`` over HTTP on a free port of 127.0.0.1 until the block ends."""
    sock = socket.socket()
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(fake.app(), log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(10):
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.01)
        fake.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        yield fake
    finally:
        server.should_exit = True
        await task
        sock.close()
