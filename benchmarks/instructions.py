"""Instructions a message: the web chat pipeline counted by valgrind, not timed.

Run: .venv/bin/python benchmarks/instructions.py [--messages N] [--http] [--match-process]

On a shared machine the same build's CPU time a message moves by a quarter
from hour to hour, which hides a change of a few percent. callgrind (valgrind)
counts the instructions a process executes instead: the same build gives the
same count within a few tenths of a percent, whatever else the machine does.
Residents as in load.py (the same conversations; 20 at once, each sending its
next message when the reply comes) send ``--messages`` messages after 200 of
warm-up; only those are counted.

- In process (default): the app called as ASGI, as paced.py does, with its
  lifespan; the client's own work is counted too.
- ``--http``: ``minshi serve`` runs under callgrind and this process drives it
  over HTTP; the count is the service's process, every thread of it.

The FAQ matches in the counted process unless ``--match-process`` (then its
matching process, a child, is not counted, and the count varies by a percent
or two with the timing of its answers). Needs valgrind and a C compiler
(Debian: valgrind, gcc). Run it in two checkouts to compare builds.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from load import Client, Load, RawClient, Tally, _free_port  # noqa: E402  (beside this script)
from paced import started_app  # noqa: E402

_WARM_UP = 200
_RESIDENTS = 20
# Started and stopped from inside the counted process (valgrind's client requests).
_MARKS = r"""
#include <valgrind/callgrind.h>
void count_from_here(void) { CALLGRIND_ZERO_STATS; CALLGRIND_START_INSTRUMENTATION; }
void count_to_here(void) { CALLGRIND_DUMP_STATS_AT("counted"); CALLGRIND_STOP_INSTRUMENTATION; }
"""
_VALGRIND = ["valgrind", "--tool=callgrind", "--instr-atstart=no"]


async def converse(client: Client, messages: int) -> Tally:
    """``messages`` messages from residents who each answer the replies they get."""
    load = Load(client, seed=16)
    tally = Tally()
    left = messages

    async def one_after_another() -> None:
        nonlocal left
        while left > 0:
            resident = load.resident()
            while left > 0:
                left -= 1
                if not await load.send(resident, tally):
                    break

    await asyncio.gather(*(one_after_another() for _ in range(_RESIDENTS)))
    if tally.errors:
        raise SystemExit(f"the service did not answer as expected: {dict(tally.errors)}")
    return tally


def _instructions(dump: Path) -> int:
    """The total of a callgrind output file."""
    found = re.search(r"^totals: (\d+)", dump.read_text(), re.MULTILINE)
    if found is None:
        raise SystemExit(f"no totals in {dump}")
    return int(found.group(1))


def _service_env(folder: Path, match_process: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINSHI_")}
    env["MINSHI_DATABASE_URL"] = f"sqlite:///{folder / 'counted.db'}"
    env["MINSHI_ATTACHMENTS_DIR"] = str(folder / "attachments")
    env["MINSHI_FAQ_MATCH_PROCESS"] = "true" if match_process else "false"
    env["PYTHONHASHSEED"] = "0"  # the same dictionaries, the same work
    env["PYTHONPATH"] = str(ROOT)
    return env


# -- in process ---------------------------------------------------------------


async def _counted_in_process(messages: int, marks: Path) -> None:
    """Runs under callgrind (``--in-process-child``)."""
    lib = ctypes.CDLL(str(marks))
    async with started_app() as client:
        await converse(client, _WARM_UP)
        lib.count_from_here()
        await converse(client, messages)
        lib.count_to_here()


def in_process(messages: int, match_process: bool, folder: Path, marks: Path) -> int:
    env = _service_env(folder, match_process)
    command = [
        *(*_VALGRIND, f"--callgrind-out-file={folder / 'callgrind.%p'}"),
        *(sys.executable, __file__, "--in-process-child", str(marks)),
        *("--messages", str(messages)),
    ]
    subprocess.run(command, env=env, check=True, capture_output=True)
    (dump,) = folder.glob("callgrind.*.1")  # the counted part (dump 1)
    return _instructions(dump)


# -- over HTTP ------------------------------------------------------------------


def _until_ready(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 600  # start-up under valgrind takes a while
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("minshi serve stopped while starting (under valgrind)")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5):
                return
        except OSError:
            time.sleep(0.5)
    raise SystemExit("minshi serve did not start within 10 minutes under valgrind")


def _control(*args: str) -> None:
    subprocess.run(["callgrind_control", *args], check=True, capture_output=True)


def over_http(messages: int, match_process: bool, folder: Path) -> int:
    port = _free_port()
    command = [
        *(*_VALGRIND, f"--callgrind-out-file={folder / 'callgrind.%p'}"),
        *(sys.executable, "-m", "bot.cli", "serve", "--port", str(port)),
    ]
    env = _service_env(folder, match_process)
    with subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    ) as server:
        try:
            _until_ready(port, server)
            asyncio.run(_drive(port, _WARM_UP))
            _control("--zero", str(server.pid))
            _control("--instr=on", str(server.pid))
            asyncio.run(_drive(port, messages))
            _control("--instr=off", str(server.pid))
            _control("--dump", str(server.pid))
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(120)
    dumps = sorted(folder.glob("callgrind.*.*"), key=lambda p: int(p.suffix[1:]))
    return _instructions(dumps[-1])


async def _drive(port: int, messages: int) -> None:
    client = RawClient(port)
    try:
        await converse(client, messages)
    finally:
        await client.close()


# -- main ---------------------------------------------------------------------


def _compile_marks(folder: Path) -> Path:
    source, library = folder / "marks.c", folder / "marks.so"
    source.write_text(_MARKS)
    compiled = subprocess.run(
        ["cc", "-O2", "-shared", "-fPIC", "-o", str(library), str(source)],
        capture_output=True,
        text=True,
    )
    if compiled.returncode:
        raise SystemExit(
            f"cannot build the counting marks (valgrind's headers?):\n{compiled.stderr}"
        )
    return library


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=400, help="messages counted (400)")
    parser.add_argument("--http", action="store_true", help="minshi serve over HTTP")
    parser.add_argument(
        "--match-process", action="store_true", help="the FAQ matches in a child process"
    )
    parser.add_argument("--in-process-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.in_process_child:
        asyncio.run(_counted_in_process(args.messages, args.in_process_child))
        return 0
    for program in ("valgrind", "callgrind_control", "cc"):
        if subprocess.run(["which", program], capture_output=True).returncode:
            raise SystemExit(f"{program} is needed (Debian: apt-get install valgrind gcc)")
    with tempfile.TemporaryDirectory(prefix="minshi-instructions-") as tmp:
        folder = Path(tmp)
        if args.http:
            total = over_http(args.messages, args.match_process, folder)
        else:
            total = in_process(args.messages, args.match_process, folder, _compile_marks(folder))
    where = "minshi serve over HTTP" if args.http else "in process"
    faq = "in a child process (not counted)" if args.match_process else "in the counted process"
    print("| where | FAQ matching | messages | instructions a message |")
    print("|---|---|---|---|")
    print(f"| {where} | {faq} | {args.messages} | {total // args.messages:,} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
