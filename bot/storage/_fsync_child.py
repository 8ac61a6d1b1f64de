"""The fsync process's program, and the fdatasync it shares with the thread fallback.

Run as a script (``python -I _fsync_child.py FILE``) it imports nothing of the
service: one byte in asks for an fdatasync of FILE, four bytes out answer it
(0, or the errno). It ends when its pipe closes (the service stopped or died)
and ignores Ctrl+C and SIGTERM, so that a stopping service's last fsyncs
still happen.
"""

from __future__ import annotations

import os
import signal
import struct
import sys

ANSWER = struct.Struct(">i")  # 0 when the data is on disk, else the errno


def fdatasync_path(path: str | os.PathLike[str], fd: int | None) -> int:
    """fdatasync ``path`` through ``fd`` (opened when None, opened anew when the file at
    ``path`` is another one: SQLite made a new WAL); the descriptor to use next time."""
    if fd is not None and os.fstat(fd).st_ino != os.stat(path).st_ino:
        os.close(fd)
        fd = None
    if fd is None:
        fd = os.open(path, os.O_RDONLY)
    os.fdatasync(fd)
    return fd


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    path, fd = sys.argv[1], None
    while os.read(0, 1):
        try:
            fd = fdatasync_path(path, fd)
            answer = 0
        except OSError as exc:
            answer = exc.errno or 5  # EIO
        os.write(1, ANSWER.pack(answer))


if __name__ == "__main__":
    main()
