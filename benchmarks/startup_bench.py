"""Time from launching `minshi serve` to a healthy /healthz, with the shipped FAQ.

Run: .venv/bin/python benchmarks/startup_bench.py [RUNS]
Prints a table; the target is 2 s (the first start after installing also
builds the jieba and pinyin caches and is slower, so it is shown apart).
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_once(workdir: Path, cache: Path) -> float:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINSHI_")}
    env["MINSHI_CACHE_DIR"] = str(cache)
    began = time.perf_counter()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot.cli",
            "serve",
            "--port",
            str(port),
            "--db",
            str(workdir / "b.db"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=0.2):
                    return time.perf_counter() - began
            except OSError:
                if proc.poll() is not None:
                    raise SystemExit("minshi serve exited before it was healthy") from None
                time.sleep(0.01)
    finally:
        proc.terminate()
        proc.wait()


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    with tempfile.TemporaryDirectory() as tmp:
        workdir, cache = Path(tmp), Path(tmp) / "cache"
        cold = start_once(workdir, cache)
        warm = [start_once(workdir, cache) for _ in range(runs)]
    print("| start | runs | median s | best s | worst s |")
    print("|---|---|---|---|---|")
    print(f"| first (empty cache) | 1 | {cold:.2f} | {cold:.2f} | {cold:.2f} |")
    print(
        f"| usual (warm cache) | {runs} | {statistics.median(warm):.2f} |"
        f" {min(warm):.2f} | {max(warm):.2f} |"
    )


if __name__ == "__main__":
    main()
