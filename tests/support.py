"""A running service on 127.0.0.1 with a real SQLite file, for any test.

The app is the real Starlette app served by uvicorn on a free port; tests
speak to it over HTTP like the web page does, and read the database file
directly like an admin would.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import socket
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import uvicorn

from bot.app import create_app
from bot.channels import ChannelAdapter
from bot.config import Settings
from bot.http_protocol import OneWriteHttpProtocol
from bot.runtime import Runtime, open_runtime
from common.clock import ManualClock
from faq import FaqService

Clock = ManualClock  # frozen at 2026-11-22 10:00 Beijing time until a test advances it


@functools.cache
def _shipped() -> FaqService:
    """The shipped FAQ, read once for every test service that serves it as is (reading
    it takes a third of a second)."""
    shipped = FaqService()
    shipped.load()
    return shipped


def _shipped_faq(settings: Settings) -> FaqService | None:
    """None for an FAQ folder of a test's own, or one matched in a child process."""
    return None if settings.faq_dir is not None or settings.faq_match_process else _shipped()


@dataclass
class Service:
    base_url: str
    runtime: Runtime


@contextlib.asynccontextmanager
async def run_service(
    settings: Settings,
    clock: Callable[[], datetime],
    *,
    adapters: Sequence[ChannelAdapter] | None = None,
    background: bool = True,
    start_timeout: float = 30,
) -> AsyncIterator[Service]:
    """Serve the app over real HTTP on a free port until the block ends."""
    async with open_runtime(settings, clock=clock, faq=_shipped_faq(settings)) as runtime:
        app = create_app(settings, runtime, adapters=adapters, background=background)
        sock = socket.socket()
        # Without it every small response waits for the peer's delayed ACK (~40 ms).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind(("127.0.0.1", 0))  # bound once: no other process can take the port
        port = int(sock.getsockname()[1])
        config = uvicorn.Config(
            app,
            http=OneWriteHttpProtocol,  # as `minshi serve` does
            log_level="warning",
            lifespan="on",
            timeout_graceful_shutdown=1,  # open event streams never end by themselves
        )
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve(sockets=[sock]))
        try:
            async with asyncio.timeout(start_timeout):
                while not server.started:
                    if task.done():
                        task.result()
                        raise RuntimeError("the test server stopped before it started")
                    await asyncio.sleep(0.01)
            yield Service(f"http://127.0.0.1:{port}", runtime)
        finally:
            server.should_exit = True
            await task
            sock.close()


def rows(db_path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    """Read the database file directly, as an admin would."""
    with contextlib.closing(sqlite3.connect(db_path)) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute(sql, params)]
