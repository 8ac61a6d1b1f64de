"""A small webhook receiver on 127.0.0.1: checks signatures, records what came,
and fails or hangs on request when a test asks it to."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


@dataclass
class Received:
    path: str
    delivery: str
    body: dict[str, Any]


@dataclass
class Receiver:
    secrets: dict[str, str]  # path → secret
    base_url: str = ""
    received: list[Received] = field(default_factory=list)
    bad_signatures: int = 0
    fail_next: int = 0  # answer 500 to this many requests (recorded as failures, not received)
    fail_status: int = 500
    failures: int = 0
    hang_next: bool = False  # accept the next one, then never answer (the sender dies)
    answer_after: float = 0.0  # seconds between taking a call and answering it (a slow system)
    hung: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def events(self, path: str) -> list[tuple[str, str]]:
        return [(r.body["case_number"], r.body["event"]) for r in self.received if r.path == path]

    async def handle(self, request: Request) -> Response:
        path = request.path_params["name"]
        raw = await request.body()
        timestamp = request.headers["X-Minshi-Timestamp"]
        expected = hmac.new(
            self.secrets[path].encode(), f"{timestamp}.".encode() + raw, hashlib.sha256
        ).hexdigest()
        if not hmac.compare_digest(request.headers["X-Minshi-Signature"], f"sha256={expected}"):
            self.bad_signatures += 1
            return JSONResponse({"error": "bad signature"}, status_code=401)
        if self.fail_next:
            self.fail_next -= 1
            self.failures += 1
            headers = {"Retry-After": "30"} if self.fail_status == 429 else {}
            return JSONResponse({"error": "busy"}, status_code=self.fail_status, headers=headers)
        self.received.append(Received(path, request.headers["X-Minshi-Delivery"], json.loads(raw)))
        if self.answer_after:
            await asyncio.sleep(self.answer_after)
        if self.hang_next:
            self.hang_next = False
            self.hung.set()
            await self.release.wait()
        return JSONResponse({"ok": True})


@contextlib.asynccontextmanager
async def run_receiver(secrets: dict[str, str], port: int = 0) -> AsyncIterator[Receiver]:
    """A receiver on a free port, or on ``port`` (a system coming back where it was)."""
    receiver = Receiver(secrets)
    app = Starlette(routes=[Route("/hook/{name}", receiver.handle, methods=["POST"])])
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    receiver.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1)
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(10):
            while not server.started:
                await asyncio.sleep(0.01)
        yield receiver
    finally:
        receiver.release.set()
        server.should_exit = True
        await task
        sock.close()
