"""The HTTP path alone: what a request costs `minshi serve` before any dialog runs.

Run: .venv/bin/python benchmarks/http_path.py [--seconds S] [--connections N] [--repeat R]

Starts `minshi serve` on a new SQLite file and asks GET /readyz (no database,
no dialog) from N keep-alive connections, each sending its next request when
the answer arrives, for S seconds. Prints requests a second and the CPU a
request of the service's event loop thread and of this client. What it
measures is what every web chat message pays on top of its turn: uvicorn,
the middleware, routing, the JSON response, the access log line. Run it in
two checkouts in turn to compare builds.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from load import RawClient, Service  # noqa: E402  (beside this script)


async def ask(port: int, seconds: float, connections: int) -> int:
    """Requests answered 200 within ``seconds``; anything else stops the run."""
    clients = [RawClient(port) for _ in range(connections)]
    deadline = time.perf_counter() + seconds
    answered = 0

    async def one(client: RawClient) -> None:
        nonlocal answered
        while time.perf_counter() < deadline:
            status, _, body = await client.call("GET", "/readyz")
            if status != 200:
                raise SystemExit(f"GET /readyz answered {status}: {body}")
            answered += 1

    try:
        await asyncio.gather(*(one(client) for client in clients))
    finally:
        for client in clients:
            await client.close()
    return answered


async def measure(service: Service, seconds: float, connections: int) -> tuple[float, float, float]:
    await ask(service.port, min(2.0, seconds), connections)  # warm up
    loop_before = service.cpu_seconds(main_thread=True)
    mine_before = time.process_time()
    started = time.perf_counter()
    answered = await ask(service.port, seconds, connections)
    wall = time.perf_counter() - started
    loop = service.cpu_seconds(main_thread=True) - loop_before
    mine = time.process_time() - mine_before
    return answered / wall, loop / answered * 1e6, mine / answered * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="measured seconds a run (8)")
    parser.add_argument("--connections", type=int, default=50, help="keep-alive connections (50)")
    parser.add_argument("--repeat", type=int, default=3, help="runs, each on a new service (3)")
    args = parser.parse_args(argv)
    print("| run | requests/s | event loop CPU µs/request | client CPU µs/request |")
    print("|---|---|---|---|")
    loops = []
    for run in range(1, args.repeat + 1):
        with tempfile.TemporaryDirectory(dir=ROOT) as folder:
            service = Service(Path(folder))
            service.start()
            try:
                asyncio.run(service.healthy())
                rate, loop, mine = asyncio.run(measure(service, args.seconds, args.connections))
            finally:
                service.kill()
        loops.append(loop)
        print(f"| {run} | {rate:.0f} | {loop:.0f} | {mine:.0f} |", flush=True)
    print(f"| median | | {statistics.median(loops):.0f} | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
