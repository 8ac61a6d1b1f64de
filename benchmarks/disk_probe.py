"""What the disk itself did while a phase ran: a small write and fdatasync every 10 ms.

With synchronous=FULL a reply goes out only after an fsync that began after its
COMMIT has returned, so while the disk holds back an fsync every reply waits,
whatever the service does. The probe writes 4 KB in place in a file of its own
beside the database, on a thread, and times each fdatasync; a run's latencies
can then be read against the disk's stalls in the same seconds.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from types import TracebackType

__all__ = ["DiskProbe"]

_FILE_SIZE = 1 << 20  # written over and over in place: the file never grows
_BLOCK = 4096


class DiskProbe:
    """``with DiskProbe(folder) as probe:`` times an fdatasync every ``every`` seconds."""

    def __init__(self, folder: Path, every: float = 0.01) -> None:
        self.path = folder / "disk-probe"
        self.every = every
        self.syncs: list[tuple[float, float]] = []  # (perf_counter at start, seconds)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="disk probe", daemon=True)

    def __enter__(self) -> DiskProbe:
        with self.path.open("wb") as f:
            f.write(b"\0" * _FILE_SIZE)
            f.flush()
            os.fsync(f.fileno())
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        self.path.unlink(missing_ok=True)

    def _run(self) -> None:
        block = os.urandom(_BLOCK)
        fd = os.open(self.path, os.O_WRONLY)
        try:
            offset = 0
            while not self._stop.wait(self.every):
                os.pwrite(fd, block, offset)
                offset = (offset + _BLOCK) % _FILE_SIZE
                began = time.perf_counter()
                os.fdatasync(fd)
                self.syncs.append((began, time.perf_counter() - began))
        finally:
            os.close(fd)

    def stalls(self, over: float) -> list[tuple[float, float]]:
        """The fsyncs that took longer than ``over`` seconds, as (start, end)."""
        return [(began, began + took) for began, took in self.syncs if took > over]

    def overlapped(self, spans: list[tuple[float, float]], over: float) -> list[bool]:
        """For each (start, end) span: did a stall longer than ``over`` run during it?"""
        stalls = self.stalls(over)
        return [any(s < end and start < e for s, e in stalls) for start, end in spans]
