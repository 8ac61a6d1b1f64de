"""A small crowd for ``minshi serve`` run as a real process: residents on the web chat
and a mediator on the console API, each riding out restarts of the service.

``ServiceProcess`` starts ``minshi serve`` on a free port with its own SQLite
file and can kill it with SIGKILL and start it again on the same database.
``CrowdResident`` and ``CrowdMediator`` speak plain HTTP and keep what the
service acknowledged (a 2xx answer), so a test can check afterwards that
nothing acknowledged was lost or done twice. A request cut off by a kill is
sent again as a person (or the chat page) would: the same message id for
residents; for a mediator's reply, only after looking whether it arrived.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.chat import ChatDriver

__all__ = ["CrowdMediator", "CrowdResident", "ServiceProcess", "resilient"]

ROOT = Path(__file__).resolve().parents[1]
CASE_NUMBER = re.compile(r"MS\d{6}-\d{4}")
_SERVE = (sys.executable, "-m", "bot.cli", "serve")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServiceProcess:
    """``minshi serve`` as its own process, on one port and one database file."""

    def __init__(self, workdir: Path, db: Path, env: dict[str, str] | None = None) -> None:
        self.workdir = workdir
        self.db = db
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / "serve.log"
        clean = {k: v for k, v in os.environ.items() if not k.startswith("MINSHI_")}
        self.env = {
            **clean,
            "PYTHONPATH": str(ROOT),
            "MINSHI_ATTACHMENTS_DIR": str(workdir / "attachments"),
            "MINSHI_LOG_LEVEL": "WARNING",
            "MINSHI_FAQ_MATCH_PROCESS": "false",  # as in tests/conftest.py
            **(env or {}),
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.kills = 0
        self.start_seconds: list[float] = []  # launch to healthy, each start

    async def start(self, timeout: float = 60) -> None:
        """Start and wait until /healthz answers (in the workdir: no stray .env is read)."""
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [*_SERVE, "--port", str(self.port), "--db", str(self.db)],
                cwd=self.workdir,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.starts += 1
        began = time.monotonic()
        deadline = began + timeout
        async with httpx.AsyncClient(base_url=self.base_url, trust_env=False, timeout=2) as c:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"minshi serve exited; see {self.log}")
                try:
                    if (await c.get("/healthz")).status_code == 200:
                        self.start_seconds.append(time.monotonic() - began)
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"minshi serve did not become healthy; see {self.log}")
                await asyncio.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as when the power goes."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.kills += 1

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


async def resilient(
    send: Callable[[], Awaitable[httpx.Response]], *, patience: float = 60
) -> httpx.Response:
    """Send until the service answers: a request cut off or refused while it is down
    (or starting) is sent again. The caller decides what a repeat may do."""
    deadline = time.monotonic() + patience
    while True:
        try:
            return await send()
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)


class CrowdResident(ChatDriver):
    """A resident on the web chat: every message has an id, and a message cut off by
    a restart is sent again with the same id, as the page does."""

    def __init__(self, client: httpx.AsyncClient, name: str) -> None:
        super().__init__()
        self.client = client
        self.name = name
        self.token = ""
        self.acknowledged: list[str] = []  # message ids the service answered with 200
        self.case_number: str | None = None
        self._sent = 0

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def open(self) -> None:
        r = await resilient(lambda: self.client.post("/api/chat/session"))
        assert r.status_code == 201, r.text
        self.token = r.json()["token"]

    async def _send(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        self._sent += 1
        body["id"] = f"{self.name}-{self._sent}"
        r = await resilient(
            lambda: self.client.post("/api/chat/messages", json=body, headers=self.headers)
        )
        assert r.status_code == 200, f"{self.name} {body}: {r.status_code} {r.text}"
        self.acknowledged.append(body["id"])
        replies: list[dict[str, Any]] = r.json()["replies"]
        return replies

    async def history(self) -> list[dict[str, Any]]:
        r = await resilient(lambda: self.client.get("/api/chat/messages", headers=self.headers))
        assert r.status_code == 200, r.text
        messages: list[dict[str, Any]] = r.json()["messages"]
        return messages


@dataclass
class CrowdMediator:
    """A mediator on the console API who claims cases and answers residents."""

    client: httpx.AsyncClient
    username: str
    password: str
    csrf: str = ""
    claimed: set[str] = field(default_factory=set)  # claims answered with 200
    replies: dict[str, list[str]] = field(default_factory=dict)  # case → acknowledged texts
    _written: int = 0

    async def login(self) -> None:
        body = {"username": self.username, "password": self.password}
        r = await resilient(lambda: self.client.post("/console/api/login", json=body))
        assert r.status_code == 200, r.text
        self.csrf = r.json()["csrf"]

    async def _post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        return await self.client.post(path, json=body, headers={"X-CSRF-Token": self.csrf})

    async def queue(self) -> list[dict[str, Any]]:
        r = await resilient(lambda: self.client.get("/console/api/queue"))
        assert r.status_code == 200, r.text
        return [item for key in ("cases",) for item in r.json().get(key, [])]

    async def case(self, number: str) -> dict[str, Any]:
        r = await resilient(lambda: self.client.get(f"/console/api/cases/{number}"))
        assert r.status_code == 200, r.text
        found: dict[str, Any] = r.json()
        return found

    async def claim(self, number: str) -> None:
        """Claim; a claim cut off by a restart and done already comes back as 409 with
        this mediator as the holder (done, though never acknowledged)."""
        r = await resilient(lambda: self._post(f"/console/api/cases/{number}/claim", {}))
        if r.status_code == 200:
            self.claimed.add(number)
        else:
            assert r.status_code == 409 and r.json().get("holder") == self.username, r.text

    async def reply(self, number: str) -> None:
        """One reply; when the answer was cut off, look at the case before writing again."""
        self._written += 1
        text = f"调解员回复 {number} 第{self._written}条"
        path = f"/console/api/cases/{number}/reply"
        while True:
            try:
                r = await self._post(path, {"text": text})
            except httpx.TransportError:
                await self._back()
                transcript = (await self.case(number))["transcript"]
                if any(item.get("text") == text for item in transcript):
                    return  # stored before the service died: done, never acknowledged
                continue
            assert r.status_code == 200, r.text
            self.replies.setdefault(number, []).append(text)
            return

    async def _back(self) -> None:
        await resilient(lambda: self.client.get("/console/api/me"))
