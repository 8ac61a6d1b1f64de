"""The web chat pipeline in process, at a fixed pace: CPU a message and latency.

Run: .venv/bin/python benchmarks/paced.py [--rate R ...] [--seconds S] [--repeat N]

load.py's open loop (the same residents, conversations and pacing), but the
app is called directly as ASGI in this process (no HTTP server, no generator process
competing for the cores), so the CPU a message is the pipeline's own:
engine, dialogs, FAQ, storage and its group commit (the FAQ's matching
process is counted in all CPU; MINSHI_FAQ_MATCH_PROCESS=false matches in
process). Messages are due at a fixed pace (``--rate`` a second, at most 200
at once), each from a resident picked at random among those not waiting for a
reply; latency counts from the moment a message was due. The database is a
new SQLite file on the disk of ``--folder`` (synchronous=FULL, as served). It
tells apart changes too small for load.py to show through its noise: run both
builds in turn, a few times.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager, redirect_stdout
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from load import Load, cpu_of, with_children  # noqa: E402  (beside this script)

from common import jsontext  # noqa: E402

_IN_FLIGHT = 200


class InProcess:
    """A client that calls the ASGI app with its lifespan state, as the server would."""

    def __init__(self, app: Any, state: dict[str, Any]) -> None:
        self.app = app
        self.state = state

    async def call(
        self, method: str, path: str, payload: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], Any]:
        data = jsontext.dumps_bytes(payload) if payload is not None else b""
        raw_headers = [
            (b"content-type", b"application/json"),
            (b"content-length", b"%d" % len(data)),
            *((k.lower().encode(), v.encode()) for k, v in (headers or {}).items()),
        ]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": raw_headers,
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 8080),
            "state": dict(self.state),
        }
        sent = False
        out: dict[str, Any] = {"status": 0, "body": b""}

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": data, "more_body": False}
            await asyncio.Event().wait()  # the client never disconnects
            raise AssertionError

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                out["status"] = message["status"]
            elif message["type"] == "http.response.body":
                out["body"] += message.get("body", b"")

        await self.app(scope, receive, send)
        return out["status"], {}, jsontext.loads(out["body"]) if out["body"] else None

    async def close(self) -> None:
        pass


def _cpu() -> float:
    """CPU seconds of this process and of its children (the FAQ matching process)."""
    return time.process_time() + sum(cpu_of(pid) for pid in with_children(os.getpid())[1:])


async def _paced(load: Load, rate: float, seconds: float) -> dict[str, float]:
    """load.py's open loop, timed: CPU of the whole service and of this (the loop's) thread."""
    ready = [load.resident() for _ in range(_IN_FLIGHT)]
    cpu, loop_cpu, start = _cpu(), time.thread_time(), time.perf_counter()
    tally, _ = await load.open_loop(rate, seconds, ready, _IN_FLIGHT)
    wall = time.perf_counter() - start
    total = int(rate * seconds)
    latencies = sorted(tally.latencies)
    return {
        "messages": total,
        "loop_ms": (time.thread_time() - loop_cpu) / total * 1000,
        "cpu_ms": (_cpu() - cpu) / total * 1000,
        "busy": (time.thread_time() - loop_cpu) / wall * 100,
        "p50": latencies[len(latencies) // 2] * 1000 if latencies else 0.0,
        "p99": latencies[int(len(latencies) * 0.99)] * 1000 if latencies else 0.0,
        "errors": sum(tally.errors.values()),
    }


@asynccontextmanager
async def started_app() -> AsyncIterator[InProcess]:
    """The app (settings from the environment) with its lifespan running and the FAQ's
    matching process up, and a client that calls it."""
    from bot.app import create_app
    from bot.config import Settings

    app = create_app(Settings())
    async with AsyncExitStack() as stack:
        with redirect_stdout(io.StringIO()):  # the demo accounts' notice
            state = await stack.enter_async_context(app.router.lifespan_context(app))
        faq = state["runtime"].faq
        while faq.match_process_pid is None and Settings().faq_match_process:
            await asyncio.sleep(0.05)  # the FAQ's matching process is starting
        yield InProcess(app, dict(state))


async def run(rate: float, seconds: float, folder: Path, seed: int) -> dict[str, float]:
    os.environ["MINSHI_DATABASE_URL"] = f"sqlite:///{folder / 'paced.db'}"
    os.environ["MINSHI_ATTACHMENTS_DIR"] = str(folder / "attachments")
    async with started_app() as client:
        load = Load(client, seed)
        await _paced(load, rate, min(2.0, seconds))  # warm: FAQ, caches
        return await _paced(load, rate, seconds)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, nargs="+", default=[1000.0], help="messages/s")
    parser.add_argument("--seconds", type=float, default=8.0, help="measured seconds a run (8)")
    parser.add_argument("--repeat", type=int, default=1, help="runs a rate (1)")
    parser.add_argument("--folder", type=Path, help="where the database goes (a temporary one)")
    parser.add_argument("--seed", type=int, default=16)
    args = parser.parse_args(argv)
    print(
        "| rate/s | messages | loop CPU ms/message | all CPU ms/message | loop busy"
        " | p50 ms | p99 ms | errors |"
    )
    print("|---|---|---|---|---|---|---|---|")
    failed = False
    for rate in args.rate:
        rows = []
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory(prefix="minshi-paced-", dir=args.folder) as tmp:
                rows.append(asyncio.run(run(rate, args.seconds, Path(tmp), args.seed)))
            r = rows[-1]
            print(
                f"| {rate:.0f} | {r['messages']:.0f} | {r['loop_ms']:.3f} | {r['cpu_ms']:.3f} |"
                f" {r['busy']:.0f}% | {r['p50']:.1f} | {r['p99']:.1f} | {r['errors']:.0f} |",
                flush=True,
            )
        if len(rows) > 1:
            print(
                f"| {rate:.0f} median | | {statistics.median(r['loop_ms'] for r in rows):.3f} |"
                f" {statistics.median(r['cpu_ms'] for r in rows):.3f} | | |"
                f" {statistics.median(r['p99'] for r in rows):.1f} | |"
            )
        failed = failed or any(r["errors"] for r in rows)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
