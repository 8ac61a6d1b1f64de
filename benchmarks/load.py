"""Load on a real `minshi serve` over the web chat API: capacity, latency at load, storage limit.

Run: .venv/bin/python benchmarks/load.py [--duration S] [--residents N] [--rate R] [--quick]
     [--database postgresql://… [--instances N]]

The service runs as its own process on 127.0.0.1 with a fresh SQLite file, or
with ``--database postgresql://…`` on that (empty) PostgreSQL database, as
``--instances`` processes on different ports behind the generator's round robin.
Simulated residents open the chat, ask a legal question, report a neighbour
matter in the demo village, open it under 我的事项 and add a message, then
start over as a new resident (16 messages each: never near the flood limit
of 30 a minute). A mediator claims submitted cases and replies through the
console API. Three measurements, printed as tables:

1. capacity: ``--residents`` residents sending back to back (the next message
   when the reply arrives), messages per second sustained;
2. latency at load: an open-loop offered load of ``--rate`` messages a second
   at a fixed pace, spread over ``--residents`` residents, at most
   ``--in-flight`` requests at once; latency counts from the moment a message
   was due, so a backlog shows. It is split: how late the generator sent,
   and how long the service's app took (its own ``http_request_seconds``
   histogram, read from ``/metrics`` before and after the phase);
3. the storage limit: raw aiosqlite committing the same three writes a message
   needs (inbound, conversation state, reply; WAL, synchronous=FULL, one commit
   per message) on the same disk — on PostgreSQL raw asyncpg, one connection, a
   transaction per message — and the capacity as a share of it.

At the end the service (every instance) is killed with SIGKILL while messages
are in flight, and the database (PostgreSQL through asyncpg) is checked: every
acknowledged message is stored exactly once and answered, every case a resident
was told about exists, every mediator reply that was acknowledged is stored.
The exit status is 1 when that check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import re
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager, nullcontext, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from disk_probe import DiskProbe  # noqa: E402  (beside this script)

VILLAGE_CENTER = "620702103203"  # 寺儿沟村综治中心, where the reports below go
PLACE = ("甘州区", "沙井镇", "寺儿沟村")
MEDIATOR = ("bench", "load bench password 1")
FLOOD_LIMIT = 30  # messages a minute (dialogs/_flood.py, Services.flood_messages)
STORIES = (
    "邻居家的树倒在我家房顶上，压坏了好几片瓦",
    "隔壁把排水沟堵了，一下雨水就往我家院子里流",
    "邻居在巷子口堆了一堆砖，拉粮食的车进不来",
    "对门养的狗天天半夜叫，说了好几回也不管",
)
MORE = ("今天又压坏了一片瓦", "昨天下雨又淹了院子", "村干部来看过了还没解决")
CASE_NUMBER = re.compile(r"MS\d{6}-\d{4}")


def _questions() -> list[str]:
    path = ROOT / "benchmarks" / "data" / "dev-queries.jsonl"
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line)["query"] for line in lines if line.strip()]


# -- HTTP ---------------------------------------------------------------------


class HttpError(Exception):
    """A request that got no answer (connection refused, reset, or cut off)."""


class Connection:
    """One keep-alive HTTP/1.1 connection, as little client as the load needs.

    httpx costs more CPU per request than the service under test can spare on
    a 2-core machine (``--client httpx`` shows it); this does only what the
    web chat and console APIs need: JSON bodies answered with Content-Length.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def request(
        self, method: str, path: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
        if body or method == "POST":
            lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
            status_line, *header_lines = head.decode("latin-1").split("\r\n")
            answer: dict[str, str] = {}
            for line in header_lines:
                if line:
                    name, _, value = line.partition(":")
                    name = name.strip().lower()
                    value = value.strip()
                    answer[name] = f"{answer[name]}, {value}" if name in answer else value
            data = await self.reader.readexactly(int(answer.get("content-length", "0")))
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            raise HttpError(f"{type(exc).__name__}: {exc}") from exc
        return int(status_line.split()[1]), answer, data

    def close(self) -> None:
        self.writer.close()


class RawClient:
    """A pool of keep-alive connections; one request per connection at a time."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._idle: list[Connection] = []

    async def call(
        self, method: str, path: str, payload: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], Any]:
        body = b"" if payload is None else json.dumps(payload).encode()
        while True:
            reused = bool(self._idle)
            conn = self._idle.pop() if reused else None
            try:
                if conn is None:
                    conn = await Connection.open(self.port)
                status, answer, data = await conn.request(method, path, body, headers or {})
                break
            except (OSError, HttpError) as exc:
                if conn is not None:
                    conn.close()
                if not reused:
                    raise HttpError(str(exc)) from exc
                # The server closed an idle keep-alive connection: try a fresh one.
        if answer.get("connection", "").lower() == "close":
            conn.close()
        else:
            self._idle.append(conn)
        return status, answer, json.loads(data) if data else None

    async def close(self) -> None:
        for conn in self._idle:
            conn.close()
        self._idle.clear()


class HttpxClient:
    """The same calls through httpx, to compare what the generator costs."""

    def __init__(self, port: int, connections: int) -> None:
        import httpx

        self._httpx = httpx
        self._client = httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}",
            trust_env=False,
            timeout=60,
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        )

    async def call(
        self, method: str, path: str, payload: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], Any]:
        try:
            r = await self._client.request(method, path, json=payload, headers=headers)
        except self._httpx.HTTPError as exc:
            raise HttpError(f"{type(exc).__name__}: {exc}") from exc
        answer = {k.lower(): v for k, v in r.headers.multi_items()}
        return r.status_code, answer, r.json() if r.content else None

    async def close(self) -> None:
        await self._client.aclose()


class RoundRobin:
    """Each call to the next instance, as a load balancer in front of several does."""

    def __init__(self, clients: list[RawClient | HttpxClient]) -> None:
        self._clients = clients
        self._turn = 0

    async def call(
        self, method: str, path: str, payload: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], Any]:
        self._turn += 1
        return await self._clients[self._turn % len(self._clients)].call(
            method, path, payload, headers
        )

    async def close(self) -> None:
        for client in self._clients:
            await client.close()


class Client(Protocol):
    """What the residents and the mediator speak through (HTTP, or the app in process)."""

    async def call(
        self, method: str, path: str, payload: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], Any]: ...

    async def close(self) -> None: ...


# -- residents ----------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One message of the script: what to send, and what the answer must say."""

    send: Callable[[Resident], dict[str, Any]]
    expect: str | re.Pattern[str] = ""
    optional: Callable[[Resident], bool] | None = None  # skipped when it returns False


def _tap(label: str) -> Callable[[Resident], dict[str, Any]]:
    return lambda r: {"choice": r.choice(label)}


def _say(text: str) -> Callable[[Resident], dict[str, Any]]:
    return lambda r: {"text": text}


SCRIPT = (
    Step(lambda r: {"start": ""}, "请选择"),
    Step(lambda r: {"text": r.rng.choice(r.questions)}),
    Step(_say("反映问题"), "哪一类"),
    Step(_tap("邻里纠纷"), "具体情况"),
    Step(lambda r: {"text": r.rng.choice(STORIES)}, "第 1 条"),
    Step(_tap("说完了"), "发生在哪里"),
    Step(_tap("换一个地方"), "", optional=lambda r: "换一个地方" in r.labels),
    Step(_tap("按地区选"), "请选区县"),
    Step(_tap(PLACE[0]), "请选乡镇"),
    Step(_tap(PLACE[1]), "请选村"),
    Step(_tap(PLACE[2]), "手机号"),
    Step(_tap("跳过")),
    Step(_tap("确认提交"), CASE_NUMBER),
    Step(_tap("我的事项"), "您反映的事"),
    Step(lambda r: {"choice": r.choice(r.case_number)}, "补充"),
    Step(lambda r: {"text": r.rng.choice(MORE)}, "已补充到事项"),
    Step(_tap("完成")),
)


class FlowError(Exception):
    """The bot answered, but not what the conversation needs next."""


@dataclass
class Resident:
    rng: random.Random
    questions: list[str]
    serial: int
    token: str = ""
    step: int = 0
    replies: list[dict[str, Any]] = field(default_factory=list)
    case_number: str = ""

    @property
    def user_id(self) -> str:  # as bot/channels/web.py derives it from the token
        return hashlib.sha256(self.token.encode()).hexdigest()[:32]

    @property
    def labels(self) -> list[str]:
        return [c["label"] for r in self.replies for c in r.get("choices", ())]

    @property
    def done(self) -> bool:
        return self.step >= len(SCRIPT)

    def choice(self, label: str) -> str:
        for reply in reversed(self.replies):
            for c in reply.get("choices", ()):
                if label in c["label"]:
                    return str(c["payload"])
        raise FlowError(f"no button {label!r} among {self.labels}")

    def next_body(self) -> dict[str, Any]:
        while SCRIPT[self.step].optional and not SCRIPT[self.step].optional(self):  # type: ignore[misc]
            self.step += 1
        return {**SCRIPT[self.step].send(self), "id": uuid.uuid4().hex}

    def accept(self, replies: list[dict[str, Any]]) -> None:
        expect = SCRIPT[self.step].expect
        text = "\n".join(r["text"] for r in replies)
        if isinstance(expect, re.Pattern):
            found = expect.search(text)
            if found is None:
                raise FlowError(f"expected {expect.pattern} in {text[:200]!r}")
            self.case_number = found.group(0)
        elif expect and expect not in text:
            raise FlowError(f"expected {expect!r} in {text[:200]!r}")
        self.replies = replies
        self.step += 1


@dataclass
class Tally:
    """What one phase saw."""

    latencies: list[float] = field(default_factory=list)
    spans: list[tuple[float, float]] = field(default_factory=list)  # (due or sent, answered)
    late: list[float] = field(default_factory=list)  # open loop: from due to sending
    errors: Counter[str] = field(default_factory=Counter)
    sessions: int = 0
    cut_off: int = 0  # requests in flight when the service was killed

    def error(self, kind: str) -> None:
        self.errors[kind] += 1


@dataclass
class Record:
    """What the service acknowledged, checked in the database at the end."""

    messages: list[tuple[str, str]] = field(default_factory=list)  # (user_id, client id)
    cases: list[tuple[str, str]] = field(default_factory=list)  # (user_id, case number)
    mediator_replies: list[tuple[str, str]] = field(default_factory=list)  # (number, text)
    to_mediate: deque[str] = field(default_factory=deque)


class Load:
    """Residents and a mediator against one running service."""

    def __init__(self, client: Client, seed: int) -> None:
        self.client = client
        self.rng = random.Random(seed)
        self.questions = _questions()
        self.record = Record()
        self.killed = False
        self.residents = 0
        self.sent_at: dict[int, list[float]] = {}  # the open loop's messages per resident

    def resident(self) -> Resident:
        self.residents += 1
        return Resident(random.Random(self.rng.random()), self.questions, self.residents)

    async def send(self, resident: Resident, tally: Tally, due: float | None = None) -> bool:
        """The resident's next message; True when the conversation may go on."""
        began = due if due is not None else time.perf_counter()
        if due is not None:
            tally.late.append(time.perf_counter() - due)
        try:
            if not resident.token:
                status, _, body = await self.client.call("POST", "/api/chat/session")
                if status != 201:
                    tally.error(f"session HTTP {status}")
                    return False
                resident.token = body["token"]
                tally.sessions += 1
            message = resident.next_body()
            headers = {"Authorization": f"Bearer {resident.token}"}
            status, _, body = await self.client.call("POST", "/api/chat/messages", message, headers)
            if status != 200:
                tally.error(f"HTTP {status}: {str(body)[:80]}")
                return False
            self.record.messages.append((resident.user_id, message["id"]))
            answered = time.perf_counter()
            tally.latencies.append(answered - began)
            tally.spans.append((began, answered))
            resident.accept(body["replies"])
        except HttpError as exc:
            if self.killed:
                tally.cut_off += 1
            else:
                tally.error(f"no answer: {str(exc)[:60]}")
            return False
        except FlowError as exc:
            tally.error(f"unexpected reply: {str(exc)[:60]}")
            return False
        if resident.case_number and SCRIPT[resident.step - 1].expect is CASE_NUMBER:
            self.record.cases.append((resident.user_id, resident.case_number))
            self.record.to_mediate.append(resident.case_number)
        return not resident.done

    async def capacity(self, residents: int, seconds: float) -> Tally:
        """Closed loop: each resident sends its next message when the reply arrives."""
        tally = Tally()
        deadline = time.perf_counter() + seconds

        async def one_after_another() -> None:
            while time.perf_counter() < deadline:
                resident = self.resident()
                while time.perf_counter() < deadline and await self.send(resident, tally):
                    pass

        await asyncio.gather(*(one_after_another() for _ in range(residents)))
        return tally

    async def open_loop(
        self, rate: float, seconds: float, ready: list[Resident], in_flight: int
    ) -> tuple[Tally, float]:
        """A message due every 1/rate s, from a resident picked at random among the
        ``ready`` ones, those not waiting for a reply (the list goes on to the next
        call). Picked in turn, residents who started together would stay in step and
        all ask their legal question in the same fifth of a second, again and again.

        Returns the tally and the highest number of messages one resident sent
        within a minute, over every call (to show the flood limit was never reached).
        """
        tally = Tally()
        free = asyncio.Semaphore(in_flight)
        sent_at = self.sent_at
        tasks: set[asyncio.Task[None]] = set()

        async def deliver(resident: Resident, due: float) -> None:
            try:
                sent_at.setdefault(resident.serial, []).append(due)
                going_on = await self.send(resident, tally, due)
                ready.append(resident if going_on else self.resident())
            finally:
                free.release()

        start = time.perf_counter()
        total = int(rate * seconds)
        for n in range(total):
            due = start + n / rate
            wait = due - time.perf_counter()
            if wait > 0.001:
                await asyncio.sleep(wait)
            await free.acquire()
            while not ready:  # every resident is waiting for a reply: the slot is late
                free.release()
                await asyncio.sleep(0.001)
                await free.acquire()
            pick = self.rng.randrange(len(ready))
            ready[pick], ready[-1] = ready[-1], ready[pick]
            task = asyncio.create_task(deliver(ready.pop(), due))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks and not self.killed:
            await asyncio.wait(tasks)
        per_minute = max((_most_within(times, 60.0) for times in sent_at.values()), default=0)
        return tally, per_minute

    async def mediate(self, stop: asyncio.Event, per_second: float, tally: Tally) -> None:
        """A mediator of the village center claims submitted cases and replies."""
        status, answer, body = await self.client.call(
            "POST", "/console/api/login", {"username": MEDIATOR[0], "password": MEDIATOR[1]}
        )
        if status != 200:
            tally.error(f"mediator login HTTP {status}")
            return
        cookie = answer["set-cookie"].split(";")[0]
        headers = {"Cookie": cookie, "X-CSRF-Token": body["csrf"]}
        while not stop.is_set():
            began = time.perf_counter()
            if self.record.to_mediate:
                number = self.record.to_mediate.popleft()
                base = f"/console/api/cases/{number}"
                text = f"您好，{number} 我们收到了，明天上午到村里看看。"
                try:
                    status, _, _ = await self.client.call("POST", f"{base}/claim", {}, headers)
                    if status == 200:
                        status, _, _ = await self.client.call(
                            "POST", f"{base}/reply", {"text": text}, headers
                        )
                except HttpError:
                    status = 0
                if status == 200:
                    self.record.mediator_replies.append((number, text))
                elif not self.killed:
                    tally.error(f"mediator HTTP {status}")
            pause = 1 / per_second - (time.perf_counter() - began)
            if pause > 0:
                with suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), pause)


def _most_within(times: list[float], window: float) -> int:
    best, first = 0, 0
    for last, moment in enumerate(times):
        while moment - times[first] > window:
            first += 1
        best = max(best, last - first + 1)
    return best


# -- the service --------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _proc_file(pid: int, name: str) -> str:
    try:
        return Path(f"/proc/{pid}/{name}").read_text()
    except OSError:  # it has just exited
        return ""


def _stat_fields(pid: int, name: str = "stat") -> list[str]:
    """/proc/PID/stat after the command's name (which may hold spaces)."""
    return _proc_file(pid, name).rsplit(")", 1)[-1].split()


def with_children(pid: int) -> list[int]:
    """``pid`` and its child processes."""
    children = [
        int(stat.parent.name)
        for stat in Path("/proc").glob("[0-9]*/stat")
        if (fields := _stat_fields(int(stat.parent.name))) and int(fields[1]) == pid
    ]
    return [pid, *children]


def cpu_of(pid: int, thread: int | None = None) -> float:
    """User and system seconds of a process so far, or of one of its threads."""
    fields = _stat_fields(pid, f"task/{thread}/stat" if thread else "stat")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK") if fields else 0.0


class Service:
    """`minshi serve` in its own process (or ``instances`` of them on one PostgreSQL
    database), with CPU time and peak memory from /proc, summed over the instances."""

    def __init__(self, workdir: Path, database: str | None = None, instances: int = 1) -> None:
        self.workdir = workdir
        self.db = workdir / "load.db"
        self.url = database or f"sqlite:///{self.db.resolve()}"
        self.ports = [_free_port() for _ in range(instances)]
        self.port = self.ports[0]
        self.logs = [workdir / f"service-{n}.log" for n in range(1, instances + 1)]
        self.log = self.logs[0]
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("MINSHI_")}
        self.env["MINSHI_ATTACHMENTS_DIR"] = str(workdir / "attachments")
        self.env["MINSHI_DATABASE_URL"] = self.url
        self.env["PYTHONPATH"] = str(ROOT)
        self.procs: list[subprocess.Popen[bytes]] = []

    @property
    def proc(self) -> subprocess.Popen[bytes] | None:
        """The first instance (the one ``--profile`` records)."""
        return self.procs[0] if self.procs else None

    async def add_mediator(self) -> None:
        """A mediator of the village center, stored as `minshi mediator add` would."""
        from datetime import UTC, datetime

        from bot.console.passwords import hash_password_now
        from bot.storage import SqlAccounts, migrate, open_database

        async with open_database(self.url) as db:
            await migrate(db)
            await SqlAccounts(db).add_account(
                MEDIATOR[0],
                "压测调解员",
                VILLAGE_CENTER,
                "mediator",
                hash_password_now(MEDIATOR[1]),
                datetime.now(UTC),
            )

    def start(self) -> None:
        for port, log_path in zip(self.ports, self.logs, strict=True):
            with log_path.open("wb") as log:
                self.procs.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "bot.cli", "serve", "--port", str(port)],
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        env=self.env,
                        cwd=ROOT,
                    )
                )

    async def healthy(self, timeout: float = 60) -> None:
        deadline = time.perf_counter() + timeout
        for port, proc, log in zip(self.ports, self.procs, self.logs, strict=True):
            client = RawClient(port)
            while True:
                if time.perf_counter() > deadline:
                    raise SystemExit("minshi serve was not healthy in time")
                if proc.poll() is not None:
                    raise SystemExit(f"minshi serve exited:\n{log.read_text()[-2000:]}")
                try:
                    status, _, _ = await client.call("GET", "/healthz")
                    if status == 200:
                        await client.close()
                        break
                except HttpError:
                    pass
                await asyncio.sleep(0.05)

    def cpu_seconds(self, *, main_thread: bool = False) -> float:
        """User and system time of every thread of the service and of its child process
        (FAQ matching) so far, or of the thread that runs the event loop (where every
        request is handled) alone."""
        if main_thread:
            return sum(cpu_of(proc.pid, thread=proc.pid) for proc in self.procs)
        return sum(cpu_of(pid) for proc in self.procs for pid in with_children(proc.pid))

    def peak_mb(self) -> float:
        total = 0.0
        for pid in (pid for proc in self.procs for pid in with_children(proc.pid)):
            for line in _proc_file(pid, "status").splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1]) / 1024
        return total

    def kill(self) -> None:
        """kill -9: what was acknowledged must be in the database all the same."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait()


@contextmanager
def _measured(service: Service) -> Iterator[dict[str, float]]:
    """Wall time and CPU time of the service and of this generator over a block."""
    usage: dict[str, float] = {}
    wall, cpu, mine = time.perf_counter(), service.cpu_seconds(), time.process_time()
    loop = service.cpu_seconds(main_thread=True)
    yield usage
    usage["wall"] = time.perf_counter() - wall
    usage["service_cpu"] = service.cpu_seconds() - cpu
    usage["service_loop_cpu"] = service.cpu_seconds(main_thread=True) - loop
    usage["generator_cpu"] = time.process_time() - mine


@contextmanager
def _profiled(service: Service, folder: Path | None, seconds: float) -> Iterator[None]:
    """py-spy on the service over a block (``--profile``), its samples kept in ``folder``."""
    if folder is None:
        yield
        return
    folder.mkdir(parents=True, exist_ok=True)
    assert service.proc is not None
    spy_program = shutil.which("py-spy") or Path(sys.executable).parent / "py-spy"
    if not Path(spy_program).exists():
        raise SystemExit("--profile needs py-spy: .venv/bin/pip install py-spy")
    spy = subprocess.Popen(
        [
            spy_program,
            *("record", "--format", "raw", "--rate", "250", "--nonblocking", "--gil"),
            *(
                "--function",
                "--duration",
                str(max(1, int(seconds))),
                "--pid",
                str(service.proc.pid),
            ),
            *("-o", folder / "service.txt"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        spy.wait()


def profile_top(samples: Path, limit: int = 15) -> list[tuple[str, float, float]]:
    """(function, % of samples in it, % of samples under it), the busiest first by own time."""
    own: Counter[str] = Counter()
    under: Counter[str] = Counter()
    total = 0
    for line in samples.read_text(encoding="utf-8").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        frames = [re.sub(r"^\S*/", "", f.strip()) for f in stack.split(";")]
        frames = [re.sub(r" \((?:.*/)?([^/]+:\d+)\)$", r" (\1)", f) for f in frames]
        n = int(count)
        total += n
        own[frames[-1]] += n
        for frame in set(frames):
            under[frame] += n
    return [
        (frame, own[frame] / total * 100, under[frame] / total * 100)
        for frame, _ in own.most_common(limit)
    ]


# -- the storage limit --------------------------------------------------------


async def _rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    """The rows of a query: from the SQLite file, or from PostgreSQL through asyncpg."""
    from bot.storage._database import sqlite_path

    path = sqlite_path(url)
    if path is not None:
        with closing(sqlite3.connect(path)) as conn:
            return conn.execute(sql).fetchall()
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        return [tuple(row) for row in await conn.fetch(sql)]
    finally:
        await conn.close()


# The web chat's requests (any instance, any status) and the event loop's lag.
_WEB_BUCKETS = re.compile(
    r'^minshi_http_request_seconds_bucket\{(?=[^}]*channel="web")[^}]*le="([^"]+)"[^}]*\} (\S+)$',
    re.M,
)
_LAG_BUCKETS = re.compile(r'^minshi_event_loop_lag_seconds_bucket\{le="([^"]+)"\} (\S+)$', re.M)


def service_buckets(service: Service) -> tuple[Counter[float], Counter[float]]:
    """Two of the services' histograms, summed over instances: ``http_request_seconds``
    for the web chat (how many requests took at most each bucket's seconds inside the
    app, from the first middleware to the response sent) and ``event_loop_lag_seconds``
    (how late the event loop's timers fired). Empty when ``/metrics`` cannot be read
    (the split is then left out)."""
    token = service.env.get("MINSHI_METRICS_TOKEN")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    web: Counter[float] = Counter()
    lag: Counter[float] = Counter()
    for port in service.ports:
        scrape = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", headers=headers)
        try:
            with urllib.request.urlopen(scrape, timeout=10) as answer:
                text = answer.read().decode()
        except OSError as exc:
            print(f"(the split leaves out the service's own time: /metrics: {exc})")
            return Counter(), Counter()
        for counts, pattern in ((web, _WEB_BUCKETS), (lag, _LAG_BUCKETS)):
            for le, count in pattern.findall(text):
                counts[float(le)] += float(count)
    return web, lag


async def _typical_sizes(url: str) -> tuple[int, int, int]:
    """Average sizes of the inbound body, conversation data and reply body of the run."""
    sizes = [
        (await _rows(url, f"SELECT COALESCE(AVG(LENGTH({column})), 100) FROM {table}"))[0][0]
        for table, column in (
            ("inbound", "body"),
            ("conversations", "data"),
            ("outbound", "body"),
        )
    ]
    return int(sizes[0]), int(sizes[1]), int(sizes[2])


# The three writes of a message, each message one transaction (channel, user, …).
_RAW_WRITES = (
    "INSERT INTO inbound (channel, user_id, platform_msg_id, kind, body,"
    " received_at, processed_at) VALUES (?, ?, ?, 'text', ?, ?, ?) RETURNING id",
    "INSERT INTO conversations (channel, user_id, state, data, created_at,"
    " updated_at) VALUES (?, ?, 'menu', ?, ?, ?) ON CONFLICT (channel, user_id)"
    " DO UPDATE SET state = excluded.state, data = excluded.data,"
    " updated_at = excluded.updated_at",
    "INSERT INTO outbound (channel, address, inbound_id, body, created_at, state,"
    " delivered_at) VALUES (?, ?, ?, ?, ?, 'delivered', ?)",
)


async def storage_limit_postgres(url: str, seconds: float, sizes: tuple[int, int, int]) -> float:
    """The same on PostgreSQL: raw asyncpg, one connection, into the run's own tables
    (channel ``raw``, deleted afterwards)."""
    import asyncpg

    from bot.storage._dialect import POSTGRES

    add_inbound, save_state, add_reply = (POSTGRES.sql(sql) for sql in _RAW_WRITES)
    inbound, state, reply = ("字" * max(1, size // 3) for size in sizes)
    users = [uuid.uuid4().hex for _ in range(200)]
    conn = await asyncpg.connect(url)
    try:
        done = 0
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            user = users[done % len(users)]
            now = time.strftime("%Y-%m-%dT%H:%M:%S+00:00")
            async with conn.transaction():
                row_id = await conn.fetchval(
                    add_inbound, "raw", user, uuid.uuid4().hex, inbound, now, now
                )
                await conn.execute(save_state, "raw", user, state, now, now)
                await conn.execute(add_reply, "raw", user, row_id, reply, now, now)
            done += 1
        return done / (time.perf_counter() - start)
    finally:
        for table in ("outbound", "conversations", "inbound"):
            await conn.execute(f"DELETE FROM {table} WHERE channel = 'raw'")
        await conn.close()


async def storage_limit(workdir: Path, seconds: float, sizes: tuple[int, int, int]) -> float:
    """Messages a second when each commits its three writes alone, with the service's schema."""
    import aiosqlite

    from bot.storage import Database, migrate

    path = workdir / "raw.db"
    async with Database(path) as db:
        await migrate(db)
    inbound, state, reply = ("字" * max(1, size // 3) for size in sizes)
    users = [uuid.uuid4().hex for _ in range(200)]
    async with aiosqlite.connect(path, isolation_level=None) as conn:
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA synchronous=FULL")
        await conn.execute("PRAGMA foreign_keys=ON")
        done = 0
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            user = users[done % len(users)]
            now = time.strftime("%Y-%m-%dT%H:%M:%S+00:00")
            await conn.execute("BEGIN IMMEDIATE")
            cur = await conn.execute(
                _RAW_WRITES[0], ("web", user, uuid.uuid4().hex, inbound, now, now)
            )
            row = await cur.fetchone()
            await cur.close()
            assert row is not None
            await conn.execute(_RAW_WRITES[1], ("web", user, state, now, now))
            await conn.execute(_RAW_WRITES[2], ("web", user, row[0], reply, now, now))
            await conn.execute("COMMIT")
            done += 1
        return done / (time.perf_counter() - start)


# -- verification -------------------------------------------------------------


async def verify(url: str, record: Record) -> list[tuple[str, int, int]]:
    """(what, acknowledged, found as it should be) for every promise the service made."""
    stored = Counter(
        await _rows(url, "SELECT user_id, platform_msg_id FROM inbound WHERE channel = 'web'")
    )
    answered = set(
        await _rows(
            url,
            "SELECT DISTINCT i.user_id, i.platform_msg_id FROM inbound i"
            " JOIN outbound o ON o.inbound_id = i.id WHERE i.processed_at IS NOT NULL",
        )
    )
    cases = set(await _rows(url, "SELECT user_id, number FROM cases"))
    replies = Counter(
        await _rows(
            url,
            "SELECT c.number, m.body FROM case_messages m JOIN cases c ON c.id = m.case_id"
            " WHERE m.author LIKE 'mediator:%'",
        )
    )
    acked = record.messages
    return [
        ("messages stored exactly once", len(acked), sum(stored[m] == 1 for m in acked)),
        ("messages processed and answered", len(acked), sum(m in answered for m in acked)),
        ("no message acknowledged twice", len(acked), len(set(acked))),
        ("submitted cases exist", len(record.cases), sum(c in cases for c in record.cases)),
        (
            "mediator replies stored once",
            len(record.mediator_replies),
            sum(replies[r] == 1 for r in record.mediator_replies),
        ),
    ]


# -- tables -------------------------------------------------------------------


_STALL = 0.05  # an fsync longer than the latency target holds every reply past it


def _ms(values: list[float], q: float) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    return f"{ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000:.1f}"


def _errors(tally: Tally) -> str:
    if not tally.errors:
        return "0"
    top = "; ".join(f"{n}× {kind}" for kind, n in tally.errors.most_common(3))
    return f"{sum(tally.errors.values())} ({top})"


def _usage_row(name: str, usage: dict[str, float], messages: int) -> str:
    wall = usage["wall"] or 1
    per = max(messages, 1)
    return (
        f"| {name} | {usage['service_cpu'] / wall * 100:.0f}% |"
        f" {usage['service_loop_cpu'] / wall * 100:.0f}% |"
        f" {usage['service_cpu'] / per * 1e3:.2f} |"
        f" {usage['generator_cpu'] / wall * 100:.0f}% |"
        f" {usage['generator_cpu'] / per * 1e3:.2f} |"
    )


def _bucket_ms(buckets: Counter[float], q: float) -> str:
    """The histogram's bucket holding quantile ``q``, as "≤ its bound"."""
    total = buckets.get(float("inf"), 0)
    for le in sorted(buckets):
        if buckets[le] >= q * total:
            return "> 10 s" if le == float("inf") else f"≤ {le * 1000:g}"
    return "-"


def print_breakdown(lat: Tally, in_app: Counter[float], loop_lag: Counter[float]) -> None:
    """Where a message's latency went: the generator late in sending it, the
    service's event loop late in taking up what arrived (its timers' lateness),
    the service's app answering it, and everything in between (the sockets, the
    generator reading the reply) in the whole due-to-answered time."""

    def row(part: str, times: list[float]) -> str:
        within = sum(t <= 0.05 for t in times) / max(len(times), 1) * 100
        return f"| {part} | {_ms(times, 0.5)} | {_ms(times, 0.99)} | {within:.1f}% |"

    def buckets_row(part: str, buckets: Counter[float]) -> str:
        total = buckets.get(float("inf"), 0)
        within = buckets.get(0.05, 0) / total * 100
        return (
            f"| {part.format(total=total)} | {_bucket_ms(buckets, 0.5)}"
            f" | {_bucket_ms(buckets, 0.99)} | {within:.1f}% |"
        )

    print("\n| part of the latency | p50 ms | p99 ms | within 50 ms |")
    print("|---|---|---|---|")
    print(row("generator: due → sent", lat.late))
    if loop_lag.get(float("inf"), 0):
        print(
            buckets_row("service: event loop lag ({total:.0f} looks, histogram buckets)", loop_lag)
        )
    if in_app.get(float("inf"), 0):
        print(
            buckets_row(
                "service: inside the app ({total:.0f} web requests, histogram buckets)", in_app
            )
        )
    print(row("whole: due → answered", lat.latencies))


def print_disk(probe: DiskProbe, lat: Tally, seconds: float) -> None:
    """The disk's own fsyncs in the latency phase, and the latency of the messages
    that no stall of the disk held up."""
    took = [t for _, t in probe.syncs]
    stalls = probe.stalls(_STALL)
    held = probe.overlapped(lat.spans, _STALL)
    clear = [latency for latency, h in zip(lat.latencies, held, strict=True) if not h]
    print(
        "\n### The disk in the same phase: a 4 KB write and fdatasync every 10 ms"
        " beside the database\n"
    )
    print(
        "| fsyncs | p50 ms | p99 ms | max ms | over 50 ms | time in them"
        " | messages no such stall overlapped | their p99 ms |"
    )
    print("|---|---|---|---|---|---|---|---|")
    in_stalls = sum(end - start for start, end in stalls)
    print(
        f"| {len(took)} | {_ms(took, 0.5)} | {_ms(took, 0.99)} | {_ms(took, 1.0)} |"
        f" {len(stalls)} | {in_stalls * 1000:.0f} ms ({in_stalls / seconds * 100:.1f}%) |"
        f" {len(clear)} of {len(lat.latencies)} | {_ms(clear, 0.99)} |"
    )


def print_report(
    args: argparse.Namespace,
    results: dict[str, Any],
    checks: list[tuple[str, int, int]],
) -> None:
    cap: Tally = results["capacity"]
    cap_rate = len(cap.latencies) / args.duration
    if args.database:
        print(f"\nPostgreSQL, {args.instances} instance(s) behind the generator's round robin.")
    print(f"\n### Capacity: {args.residents} residents back to back, {args.duration:.0f} s\n")
    print("| messages/s | messages | p50 ms | p95 ms | p99 ms | errors |")
    print("|---|---|---|---|---|---|")
    print(
        f"| {cap_rate:.0f} | {len(cap.latencies)} | {_ms(cap.latencies, 0.5)} |"
        f" {_ms(cap.latencies, 0.95)} | {_ms(cap.latencies, 0.99)} | {_errors(cap)} |"
    )

    lat: Tally = results["latency"]
    offered = int(args.rate * args.duration)
    print(
        f"\n### Latency at load: {args.rate:.0f} messages/s offered (open loop),"
        f" {args.residents} residents, ≤ {args.in_flight} in flight, {args.duration:.0f} s\n"
    )
    print("| offered | answered | p50 ms | p95 ms | p99 ms | max ms | errors | cut by kill -9 |")
    print("|---|---|---|---|---|---|---|---|")
    print(
        f"| {offered} | {len(lat.latencies)} | {_ms(lat.latencies, 0.5)} |"
        f" {_ms(lat.latencies, 0.95)} | {_ms(lat.latencies, 0.99)} |"
        f" {_ms(lat.latencies, 1.0)} | {_errors(lat)} | {lat.cut_off} |"
    )
    print(
        f"\nMost messages one resident sent within a minute: {results['per_minute']}"
        f" (flood limit {FLOOD_LIMIT})."
    )
    print_breakdown(lat, results["in_app"], results["loop_lag"])
    if isinstance(results["disk"], DiskProbe):
        print_disk(results["disk"], lat, args.duration)

    limit = results["storage_limit"]
    raw = "raw aiosqlite, WAL, synchronous=FULL"
    if args.database:
        raw = "raw asyncpg, one connection, a transaction per message"
    print(f"\n### Storage limit: {raw}, {args.storage:.0f} s\n")
    print("| raw commits/s (3 writes each) | capacity messages/s | share |")
    print("|---|---|---|")
    print(f"| {limit:.0f} | {cap_rate:.0f} | {cap_rate / limit * 100:.0f}% |")

    print("\n### CPU (100% = one core) and memory\n")
    print(
        "| phase | service CPU | of it the event loop's thread | service CPU ms/message"
        " | generator CPU | generator ms/message |"
    )
    print("|---|---|---|---|---|---|")
    print(_usage_row("capacity", results["capacity_usage"], len(cap.latencies)))
    print(_usage_row("latency at load", results["latency_usage"], len(lat.latencies)))
    print(
        f"\nPeak memory: service {results['service_mb']:.0f} MB,"
        f" generator {results['generator_mb']:.0f} MB."
        f" Client: {args.client}. Mediator replies: {len(results['record'].mediator_replies)}."
        f" New residents: {cap.sessions + lat.sessions}."
        + "".join(f" Set: {setting}." for setting in args.set)
    )

    print("\n### Verification after kill -9\n")
    print("| check | acknowledged | found | result |")
    print("|---|---|---|---|")
    for what, wanted, found in checks:
        print(f"| {what} | {wanted} | {found} | {'ok' if wanted == found else 'FAILED'} |")


# -- main ---------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, help="seconds per load phase (default 30)")
    parser.add_argument("--residents", type=int, default=200, help="residents at once (200)")
    parser.add_argument("--rate", type=float, default=1000, help="offered messages/s (1000)")
    parser.add_argument("--in-flight", type=int, default=200, help="most requests at once (200)")
    parser.add_argument("--storage", type=float, help="seconds of the storage limit (default 10)")
    parser.add_argument("--warm-up", type=float, help="seconds of warm-up load (default 5)")
    parser.add_argument("--mediator-rate", type=float, default=5, help="replies/s (5)")
    parser.add_argument("--client", choices=("raw", "httpx"), default="raw")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument(
        "--database", help="postgresql://… (empty) instead of a new SQLite file", default=""
    )
    parser.add_argument("--instances", type=int, default=1, help="service processes (1)")
    parser.add_argument("--keep", type=Path, help="keep the database in this folder")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="MINSHI_NAME=VALUE",
        help="a setting of the service, e.g. MINSHI_FAQ_MATCH_PROCESS=false (repeatable)",
    )
    parser.add_argument(
        "--profile", type=Path, help="record the service with py-spy in the capacity phase"
    )
    parser.add_argument(
        "--quick", action="store_true", help="a 20-second smoke run (5 s phases, 2 s storage)"
    )
    args = parser.parse_args(argv)
    if args.database and not args.database.startswith(("postgresql://", "postgres://")):
        parser.error("--database takes a postgresql:// URL (SQLite is the default)")
    if any(not setting.startswith("MINSHI_") or "=" not in setting for setting in args.set):
        parser.error("--set takes MINSHI_NAME=VALUE")
    if args.instances < 1 or (args.instances > 1 and not args.database):
        parser.error("several --instances share one PostgreSQL database: add --database")
    quick = args.quick
    if args.duration is None:
        args.duration = 5.0 if quick else 30.0
    if args.storage is None:
        args.storage = 2.0 if quick else 10.0
    if args.warm_up is None:
        args.warm_up = 1.0 if quick else 5.0
    return args


async def run(args: argparse.Namespace, workdir: Path) -> int:
    service = Service(workdir, args.database or None, args.instances)
    service.env.update(setting.split("=", 1) for setting in args.set)
    await service.add_mediator()
    service.start()
    try:
        await service.healthy()
        clients = [
            RawClient(port)
            if args.client == "raw"
            else HttpxClient(port, max(args.residents, args.in_flight) + 2)
            for port in service.ports
        ]
        client: Client = clients[0] if len(clients) == 1 else RoundRobin(clients)
        load = Load(client, args.seed)
        results: dict[str, Any] = {"record": load.record}
        mediator_tally = Tally()
        stop = asyncio.Event()
        mediator = asyncio.create_task(load.mediate(stop, args.mediator_rate, mediator_tally))

        await load.capacity(args.residents, args.warm_up)  # FAQ, caches, connections
        with _measured(service) as usage, _profiled(service, args.profile, args.duration):
            results["capacity"] = await load.capacity(args.residents, args.duration)
        results["capacity_usage"] = usage

        # Latency at load, after a ramp at the same rate that is not counted: residents
        # who all start at once would ask their questions in the same fifth of a second.
        # At the end kill -9 while messages are in flight.
        ready = [load.resident() for _ in range(args.residents)]
        await load.open_loop(args.rate, args.warm_up, ready, args.in_flight)
        in_app, lag = await asyncio.to_thread(service_buckets, service)
        loop_task = asyncio.create_task(
            load.open_loop(args.rate, args.duration, ready, args.in_flight)
        )
        probe = DiskProbe(workdir) if not args.database else nullcontext()
        with _measured(service) as usage, probe:
            results["latency"], results["per_minute"] = await loop_task
        in_app_after, lag_after = await asyncio.to_thread(service_buckets, service)
        results["in_app"], results["loop_lag"] = in_app_after - in_app, lag_after - lag
        results["latency_usage"] = usage
        results["disk"] = probe
        results["service_mb"] = service.peak_mb()
        stop.set()
        await mediator
        load.killed = True
        pending = [
            asyncio.create_task(load.send(load.resident(), results["latency"]))
            for _ in range(args.in_flight // 2)
        ]
        await asyncio.sleep(0.005)
        service.kill()
        await asyncio.gather(*pending)
        await client.close()
        for kind, n in mediator_tally.errors.items():
            results["capacity"].errors[kind] += n

        checks = await verify(service.url, load.record)
        sizes = await _typical_sizes(service.url)
        if args.database:
            results["storage_limit"] = await storage_limit_postgres(
                args.database, args.storage, sizes
            )
        else:
            results["storage_limit"] = await storage_limit(workdir, args.storage, sizes)
        results["generator_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print_report(args, results, checks)
        if args.profile:
            print("\n### Service profile, capacity phase (py-spy, all threads)\n")
            print("| function | own % | total % |")
            print("|---|---|---|")
            for frame, own, total in profile_top(args.profile / "service.txt"):
                print(f"| `{frame}` | {own:.1f} | {total:.1f} |")
    finally:
        service.kill()
    return 0 if all(wanted == found for _, wanted, found in checks) else 1


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        return asyncio.run(run(args, args.keep))
    with tempfile.TemporaryDirectory(prefix="minshi-load-") as tmp:
        return asyncio.run(run(args, Path(tmp)))


if __name__ == "__main__":
    sys.exit(main())
