"""``fdatasync`` of one file in a small process of its own.

A thread of the service that returns from a system call needs Python's lock
(the GIL) before it can say so, and while the event loop is busy it mostly
waits for the interpreter's switch interval (5 ms) to get it: under load the
hand-over of an fsync to a thread and back took about three times the fsync
itself (benchmarks/README.md). A child process has no such lock to wait
for: the loop writes one byte into its pipe and reads its answer when the
data is on disk. ``fdatasync`` flushes the file's data whichever process
wrote it.

The child runs ``_fsync_child.py`` as a script: a few lines of plain Python,
no imports of the service.
"""

from __future__ import annotations

import asyncio
import os
import sys
from contextlib import suppress
from pathlib import Path

from ._fsync_child import ANSWER

__all__ = ["FsyncProcess"]

_CHILD = str(Path(__file__).with_name("_fsync_child.py"))


class FsyncProcess:
    """A child process that fdatasyncs ``path`` each time it is asked to."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._child: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self._child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-I",  # nothing of the environment or the current folder: it imports nothing
            _CHILD,
            str(self.path),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )

    @property
    def pid(self) -> int | None:
        return self._child.pid if self._child is not None else None

    async def sync(self) -> None:
        """Return once the file's data is on disk. ``OSError`` as the fsync raised it;
        ``ConnectionError`` when the process is gone (then whether it synced is unknown)."""
        child = self._child
        if child is None or child.stdin is None or child.stdout is None:
            raise ConnectionResetError("the fsync process is not running")
        if child.stdin.is_closing():
            raise ConnectionResetError("the fsync process is gone")
        child.stdin.write(b"s")
        try:
            (error,) = ANSWER.unpack(await child.stdout.readexactly(ANSWER.size))
        except asyncio.IncompleteReadError as exc:
            raise ConnectionResetError("the fsync process ended") from exc
        if error:
            raise OSError(error, os.strerror(error))

    async def stop(self) -> None:
        """End the process (its pipe closes) and wait for it."""
        child, self._child = self._child, None
        if child is None:
            return
        if child.stdin is not None:
            child.stdin.close()
        try:
            async with asyncio.timeout(5):
                await child.wait()
        except TimeoutError:
            with suppress(ProcessLookupError):
                child.kill()
            await child.wait()
