"""Durability and checkpoints of an SQLite database's WAL, off the writer's path.

With synchronous=FULL SQLite fsyncs the WAL inside every COMMIT, and the
automatic checkpoint — two more fsyncs and a copy of every changed page —
runs inside the COMMIT that fills the WAL. Either holds the one connection,
and every turn queued behind it, for the whole flush. Here the connection
commits with synchronous=NORMAL (the WAL's writes are ordered, never waited
for) and without automatic checkpoints, and this module does the waiting
beside it:

- ``WalSync.after_commit`` hands a committed batch over; the WAL file is
  fsynced by a small process of its own (``_fsync_process.py``: no thread
  waiting for the GIL on a busy loop) and the batch is settled (its blocks
  end) when an fsync that started after its COMMIT returns. The batches
  committed during one fsync share the next.
- Every so often the pages in the WAL are copied back into the database file
  by a PASSIVE checkpoint on a connection and thread of its own, which never
  blocks the writer. SQLite starts the WAL over only when a checkpoint has
  copied all of it, which under steady writes a concurrent checkpoint rarely
  does, so once the WAL is long the writer copies the last few pages itself,
  between two batches (``restart_due``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from pathlib import Path
from typing import Protocol

from common.unavailable import StorageProblem, StorageUnavailable

from ._fsync_child import fdatasync_path
from ._fsync_process import FsyncProcess

__all__ = ["WalSync"]

log = logging.getLogger(__name__)

_CHECKPOINT_EVERY = 0.5  # seconds between background checkpoints while writes go on
_RESTART_FRAMES = 4000  # pages in the WAL (about 16 MB) before the writer finishes it


class Settles(Protocol):
    def settle(self, error: BaseException | None) -> None: ...


class WalSync:
    """The WAL of one database file: fsynced after commits, checkpointed meanwhile."""

    def __init__(self, db_path: Path) -> None:
        self._db_path = db_path
        self._path = Path(f"{db_path}-wal")
        self._sync_thread = ThreadPoolExecutor(1, thread_name_prefix=f"fsync {self._path.name}")
        self._checkpoint_thread = ThreadPoolExecutor(
            1, thread_name_prefix=f"checkpoint {db_path.name}"
        )
        self._committed: list[Settles] = []
        self._wanted = asyncio.Event()
        self._idle = asyncio.Event()  # every batch handed over is settled
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self._fd: int | None = None  # the WAL, for fsyncs on the thread
        self._process: FsyncProcess | None = None
        self._thread_only = False  # the fsync process could not start
        self._starting: asyncio.Task[None] | None = None
        self._checkpointer: sqlite3.Connection | None = None
        self._checkpoint: asyncio.Future[None] | None = None
        self._checkpointed_at = time.monotonic()
        self.restart_due = False  # the WAL is long: the writer should finish the copy

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())
        # Started meanwhile, so that the first commit seldom waits for it.
        self._starting = asyncio.create_task(self._start_process())

    def after_commit(self, batch: Settles) -> None:
        """``batch`` committed: settle it once the WAL is on disk."""
        self._committed.append(batch)
        self._idle.clear()
        self._wanted.set()

    async def idle(self) -> None:
        """Return when every batch handed over is settled (no fsync is running)."""
        await self._idle.wait()

    async def stop(self) -> None:
        """After the batches committed so far are settled and any checkpoint ended."""
        await self.idle()
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
        if self._checkpoint is not None:
            with suppress(Exception):
                await self._checkpoint
        if self._starting is not None:
            await self._starting
            self._starting = None
        if self._process is not None:
            await self._process.stop()
            self._process = None
        self._sync_thread.shutdown()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._checkpoint_thread, self._close_checkpointer)
        self._checkpoint_thread.shutdown()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wanted.wait()
            self._wanted.clear()
            batches, self._committed = self._committed, []
            try:
                await self._sync(loop)
            except OSError as exc:  # the disk failed: these blocks are not known to be safe
                detail = f"fsync of {self._path.name}: {exc}"
                error: BaseException | None = StorageUnavailable(StorageProblem.IO, detail)
            else:
                error = None
            for batch in batches:
                batch.settle(error)
            if not self._committed:
                self._idle.set()
            self._maybe_checkpoint(loop)

    async def _sync(self, loop: asyncio.AbstractEventLoop) -> None:
        """The WAL's fdatasync, in the fsync process; on a thread when that process cannot
        start, or just ended (whether it synced is then unknown; a new one is started
        for the next fsync)."""
        if self._starting is not None:
            await self._starting
            self._starting = None
        if self._process is None and not self._thread_only:
            await self._start_process()
        if self._process is not None:
            try:
                await self._process.sync()
                return
            except ConnectionError:
                log.warning("the fsync process of %s ended; starting another", self._path.name)
                await self._process.stop()
                self._process = None
        await loop.run_in_executor(self._sync_thread, self._fsync)

    async def _start_process(self) -> None:
        process = FsyncProcess(self._path)
        try:
            await process.start()
        except OSError as exc:
            log.warning("no fsync process (%s): the WAL is fsynced on a thread", exc)
            self._thread_only = True
        else:
            self._process = process

    def _fsync(self) -> None:
        self._fd = fdatasync_path(self._path, self._fd)

    def _maybe_checkpoint(self, loop: asyncio.AbstractEventLoop) -> None:
        running = self._checkpoint is not None and not self._checkpoint.done()
        if running or time.monotonic() - self._checkpointed_at < _CHECKPOINT_EVERY:
            return
        self._checkpointed_at = time.monotonic()
        self._checkpoint = loop.run_in_executor(self._checkpoint_thread, self._copy_back)
        self._checkpoint.add_done_callback(self._checkpoint_done)

    def _copy_back(self) -> None:
        if self._checkpointer is None:
            self._checkpointer = sqlite3.connect(self._db_path, check_same_thread=False)
            self._checkpointer.execute("PRAGMA synchronous=NORMAL")
        _busy, frames, _copied = self._checkpointer.execute(
            "PRAGMA wal_checkpoint(PASSIVE)"
        ).fetchone()
        if frames >= _RESTART_FRAMES:
            self.restart_due = True

    def _checkpoint_done(self, done: asyncio.Future[None]) -> None:
        error = None if done.cancelled() else done.exception()
        if error is not None:  # a full or failing disk: COMMITs and fsyncs report it too
            log.warning("checkpoint of %s failed: %s", self._db_path.name, error)

    def _close_checkpointer(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.close()
            self._checkpointer = None
