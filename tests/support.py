"""A running service on 127.0.0.1 with a real SQLite file, for any test.

The app is the real Starlette app served by uvicorn on a free port; tests
speak to it over HTTP like the web page does, and read the database file
directly like an admin would.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sqlite3
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvicorn

from bot.app import create_app
from bot.config import Settings
from bot.runtime import Runtime, open_runtime


class Clock:
    """The service's clock, frozen so deadlines can be asserted exactly."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)  # 10:00 in Beijing

    def __call__(self) -> datetime:
        return self.now


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Service:
    base_url: str
    runtime: Runtime


@contextlib.asynccontextmanager
async def run_service(settings: Settings, clock: Callable[[], datetime]) -> AsyncIterator[Service]:
    """Serve the app over real HTTP until the block ends."""
    async with open_runtime(settings, clock=clock) as runtime:
        port = _free_port()
        app = create_app(settings, runtime)
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="on",
            timeout_graceful_shutdown=1,  # open event streams never end by themselves
        )
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        try:
            yield Service(f"http://127.0.0.1:{port}", runtime)
        finally:
            server.should_exit = True
            await task


def rows(db_path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    """Read the database file directly, as an admin would."""
    with contextlib.closing(sqlite3.connect(db_path)) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute(sql, params)]
