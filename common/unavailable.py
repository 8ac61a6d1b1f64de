"""The storage cannot take writes right now (disk full, read-only, I/O error, the
database server down or out of reach).

Storage adapters raise it instead of their driver's error, so the dialog
engine, the channels and the console can tell "try again later" apart from a
bug: nothing was stored, the request is refused politely, and everything works
again by itself once the storage does.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["StorageProblem", "StorageUnavailable"]


class StorageProblem(StrEnum):
    FULL = "full"  # no space left (disk or a configured size limit)
    READ_ONLY = "read-only"  # the database file or its folder cannot be written
    IO = "io"  # the disk reported an error
    DOWN = "down"  # the database server is shutting down, restarting, out of memory or unreachable


class StorageUnavailable(Exception):
    """Raised by a store when a write (or read) failed for a reason outside the service."""

    def __init__(self, problem: StorageProblem, detail: str) -> None:
        self.problem = problem
        self.detail = detail
        super().__init__(f"storage unavailable ({problem.value}): {detail}")
