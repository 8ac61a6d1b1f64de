"""The web chat pipeline in process, at a fixed pace: CPU a message and latency.

Run: .venv/bin/python benchmarks/paced.py [--rate R ...] [--seconds S] [--repeat N]

The same residents and conversations as load.py, but the app is called
directly as ASGI in this process (no HTTP server, no generator process
competing for the cores), so the CPU a message is the pipeline's own:
engine, dialogs, FAQ, storage and its group commit. Messages are due at a
fixed pace (``--rate`` a second, at most 200 at once), each from a resident
picked at random among those not waiting for a reply; latency counts from the
moment a message was due. The database is a new SQLite file on the disk of
``--folder`` (synchronous=FULL, as served). It tells apart changes too small
for load.py to show through its noise: run both builds in turn, a few times.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import io
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import AsyncExitStack, redirect_stdout
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from load import Resident, _questions  # noqa: E402  (beside this script)

from common import jsontext  # noqa: E402

_IN_FLIGHT = 200


class App:
    """The ASGI app with its lifespan state, called as the server would."""

    def __init__(self, app: Any, state: dict[str, Any]) -> None:
        self.app = app
        self.state = state

    async def call(
        self, path: str, body: dict[str, Any] | None = None, token: str = ""
    ) -> tuple[int, Any]:
        data = jsontext.dumps_bytes(body) if body is not None else b""
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(data))]
        if token:
            headers.append((b"authorization", f"Bearer {token}".encode()))
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": headers,
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
        return out["status"], jsontext.loads(out["body"] or b"null")


async def _paced(app: App, rate: float, seconds: float, rng: random.Random) -> dict[str, float]:
    questions = _questions()

    def new_resident() -> Resident:
        return Resident(random.Random(rng.random()), questions, 0)

    ready = [new_resident() for _ in range(_IN_FLIGHT)]
    latencies: list[float] = []

    async def one(resident: Resident, due: float) -> None:
        if not resident.token:
            status, body = await app.call("/api/chat/session")
            assert status == 201, body
            resident.token = body["token"]
        status, body = await app.call("/api/chat/messages", resident.next_body(), resident.token)
        assert status == 200, body
        resident.accept(body["replies"])
        latencies.append(time.perf_counter() - due)
        ready.append(new_resident() if resident.done else resident)

    tasks: set[asyncio.Task[None]] = set()
    total = int(rate * seconds)
    cpu, loop_cpu, start = time.process_time(), time.thread_time(), time.perf_counter()
    for n in range(total):
        due = start + n / rate
        if (wait := due - time.perf_counter()) > 0.0005:
            await asyncio.sleep(wait)
        while not ready:  # every resident waits for a reply: this message is late
            await asyncio.sleep(0.001)
        resident = ready.pop(rng.randrange(len(ready)))
        task = asyncio.create_task(one(resident, due))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    await asyncio.gather(*tasks)
    wall = time.perf_counter() - start
    latencies.sort()
    return {
        "messages": total,
        "loop_ms": (time.thread_time() - loop_cpu) / total * 1000,
        "cpu_ms": (time.process_time() - cpu) / total * 1000,
        "busy": (time.thread_time() - loop_cpu) / wall * 100,
        "p50": latencies[len(latencies) // 2] * 1000,
        "p99": latencies[int(len(latencies) * 0.99)] * 1000,
    }


async def run(rate: float, seconds: float, folder: Path, seed: int) -> dict[str, float]:
    os.environ["MINSHI_DATABASE_URL"] = f"sqlite:///{folder / 'paced.db'}"
    os.environ["MINSHI_ATTACHMENTS_DIR"] = str(folder / "attachments")
    from bot.app import create_app
    from bot.config import Settings

    app = create_app(Settings())
    async with AsyncExitStack() as stack:
        with redirect_stdout(io.StringIO()):  # the demo accounts' notice
            state = await stack.enter_async_context(app.router.lifespan_context(app))
        gc.freeze()  # as `minshi serve` does after start-up
        called = App(app, dict(state))
        rng = random.Random(seed)
        await _paced(called, rate, min(2.0, seconds), rng)  # warm: FAQ, caches
        return await _paced(called, rate, seconds, rng)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, nargs="+", default=[1000.0], help="messages/s")
    parser.add_argument("--seconds", type=float, default=8.0, help="measured seconds a run (8)")
    parser.add_argument("--repeat", type=int, default=1, help="runs a rate (1)")
    parser.add_argument("--folder", type=Path, help="where the database goes (a temporary one)")
    parser.add_argument("--seed", type=int, default=16)
    args = parser.parse_args(argv)
    print(
        "| rate/s | messages | loop CPU ms/message | process CPU ms/message | loop busy"
        " | p50 ms | p99 ms |"
    )
    print("|---|---|---|---|---|---|---|")
    for rate in args.rate:
        rows = []
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory(prefix="minshi-paced-", dir=args.folder) as tmp:
                rows.append(asyncio.run(run(rate, args.seconds, Path(tmp), args.seed)))
            r = rows[-1]
            print(
                f"| {rate:.0f} | {r['messages']:.0f} | {r['loop_ms']:.3f} | {r['cpu_ms']:.3f} |"
                f" {r['busy']:.0f}% | {r['p50']:.1f} | {r['p99']:.1f} |",
                flush=True,
            )
        if len(rows) > 1:
            print(
                f"| {rate:.0f} median | | {statistics.median(r['loop_ms'] for r in rows):.3f} |"
                f" {statistics.median(r['cpu_ms'] for r in rows):.3f} | | |"
                f" {statistics.median(r['p99'] for r in rows):.1f} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
