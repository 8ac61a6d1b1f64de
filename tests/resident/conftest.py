"""A resident on the web chat, talking to the running service over HTTP."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.support import Clock, Service, rows, run_service

__all__ = ["Clock", "Resident", "Service", "rows", "run_service"]


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
