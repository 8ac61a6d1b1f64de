"""Who holds a lease, written so that a later process on the same machine can tell
whether the holder is still alive.

A tag is ``host:pid:start`` where ``start`` names this run of the process: the
kernel's boot id, the pid namespace and the process's start time (clock ticks
since boot, from ``/proc``). After a kill -9 or a power cut the next process
on the machine sees that the pid is gone, or belongs to a newer process, or
that the machine has booted since, and frees the dead holder's leases at once
instead of waiting for them to run out. A tag of another machine or another
pid namespace (a container) cannot be judged here and counts as alive.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from functools import cache
from pathlib import Path

__all__ = ["ProcessTag", "is_gone", "this_process"]

_PROC = Path("/proc")


@dataclass(frozen=True)
class ProcessTag:
    host: str
    pid: int
    boot: str  # "" when the system does not say (no /proc)
    namespace: str
    started: str

    def __str__(self) -> str:
        return f"{self.host}:{self.pid}:{self.boot}.{self.namespace}.{self.started}"

    @classmethod
    def parse(cls, text: str) -> ProcessTag | None:
        """The tag at the start of ``text`` (a lease owner may add ``:suffix``); None
        for anything else."""
        parts = text.split(":")
        if len(parts) < 3 or not parts[1].isdigit():
            return None
        start = parts[2].split(".")
        if len(start) != 3:
            return None
        return cls(parts[0], int(parts[1]), *start)


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def _boot_id() -> str:
    return _read(_PROC / "sys/kernel/random/boot_id").replace("-", "")[:12]


def _namespace() -> str:
    try:
        link = os.readlink(_PROC / "self/ns/pid")  # "pid:[4026531836]"
    except OSError:
        return ""
    return "".join(c for c in link if c.isdigit())


def _stat(pid: int) -> tuple[str, str] | None:
    """The state letter and the start time of process ``pid``; None when it is gone
    (or there is no /proc)."""
    text = _read(_PROC / str(pid) / "stat")
    if not text:
        return None
    # "pid (comm) S ppid …": comm may hold spaces and parentheses; field 22 is starttime.
    fields = text.rpartition(")")[2].split()
    return fields[0], fields[19]


def this_process() -> ProcessTag:
    return _tag_of(os.getpid())  # by pid: a forked child is a process of its own


@cache
def _tag_of(pid: int) -> ProcessTag:
    found = _stat(pid)
    return ProcessTag(
        socket.gethostname(), pid, _boot_id(), _namespace(), found[1] if found else ""
    )


def is_gone(text: str) -> bool:
    """True only when the process that wrote tag ``text`` is known to be dead."""
    tag = ProcessTag.parse(text)
    me = this_process()
    if tag is None or tag.host != me.host:
        return False
    if tag.boot and me.boot and tag.boot != me.boot:
        return True  # the machine has booted since
    if tag.namespace != me.namespace:
        return False
    if not me.started:  # no /proc: only a pid that is gone can be told
        try:
            os.kill(tag.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False
    found = _stat(tag.pid)
    if found is None:
        return True
    state, started = found
    return state in ("Z", "X") or started != tag.started
