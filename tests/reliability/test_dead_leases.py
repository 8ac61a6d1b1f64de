"""What a killed process was sending goes out at the next start, not after its lease.

Lease holders are tagged host:pid:start (common.liveness). Real processes here:
one is killed with SIGKILL between a send and its record, another stays alive
holding a lease. A worker started afterwards on the same database — its clock
standing still, so no lease can have run out — sends what the dead one held at
once and leaves the live one's entry alone until that process dies too.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from bot.storage import Database, SqlStore, migrate
from common.clock import ManualClock
from common.delivery import DeliveryWorker, Sender
from common.liveness import ProcessTag, is_gone, this_process
from common.messages import Outbound
from common.outbox import Delivered, DeliveryResult, Destination, OutboxEntry, OutboxState

ROOT = Path(__file__).parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
ALICE = Destination("telegram", "alice")
WANG = Destination("wechat", "wang")

_WORKER = textwrap.dedent(
    """
    import asyncio, os, signal, sys
    from datetime import timedelta
    from bot.storage import Database, SqlStore
    from common.clock import ManualClock
    from common.delivery import DeliveryWorker
    from common.outbox import Delivered

    class Platform:
        async def send(self, entry):
            with open(sys.argv[2], "a") as log:
                log.write(entry.message.text + "\\n")
            if entry.message.text == "a2":
                os.kill(os.getpid(), signal.SIGKILL)  # dies between send and record
            if entry.message.text == "w1":
                print("holding", flush=True)  # alive, its lease running for an hour
                await asyncio.Event().wait()
            return Delivered()

    async def main():
        async with Database(sys.argv[1]) as db:
            worker = DeliveryWorker(
                SqlStore(db), {sys.argv[3]: Platform()}, ManualClock(), lease=timedelta(hours=1)
            )
            await worker.run_once()

    asyncio.run(main())
    """
)


class Logged:
    def __init__(self, log: Path) -> None:
        self.log = log

    async def send(self, entry: OutboxEntry) -> DeliveryResult:
        with self.log.open("a") as log:
            log.write(entry.message.text + "\n")
        return Delivered()


def sent(log: Path) -> list[str]:
    return log.read_text().split()


async def deliver_until(store: SqlStore, senders: Mapping[str, Sender], done: list[str]) -> int:
    """Run a freshly started worker (clock standing still) until the entries with these
    texts are delivered; its resend count."""
    worker = DeliveryWorker(store, senders, ManualClock(), poll_seconds=0.05)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        async with asyncio.timeout(20):
            while True:
                records = await store.outbox_records()
                states = {r.body["text"]: r.state for r in records}
                if all(states[t] is OutboxState.DELIVERED for t in done):
                    return worker.stats.resends
                await asyncio.sleep(0.05)
    finally:
        stop.set()
        await task


async def test_a_dead_holders_entries_go_out_at_once_a_live_holders_stay_put(
    tmp_path: Path,
) -> None:
    db_path, log = tmp_path / "outbox.db", tmp_path / "sent.txt"
    log.touch()
    async with Database(db_path) as db:
        await migrate(db)
        store = SqlStore(db)
        now = ManualClock()()
        async with store.transaction() as w:
            for dest, text in ((ALICE, "a1"), (ALICE, "a2"), (ALICE, "a3"), (WANG, "w1")):
                await w.enqueue(dest, Outbound(text), now)

        command = [sys.executable, "-c", _WORKER, str(db_path), str(log)]
        holder = subprocess.Popen(
            [*command, "wechat"], cwd=ROOT, env=ENV, stdout=subprocess.PIPE, text=True
        )
        try:
            assert holder.stdout is not None
            assert await asyncio.to_thread(holder.stdout.readline) == "holding\n"
            dying = subprocess.run(
                [*command, "telegram"], cwd=ROOT, env=ENV, capture_output=True, timeout=60
            )
            assert dying.returncode == -signal.SIGKILL, dying.stderr
            assert sent(log) == ["w1", "a1", "a2"]
            assert len(await store.outbox_lease_owners(now)) == 2  # an hour to run, each

            senders: dict[str, Sender] = {"telegram": Logged(log), "wechat": Logged(log)}
            resends = await deliver_until(store, senders, ["a1", "a2", "a3"])
            assert sent(log) == ["w1", "a1", "a2", "a2", "a3"]  # a2 again: it was cut off
            assert resends == 1
            (w1,) = await store.outbox_records(WANG)
            assert w1.state is OutboxState.PENDING  # its holder is alive: not touched
        finally:
            holder.kill()
            holder.wait()
            holder.stdout.close()  # type: ignore[union-attr]
        assert await deliver_until(store, senders, ["w1"]) == 1
        assert sent(log) == ["w1", "a1", "a2", "a2", "a3", "w1"]


def test_a_tag_says_gone_only_for_a_process_known_to_be_dead() -> None:
    me = this_process()
    assert not is_gone(str(me))
    assert not is_gone(f"{me}:worker-7")  # an owner adds its own suffix
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from common.liveness import this_process;"
            " print(this_process(), flush=True); sys.stdin.read()",
        ],
        cwd=ROOT,
        env=ENV,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdin is not None
    tag = child.stdout.readline().strip()
    parsed = ProcessTag.parse(tag)
    assert parsed is not None and parsed.pid == child.pid
    assert (parsed.host, parsed.boot, parsed.namespace) == (me.host, me.boot, me.namespace)
    assert not is_gone(tag)  # running
    child.stdin.close()
    child.wait()
    child.stdout.close()
    assert is_gone(tag)  # exited

    assert is_gone(str(replace(me, started=me.started + "0")))  # the pid now runs another
    assert is_gone(str(replace(me, boot="0" * 12)))  # before the machine last booted
    assert not is_gone(str(replace(me, host="elsewhere")))  # another machine: cannot tell
    assert not is_gone(str(replace(me, namespace="1")))  # another container: cannot tell
    assert not is_gone("w1") and not is_gone("")  # not a tag (older owners, tests)
