"""SQLite group commit: blocks that arrive together share one COMMIT (one fsync), and
each ``transaction()`` ends only once its writes are on disk.

"On disk" is checked as another process would: a separate connection to the same
file, and a writer killed with SIGKILL right after it acknowledged its writes.
The COMMITs are counted with SQLite's statement trace of the service's connection.
"""

from __future__ import annotations

import asyncio
import errno
import signal
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path

import pytest

from bot.storage import Database, _sqlite_wal
from bot.storage._sqlite_wal import WalSync
from common.unavailable import StorageProblem, StorageUnavailable

ROOT = Path(__file__).resolve().parents[2]


def _committed(path: Path) -> set[int]:
    """The rows another process sees."""
    with closing(sqlite3.connect(path)) as conn:
        return {row[0] for row in conn.execute("SELECT n FROM notes")}


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    async with Database(tmp_path / "g.db") as opened:
        async with opened.transaction() as tx:
            await tx.execute("CREATE TABLE notes (n INTEGER PRIMARY KEY)")
        yield opened


def _count_commits(db: Database) -> list[str]:
    commits: list[str] = []
    db.conn.set_trace_callback(lambda sql: commits.append(sql) if sql == "COMMIT" else None)
    return commits


async def test_blocks_arriving_together_share_a_commit_and_each_ends_durable(
    db: Database,
) -> None:
    commits = _count_commits(db)
    seen_on_exit: dict[int, bool] = {}

    async def write(n: int) -> None:
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO notes (n) VALUES (?)", (n,))
        seen_on_exit[n] = n in _committed(db.path)

    await asyncio.gather(*(write(n) for n in range(50)))
    assert all(seen_on_exit.values()) and len(seen_on_exit) == 50
    assert 1 <= len(commits) <= 3  # not one per block


async def test_blocks_ending_one_after_another_under_load_share_commits(db: Database) -> None:
    # Requests arriving every half millisecond: each block ends before the next one
    # begins, yet COMMITs stay a few milliseconds apart, so they share them.
    commits = _count_commits(db)
    loop = asyncio.get_running_loop()
    start = loop.time()

    async def write(n: int) -> None:
        await asyncio.sleep(max(0.0, start + n * 0.0005 - loop.time()))
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO notes (n) VALUES (?)", (n,))

    await asyncio.gather(*(write(n) for n in range(12)))
    assert _committed(db.path) == set(range(12))
    assert len(commits) <= 6, commits  # one a block (12) when each commits as it ends


async def test_a_block_that_fails_is_rolled_back_alone(db: Database) -> None:
    commits = _count_commits(db)

    async def write(n: int) -> None:
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO notes (n) VALUES (?)", (n,))
            if n == 3:
                raise ValueError("a bug in this block")

    results = await asyncio.gather(*(write(n) for n in range(6)), return_exceptions=True)
    assert [type(r).__name__ for r in results] == ["NoneType"] * 3 + ["ValueError"] + [
        "NoneType"
    ] * 2
    assert _committed(db.path) == {0, 1, 2, 4, 5}
    assert len(commits) <= 2


async def test_a_constraint_error_leaves_the_other_blocks_of_the_batch_intact(
    db: Database,
) -> None:
    async def write(n: int) -> None:
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO notes (n) VALUES (?)", (n,))

    results = await asyncio.gather(write(1), write(1), write(2), return_exceptions=True)
    assert isinstance(results[1], sqlite3.IntegrityError)
    assert _committed(db.path) == {1, 2}


async def test_a_caller_gone_while_its_batch_is_flushed_leaves_the_others_waiting(
    db: Database,
) -> None:
    """A request cancelled (its client went away) while its block waits for the disk:
    its writes stay in the batch, and the other blocks of that batch still end durable."""
    written = asyncio.Event()

    async def write(n: int) -> None:
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO notes (n) VALUES (?)", (n,))
            if n == 0:
                written.set()

    gone = asyncio.create_task(write(0))
    others = [asyncio.create_task(write(n)) for n in range(1, 4)]
    await written.wait()
    for _ in range(3):  # the block ends and waits for its batch's fsync
        await asyncio.sleep(0)
    assert not gone.done()
    gone.cancel()
    await asyncio.gather(*others)
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert _committed(db.path) == {0, 1, 2, 3}


async def test_a_read_outside_a_block_returns_only_what_is_durable(db: Database) -> None:
    async def write() -> None:
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO notes (n) VALUES (7)")

    async def read() -> bool:
        await asyncio.sleep(0)  # queued behind the writer, before its commit
        row = await db.fetchone("SELECT COUNT(*) AS c FROM notes")
        assert row is not None and row["c"] == 1
        return 7 in _committed(db.path)  # what it saw is on disk when it returns

    _, durable = await asyncio.gather(write(), read())
    assert durable


async def test_the_blocks_of_a_batch_become_visible_together(db: Database) -> None:
    """Another process sees none of the blocks queued together until their COMMIT."""
    visible: set[int] = set()

    async def write(n: int) -> None:
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO notes (n) VALUES (?)", (n,))
            visible.add(len(_committed(db.path)))

    await asyncio.gather(*(write(n) for n in range(20)))
    assert visible == {0}  # one commit for all twenty, not one after each
    assert len(_committed(db.path)) == 20


_WRITER = """
import asyncio, sys
from bot.storage import Database

async def main():
    async with Database(sys.argv[1]) as db:
        async with db.transaction() as tx:
            await tx.execute("CREATE TABLE notes (n INTEGER PRIMARY KEY)")
        print("ready", flush=True)

        async def write(first):
            for n in range(first, first + 100_000, 100):
                async with db.transaction() as tx:
                    await tx.execute("INSERT INTO notes (n) VALUES (?)", (n,))
                print(n, flush=True)  # acknowledged: the caller may rely on it now

        await asyncio.gather(*(write(first) for first in range(100)))

asyncio.run(main())
"""


def test_what_was_acknowledged_survives_kill_9(tmp_path: Path) -> None:
    path = tmp_path / "k.db"
    writer = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert writer.stdout is not None
    acknowledged: set[int] = set()
    try:
        assert writer.stdout.readline().strip() == "ready"
        while len(acknowledged) < 2_000:
            line = writer.stdout.readline()
            assert line, "the writer stopped before it was killed"
            acknowledged.add(int(line))
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    with writer.stdout:
        acknowledged |= {int(line) for line in writer.stdout.read().split()}
    assert acknowledged <= _committed(path)


async def test_a_block_ends_only_after_the_wal_is_fsynced_after_its_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The COMMIT does not wait for the disk; the block does: until an fsync of the WAL
    that began after its COMMIT has returned (slowed down here, to overlap with writes)."""
    events: list[str] = []
    sync = WalSync._sync

    async def slow_sync(self: WalSync, loop: asyncio.AbstractEventLoop) -> None:
        events.append("fsync begins")
        await asyncio.sleep(0.02)
        await sync(self, loop)
        events.append("fsync returned")

    async with Database(tmp_path / "f.db") as db:
        async with db.transaction() as tx:  # the first fsync also waits for the fsync process
            await tx.execute("CREATE TABLE notes (n INTEGER PRIMARY KEY)")
        monkeypatch.setattr(WalSync, "_sync", slow_sync)
        db.conn.set_trace_callback(lambda sql: events.append(sql) if sql == "COMMIT" else None)

        async def write(n: int) -> None:
            await asyncio.sleep(0.005 * n)  # spread over several fsyncs
            async with db.transaction() as tx:
                await tx.execute("INSERT INTO notes (n) VALUES (?)", (n,))
                events.append(f"block {n} written")
            events.append(f"block {n} ended")

        await asyncio.gather(*(write(n) for n in range(12)))
    assert events.count("fsync begins") >= 3  # the writes overlapped the fsyncs
    for n in range(12):
        end = events.index(f"block {n} ended")
        committed = events.index("COMMIT", events.index(f"block {n} written"))
        began = events.index("fsync begins", committed)
        assert began < events.index("fsync returned", began) < end


async def test_the_wal_starts_over_under_steady_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checkpoints run beside the writer; the WAL file stays small however long it writes."""
    monkeypatch.setattr(_sqlite_wal, "_CHECKPOINT_EVERY", 0.0)
    monkeypatch.setattr(_sqlite_wal, "_RESTART_FRAMES", 100)
    async with Database(tmp_path / "w.db") as db:
        async with db.transaction() as tx:
            await tx.execute("CREATE TABLE notes (n INTEGER PRIMARY KEY, body BLOB)")

        async def write(first: int) -> None:
            for n in range(first, first + 2_000, 10):
                async with db.transaction() as tx:
                    await tx.execute("INSERT INTO notes VALUES (?, ?)", (n, bytes(3000)))

        await asyncio.gather(*(write(first) for first in range(10)))  # 2,000 pages and more
        wal_pages = (tmp_path / "w.db-wal").stat().st_size // 4096
        row = await db.fetchone("SELECT COUNT(*) AS c FROM notes")
    assert row is not None and row["c"] == 2_000
    assert wal_pages < 600


async def test_a_failed_fsync_fails_the_blocks_waiting_for_it_and_the_next_one_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A disk error while the WAL is flushed: the writes waiting for it are not known to
    be safe, so their blocks raise StorageUnavailable (the resident is asked to send
    again); reads and the next writes work as soon as the disk does."""
    sync = WalSync._sync
    failing = True

    async def eio_once(self: WalSync, loop: asyncio.AbstractEventLoop) -> None:
        if failing:
            raise OSError(errno.EIO, "Input/output error")
        await sync(self, loop)

    monkeypatch.setattr(WalSync, "_sync", eio_once)
    async with Database(tmp_path / "e.db") as db:
        with pytest.raises(StorageUnavailable) as raised:
            async with db.transaction() as tx:
                await tx.execute("CREATE TABLE notes (n INTEGER PRIMARY KEY)")
        assert raised.value.problem is StorageProblem.IO
        failing = False
        assert await db.fetchone("SELECT 1 AS one") is not None  # not the old failure again
        async with db.transaction() as tx:
            await tx.execute("CREATE TABLE IF NOT EXISTS notes (n INTEGER PRIMARY KEY)")
            await tx.execute("INSERT INTO notes (n) VALUES (1)")
        row = await db.fetchone("SELECT COUNT(*) AS c FROM notes")
    assert row is not None and row["c"] == 1
    assert _committed(tmp_path / "e.db") == {1}
