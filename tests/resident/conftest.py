"""A running service on 127.0.0.1 and a resident who talks to it over HTTP.

The app is the real Starlette app served by uvicorn on a free port, with a
real SQLite file in tmp_path; tests speak to it with httpx like the web page.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from bot.app import create_app
from bot.config import Settings
from bot.runtime import Runtime, open_runtime


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(db=tmp_path / "minshi.db", _env_file=None)  # type: ignore[call-arg]


class Clock:
    """The service's clock, frozen so deadlines can be asserted exactly."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)  # 10:00 in Beijing

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


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
            app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"
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


@pytest.fixture
async def service(settings: Settings, clock: Clock) -> AsyncIterator[Service]:
    async with run_service(settings, clock) as svc:
        yield svc


@dataclass
class Resident:
    """A resident on the web chat page: sends, reads replies, taps buttons."""

    client: httpx.AsyncClient
    token: str
    replies: list[dict[str, Any]] = field(default_factory=list)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def post(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        body.setdefault("id", uuid.uuid4().hex)
        r = await self.client.post("/api/chat/messages", json=body, headers=self.headers)
        assert r.status_code == 200, r.text
        self.replies = r.json()["replies"]
        return self.replies

    async def say(self, text: str) -> list[dict[str, Any]]:
        return await self.post({"text": text})

    async def tap(self, label: str) -> list[dict[str, Any]]:
        """Tap the button whose label contains ``label`` in the latest replies."""
        return await self.post({"choice": self.choice(label)})

    async def send_location(self, lat: float, lon: float) -> list[dict[str, Any]]:
        return await self.post({"location": {"lat": lat, "lon": lon}})

    def choice(self, label: str) -> str:
        for reply in reversed(self.replies):
            for c in reply["choices"]:
                if label in c["label"]:
                    return str(c["payload"])
        offered = [c["label"] for r in self.replies for c in r["choices"]]
        raise AssertionError(f"no button '{label}' among {offered}")

    @property
    def labels(self) -> list[str]:
        return [c["label"] for r in self.replies for c in r["choices"]]

    @property
    def text(self) -> str:
        """Everything the bot said in its latest answer, as one string."""
        return "\n".join(r["text"] for r in self.replies)


@pytest.fixture
async def new_resident(service: Service) -> AsyncIterator[Callable[[], Any]]:
    clients: list[httpx.AsyncClient] = []

    async def make() -> Resident:
        client = httpx.AsyncClient(base_url=service.base_url, trust_env=False, timeout=10)
        clients.append(client)
        r = await client.post("/api/chat/session")
        assert r.status_code == 201
        return Resident(client, r.json()["token"])

    yield make
    for c in clients:
        await c.aclose()


@pytest.fixture
async def resident(new_resident: Callable[[], Any]) -> Resident:
    return await new_resident()  # type: ignore[no-any-return]


def rows(db_path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    """Read the database file directly, as an admin would."""
    import sqlite3

    with contextlib.closing(sqlite3.connect(db_path)) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute(sql, params)]


def body_json(value: str) -> Any:
    return json.loads(value)
