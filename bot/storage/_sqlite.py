"""An open SQLite database file: WAL, foreign keys, full durability, group commit.

One connection does all the work, and ``transaction()`` blocks take it one
at a time (an asyncio lock). Each block runs in a savepoint of a SQL
transaction shared with the blocks queued behind it: the blocks arriving
while one batch is committed run one after another in the next transaction,
and one COMMIT makes all of them visible. A block's ``async with`` ends only
once its batch is on disk, so what a caller acknowledges afterwards survives
a crash or a power loss. A block that raises is rolled back alone, to its
savepoint; when SQLite itself rolls back the whole transaction (a full
disk), every block in it fails as if its own commit had.

On disk, with synchronous=FULL (the default): the WAL file is fsynced by a
process of its own after each COMMIT, and the batch's blocks end when that
fsync returns (``_sqlite_wal.py``). SQLite's own FULL would fsync inside the
COMMIT, holding the connection — and every turn queued for it — for the
whole flush; here the next batch runs while the previous one is flushed.

Statements inside a block run on the event loop's thread: they are short,
indexed reads and writes, and handing each to a thread and back costs more
than running it (and under load waits for the GIL). So do COMMITs: they
only write the batch's pages into the WAL. What may take long — BEGIN
(another process may hold the write lock), the COMMIT that starts the WAL
over (it syncs the new header) and reads outside a block (the console's
scans) — runs on the database's own thread.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from pathlib import Path
from typing import Any, TypeVar

from common.unavailable import StorageUnavailable

from ._dialect import SQLITE, Dialect
from ._errors import translated, unavailable_from
from ._rows import Row
from ._sqlite_wal import WalSync

__all__ = ["Database", "Row", "Transaction"]

T = TypeVar("T")
_BUSY_MS = 5000  # how long to wait for another process's write lock
# Under load, COMMITs are at least this far apart, so the blocks of the requests
# arriving meanwhile share one (see ``_commit_batches``). A block arriving alone,
# more than this after the last COMMIT, is committed at once. 5 ms cost the least
# CPU a message at 1,000 messages a second (2 and 10 ms were measured too).
_COMMIT_SPACING = 0.005


class _Batch:
    """One SQL transaction and the blocks that ran in it, waiting until it is on disk."""

    __slots__ = ("_error", "_loop", "_settled", "_waiters")

    def __init__(self) -> None:
        # Looked up once: on Python 3.11 every look-up of the running loop is a getpid().
        self._loop = asyncio.get_running_loop()
        self._settled = False
        self._error: BaseException | None = None
        # A future for each block that waits: one block's cancellation is not all's
        # (and cheaper than shielding one shared future for each of them).
        self._waiters: list[asyncio.Future[None]] = []

    def settle(self, error: BaseException | None) -> None:
        if self._settled:
            return
        self._settled, self._error = True, error
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()

    @property
    def settled_already(self) -> bool:
        return self._settled

    async def durable(self) -> None:
        """Return once the batch is on disk; raise what made it fail."""
        if not self._settled:
            waiter = self._loop.create_future()
            self._waiters.append(waiter)
            await waiter
        error = self._error
        if isinstance(error, StorageUnavailable):
            raise StorageUnavailable(error.problem, error.detail) from error
        if error is not None:
            msg = f"the transaction was not committed: {error}"
            raise RuntimeError(msg) from error


class _Block:
    """One ``Database.transaction()``: a savepoint in the open batch, left only once the
    batch is on disk. A class, not a generator-based context manager: every message
    enters one, and the generator's machinery cost more than the savepoint."""

    __slots__ = ("_batch", "_db")

    def __init__(self, db: Database) -> None:
        self._db = db
        self._batch: _Batch | None = None

    async def __aenter__(self) -> Transaction:
        db = self._db
        await db._lock.acquire()
        try:
            self._batch = await db._begin()  # translates what it raises itself
            with translated():
                db.conn.execute("SAVEPOINT block")
        except BaseException:
            self._leave()
            raise
        return Transaction(db.conn, db.dialect)

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        db, batch = self._db, self._batch
        assert batch is not None
        try:
            with translated():
                if exc is not None:
                    db._undo_block(batch, exc)
                    if isinstance(exc, sqlite3.Error):  # one of the block's statements
                        raise exc  # (a full disk and the like as StorageUnavailable)
                    return  # the block's own exception goes on
                try:
                    db.conn.execute("RELEASE block")
                except BaseException as failed:
                    db._undo_block(batch, failed)
                    raise
        finally:
            self._leave()
        await batch.durable()

    def _leave(self) -> None:
        self._db._flush.set()  # commit soon, whatever happened (never leave it open)
        self._db._lock.release()


class Database:
    dialect: Dialect = SQLITE

    def __init__(self, path: Path | str, *, synchronous: str = "FULL") -> None:
        self.path = Path(path)
        self._synchronous = synchronous
        self._conn: sqlite3.Connection | None = None
        self._thread: ThreadPoolExecutor | None = None
        self._lock = asyncio.Lock()
        self._batch: _Batch | None = None  # the open SQL transaction, if any
        self._flush = asyncio.Event()  # a block ended: its batch wants committing
        self._committed_at = 0.0  # the loop's clock at the last COMMIT
        self._committer: asyncio.Task[None] | None = None
        # synchronous=FULL: committed batches wait for the WAL's fsync (_sqlite_wal.py).
        self._wal = WalSync(self.path) if synchronous == "FULL" else None
        self._unsynced: _Batch | None = None  # the latest batch committed, maybe not on disk
        self._wal_starts_over = False  # the WAL was copied back: the next COMMIT restarts it

    async def open(self) -> None:
        if self.path.parent and not self.path.parent.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._thread = ThreadPoolExecutor(1, thread_name_prefix=f"sqlite {self.path.name}")
        with translated():
            self._conn = await self._blocking(self._connect)
        self._committer = asyncio.create_task(self._commit_batches())
        if self._wal is not None:
            self._wal.start()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        if conn.execute("PRAGMA journal_mode=WAL").fetchall()[0][0] != "wal":
            self._wal = None  # no WAL on this file system: SQLite syncs in the COMMIT
        # FULL is kept by fsyncing the WAL apart from the COMMIT (see the module's doc).
        level = "NORMAL" if self._wal is not None else self._synchronous
        conn.execute(f"PRAGMA synchronous={level}")
        if self._wal is not None:
            conn.execute("PRAGMA wal_autocheckpoint=0")  # checkpoints happen beside it
        conn.execute("PRAGMA foreign_keys=ON")
        # Each block is a savepoint: SQLite keeps a copy of every page it changes, for
        # rolling the block back alone. In memory instead of a temporary file it costs
        # a third of an insert. Never needed after a crash (the WAL is what survives).
        conn.execute("PRAGMA temp_store=MEMORY")
        conn.execute(f"PRAGMA busy_timeout={_BUSY_MS}")
        return conn

    async def close(self) -> None:
        if self._conn is None:
            return
        async with self._lock:
            await self._commit()  # what the last blocks wrote
        if self._committer is not None:
            self._committer.cancel()
            with suppress(asyncio.CancelledError):
                await self._committer
            self._committer = None
        if self._wal is not None:
            await self._wal.stop()  # after the last batches' fsync
        await self._blocking(self._conn.close)
        self._conn = None
        if self._thread is not None:
            self._thread.shutdown()
            self._thread = None

    async def __aenter__(self) -> Database:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            msg = f"database {self.path} is not open"
            raise RuntimeError(msg)
        return self._conn

    def transaction(self) -> _Block:
        """Run a block of statements atomically; roll back on any exception.

        The block ends once it is durable (committed with the blocks around it).
        """
        return _Block(self)

    def _undo_block(self, batch: _Batch, exc: BaseException) -> None:
        """Roll back one block; if SQLite rolled back everything, fail the whole batch."""
        if self.conn.in_transaction:
            try:
                self.conn.execute("ROLLBACK TO block")
                self.conn.execute("RELEASE block")
                return
            except sqlite3.Error:
                with suppress(sqlite3.Error):
                    self.conn.execute("ROLLBACK")
        # The blocks that ran before this one in the batch are gone too.
        self._batch = None
        batch.settle(unavailable_from(exc) or exc)

    async def _begin(self) -> _Batch:
        if self._batch is None:
            with translated():
                if not self._begin_now():  # another process writes: wait on the thread
                    await self._blocking(self.conn.execute, self.dialect.begin_write)
            self._batch = _Batch()
        return self._batch

    def _begin_now(self) -> bool:
        """BEGIN in place when the write lock is free (the usual case); False if taken.

        In place, because every block queued behind this one waits for it, and a
        trip to the thread and back waits for the loop's turn on a busy loop."""
        self.conn.execute("PRAGMA busy_timeout=0")
        try:
            self.conn.execute(self.dialect.begin_write)
        except sqlite3.OperationalError as exc:
            if getattr(exc, "sqlite_errorcode", None) != sqlite3.SQLITE_BUSY:
                raise
            return False
        finally:
            self.conn.execute(f"PRAGMA busy_timeout={_BUSY_MS}")
        return True

    async def _commit_batches(self) -> None:
        """Commit when blocks have ended: after the blocks already queued, which join in.
        While the WAL of the previous batch is being fsynced, the blocks ending meanwhile
        join the open batch: they could not be on disk before that fsync ends anyway,
        and one COMMIT (and one fsync) for all of them costs less than one each.

        Under load, a COMMIT also waits until ``_COMMIT_SPACING`` has passed since the
        previous one. Committing each block as soon as it ends interleaves a COMMIT, an
        fsync and their wake-ups with every few turns, which at 1,000 messages a second
        cost about a tenth more CPU a message (benchmarks/README.md).
        """
        loop = asyncio.get_running_loop()
        while True:
            await self._flush.wait()
            early = self._committed_at + _COMMIT_SPACING - loop.time()
            if early > 0:
                await asyncio.sleep(early)
            if self._wal is not None:
                await self._wal.idle()
            self._flush.clear()
            async with self._lock:
                self._committed_at = loop.time()
                await self._commit()

    async def _commit(self) -> None:
        batch, self._batch = self._batch, None
        if batch is None:
            return
        try:
            with translated():
                if self._wal is not None and not self._wal_starts_over:
                    # In place: with the WAL fsynced apart, a COMMIT only writes the
                    # batch's pages into the WAL, and a trip to the thread and back, the
                    # GIL waited for each way on a busy loop, cost more (benchmarks/README.md).
                    self.conn.execute("COMMIT")
                else:
                    # On the thread: without the WAL SQLite syncs in the COMMIT, and the
                    # first COMMIT into a WAL starting over writes and syncs its header.
                    self._wal_starts_over = False
                    await self._blocking(self.conn.execute, "COMMIT")
        except Exception as exc:
            if self.conn.in_transaction:
                with suppress(sqlite3.Error):
                    await self._blocking(self.conn.execute, "ROLLBACK")
            batch.settle(exc)
            return
        if self._wal is None:
            batch.settle(None)
            return
        self._unsynced = batch
        self._wal.after_commit(batch)
        if self._wal.restart_due:  # copy the WAL's last pages, so that it starts over
            self._wal.restart_due = False
            with suppress(sqlite3.Error):  # a full disk: the next COMMIT says so
                await self._blocking(self._read_all, "PRAGMA wal_checkpoint(PASSIVE)")
            self._wal_starts_over = True

    def _read_all(self, sql: str) -> list[Row]:
        """``sql``'s rows; a statement left unfinished would stop the next SAVEPOINT."""
        return list(self.conn.execute(sql).fetchall())

    async def _blocking(self, work: Callable[..., T], *args: Any) -> T:
        """``work`` on the database's thread. A cancelled caller still waits for it to
        end, so that the connection is never in two threads' hands."""
        future = asyncio.get_running_loop().run_in_executor(self._thread, work, *args)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            await asyncio.wait([future])
            raise

    async def _read(
        self, read: Callable[[sqlite3.Cursor], T], sql: str, params: Sequence[Any]
    ) -> T:
        """A read outside any block, on the database's thread. It returns only what is
        durable: when it ran inside an open batch, it waits for that batch's commit."""

        def run() -> T:
            return read(self.conn.execute(self.dialect.sql(sql), params))

        async with self._lock:
            batch = self._batch or self._unsynced
            if batch is not None and batch.settled_already:
                batch = None
            with translated():
                result = await self._blocking(run)
        if batch is not None:
            await batch.durable()
        return result

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return await self._read(lambda cur: list(cur.fetchall()), sql, params)

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        row: Row | None = await self._read(lambda cur: cur.fetchone(), sql, params)
        return row


class Transaction:
    """Statements inside one ``Database.transaction()`` block (run in place: see above)."""

    def __init__(self, conn: sqlite3.Connection, dialect: Dialect) -> None:
        self._conn = conn
        self.dialect = dialect

    # Statements are written with SQLite's own ``?`` placeholders: no translation here.

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._conn.execute(sql, params)

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        row: Row | None = self._conn.execute(sql, params).fetchone()
        return row

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return list(self._conn.execute(sql, params).fetchall())
