"""Real ``minshi serve`` processes on one PostgreSQL database, as behind a load balancer,
and the people who talk to them: residents on the web chat, mediators on the console."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bot.channels.web import user_for_token
from bot.pg_jobs import job_lock_key
from bot.storage import SqlAccounts, lock_key, migrate, open_database
from tests.console.conftest import Mediator, Resident, password_hash

VILLAGE = "620702103203"  # 寺儿沟村综治中心
GUARD = 60.0  # seconds before a wait counts as "never happened"


@dataclass
class Instance:
    name: str
    base_url: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    @property
    def pid(self) -> int:
        return self.process.pid


@dataclass
class People:
    """Clients of the test, closed at the end."""

    clients: list[httpx.AsyncClient] = field(default_factory=list)

    async def resident(self, instance: Instance, token: str | None = None) -> Resident:
        """A resident on ``instance``: a new chat session, or ``token``'s from another."""
        client = httpx.AsyncClient(base_url=instance.base_url, trust_env=False, timeout=GUARD)
        self.clients.append(client)
        if token is None:
            r = await client.post("/api/chat/session")
            assert r.status_code == 201, r.text
            token = str(r.json()["token"])
        return Resident(client, token)

    async def mediator(self, instance: Instance, username: str) -> Mediator:
        mediator = Mediator(instance.base_url, username)
        self.clients.append(mediator.client)
        assert (await mediator.login()).status_code == 200
        return mediator

    async def aclose(self) -> None:
        for client in self.clients:
            await client.aclose()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _healthy(instance: Instance) -> None:
    async with httpx.AsyncClient(trust_env=False, timeout=2) as client:
        async with asyncio.timeout(GUARD):
            while True:
                if not instance.alive:
                    text = instance.log.read_text(errors="replace")[-3000:]
                    raise AssertionError(f"{instance.name} stopped:\n{text}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"{instance.base_url}/healthz")).status_code == 200:
                        return
                await asyncio.sleep(0.1)


async def prepare_database(url: str) -> str:
    """The shared database, migrated, with two mediators of the village center."""
    async with open_database(url) as db:
        await migrate(db)
        accounts = SqlAccounts(db)
        now = datetime.now(UTC)
        for username in ("li", "wang"):
            await accounts.add_account(
                username, f"调解员{username}", VILLAGE, "mediator", password_hash(), now
            )
    return url


@contextlib.asynccontextmanager
async def run_instances(
    database: str, folder: Path, env: Mapping[str, str] = {}, names: tuple[str, ...] = ("a", "b")
) -> AsyncIterator[list[Instance]]:
    """``minshi serve`` once per name on its own port, healthy; stopped at the end."""
    environment = {
        **os.environ,
        "MINSHI_DATABASE_URL": database,
        "MINSHI_ATTACHMENTS_DIR": str(folder / "attachments"),
        "MINSHI_LOG_LEVEL": "INFO",
        **env,
    }
    minshi = Path(sys.executable).parent / "minshi"
    started: list[Instance] = []
    try:
        for name in names:
            port = _free_port()
            log = folder / f"{name}.log"
            with log.open("wb") as out:  # the child keeps its own copy of the descriptor
                process = subprocess.Popen(
                    [str(minshi), "serve", "--port", str(port)],
                    cwd=folder,  # no .env of the repository
                    env=environment,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            started.append(Instance(name, f"http://127.0.0.1:{port}", process, log))
        for instance in started:
            await _healthy(instance)
        yield started
    finally:
        for instance in started:
            if instance.alive:
                instance.process.terminate()
        for instance in started:
            try:
                instance.process.wait(10)
            except subprocess.TimeoutExpired:
                instance.process.kill()
                instance.process.wait()


def kill(instance: Instance) -> None:
    """Gone without a word, as with a power cut: ``kill -9``."""
    instance.process.kill()
    instance.process.wait()


def _advisory_key(row: Any) -> int:
    key = (int(row["classid"]) << 32) | int(row["objid"])
    return key - (1 << 64) if key >= 1 << 63 else key


async def holder_pid(db: asyncpg.Connection, job: str) -> int:
    """The process whose instance runs ``job`` now (its lock in pg_locks)."""
    async with asyncio.timeout(GUARD):
        while True:
            rows = await db.fetch(
                "SELECT l.classid, l.objid, a.application_name FROM pg_locks l"
                " JOIN pg_stat_activity a ON a.pid = l.pid"
                " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1"
            )
            for row in rows:
                if _advisory_key(row) == job_lock_key(job):
                    return int(str(row["application_name"]).removeprefix("minshi:"))
            await asyncio.sleep(0.1)


def web_user(resident: Resident) -> str:
    return user_for_token(resident.token)


@contextlib.asynccontextmanager
async def turn_held(database: str, resident: Resident) -> AsyncIterator[None]:
    """The resident's turn taken by someone else (a slow turn on another instance):
    messages the instances store for this resident wait until the block ends."""
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(
            "SELECT pg_advisory_lock($1)", lock_key("resident", "web", web_user(resident))
        )
        yield
    finally:
        await conn.close()


async def waiting_messages(db: asyncpg.Connection, resident: Resident) -> list[int]:
    """Ids of the resident's stored messages not processed yet."""
    rows = await db.fetch(
        "SELECT id FROM inbound WHERE channel = 'web' AND user_id = $1"
        " AND processed_at IS NULL ORDER BY id",
        web_user(resident),
    )
    return [int(r["id"]) for r in rows]


async def until(what: str, check: Any, seconds: float = GUARD) -> None:
    """Wait until the coroutine function ``check`` answers true."""
    try:
        async with asyncio.timeout(seconds):
            while not await check():
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(f"never happened: {what}") from None
