"""The WAL's fsync in a process of its own: it runs, reports errors, is replaced if it
dies, and ends with the database."""

from __future__ import annotations

import errno
import logging
import os
import signal
from pathlib import Path

import pytest

from bot.storage import Database
from bot.storage._fsync_process import FsyncProcess
from bot.storage._sqlite_wal import WalSync


async def _write(db: Database, n: int) -> None:
    async with db.transaction() as tx:
        await tx.execute("CREATE TABLE IF NOT EXISTS notes (n INTEGER PRIMARY KEY)")
        await tx.execute("INSERT INTO notes (n) VALUES (?)", (n,))


def _fsync_process(db: Database) -> int:
    wal = db._wal
    assert isinstance(wal, WalSync) and wal._process is not None
    pid = wal._process.pid
    assert pid is not None and pid != os.getpid()
    return pid


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


async def test_the_wal_is_fsynced_by_a_child_process_that_ends_with_the_database(
    tmp_path: Path,
) -> None:
    async with Database(tmp_path / "p.db") as db:
        await _write(db, 1)
        pid = _fsync_process(db)
        opened = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
        assert str(tmp_path / "p.db-wal") in opened
    assert not _alive(pid)


async def test_an_fsync_error_in_the_process_is_raised_with_its_errno(tmp_path: Path) -> None:
    process = FsyncProcess(Path(os.devnull))  # fdatasync of a device: EINVAL
    await process.start()
    try:
        with pytest.raises(OSError) as raised:
            await process.sync()
        assert raised.value.errno == errno.EINVAL
        with pytest.raises(OSError):  # it answers again: one error does not end it
            await process.sync()
    finally:
        await process.stop()


async def test_a_killed_fsync_process_is_replaced_and_no_write_is_lost(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Killed between two fsyncs (or during one): the blocks waiting then end once the
    WAL was fsynced on a thread, and a new process takes the next ones."""
    async with Database(tmp_path / "k.db") as db:
        await _write(db, 1)
        first = _fsync_process(db)
        os.kill(first, signal.SIGKILL)
        with caplog.at_level(logging.WARNING):
            await _write(db, 2)
            await _write(db, 3)
        assert "fsync process" in caplog.text
        second = _fsync_process(db)
        assert second != first and _alive(second)
        row = await db.fetchone("SELECT COUNT(*) AS c FROM notes")
    assert row is not None and row["c"] == 3


async def test_ctrl_c_in_the_terminal_leaves_the_fsync_process_working(tmp_path: Path) -> None:
    """SIGINT reaches the whole process group; the service's last fsyncs must still run."""
    async with Database(tmp_path / "i.db") as db:
        await _write(db, 1)
        pid = _fsync_process(db)
        os.kill(pid, signal.SIGINT)
        os.kill(pid, signal.SIGTERM)
        await _write(db, 2)
        assert _fsync_process(db) == pid
