"""Log lines as text (default) or one JSON object per line (``MINSHI_LOG_FORMAT=json``).

Every line passes ``MaskingFilter`` (phone and ID numbers masked) and carries
the id of the HTTP request it was written in, so a log collector can join
all lines of one request. Fields given with ``extra={...}`` become keys of
the JSON object, masked the same way.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import sys
import threading
import time
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

from common.privacy import MaskingFilter, mask_sensitive

__all__ = ["REQUEST_ID", "JsonFormatter", "RequestIdFilter", "setup_logging"]

# The id of the HTTP request being answered (set by ``bot.ops.requests``).
REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)

_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Attributes every LogRecord has; anything else was passed with ``extra``.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "request_id",
}


class RequestIdFilter(logging.Filter):
    """Adds ``record.request_id`` (None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


def _plain(value: Any) -> Any:
    """A JSON-ready value with numbers masked in its strings."""
    if isinstance(value, str):
        return mask_sensitive(value)
    if isinstance(value, bool | int | float) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    return mask_sensitive(str(value))


class _TextFormatter(logging.Formatter):
    """``_TEXT_FORMAT``; the date and time to the second is worked out once a second."""

    def __init__(self) -> None:
        super().__init__(_TEXT_FORMAT)
        self._second: tuple[int, str] = (-1, "")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        second, stamp = self._second
        if int(record.created) != second:
            stamp = time.strftime(self.default_time_format, self.converter(record.created))
            self._second = (int(record.created), stamp)
        return f"{stamp},{int(record.msecs):03d}"  # as logging.Formatter does


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": mask_sensitive(record.getMessage()),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            line["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = _plain(value)
        if record.exc_info:
            line["exception"] = mask_sensitive(self.formatException(record.exc_info))
        if record.stack_info:
            line["stack"] = mask_sensitive(self.formatStack(record.stack_info))
        return json.dumps(line, ensure_ascii=False)


_PAUSE = 0.02  # seconds between two writes of the lines logged meanwhile
_FLUSH_SECONDS = 10.0  # at exit, a stream that takes nothing more does not hold the process


class _PipeWriter(logging.Handler):
    """Formats a line where it is logged and leaves writing it to a thread of its own.

    The event loop never waits for a write (a full pipe to journald, a slow
    disk): lines wait in memory and go out once the stream takes them again.
    The thread writes what was logged in the last 20 ms in one write, woken
    only by the first of them, so it seldom needs Python's lock the loop runs
    under and a line costs the loop about what writing it in place did. ``flush``
    (called by ``logging.shutdown`` when the process exits) waits until every
    line is out.
    """

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self.stream = stream
        self._lines: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._written = threading.Condition()
        self._queued = self._done = 0
        self._thread = threading.Thread(target=self._write, name="log writer", daemon=True)
        self._thread.start()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + "\n"
        except Exception:
            self.handleError(record)
            return
        self._queued += 1
        self._lines.put(line)

    def _write(self) -> None:
        while True:
            batch = [self._lines.get()]  # asleep while nothing is logged
            time.sleep(_PAUSE)  # the lines logged meanwhile wake no one: cheaper for the loop
            with contextlib.suppress(queue.Empty):
                while True:
                    batch.append(self._lines.get_nowait())
            try:
                self.stream.write("".join(batch))
                self.stream.flush()
            except Exception:  # a closed stream: the lines cannot go anywhere
                pass
            with self._written:
                self._done += len(batch)
                self._written.notify_all()

    def flush(self) -> None:
        queued = self._queued
        with self._written:
            self._written.wait_for(lambda: self._done >= queued, _FLUSH_SECONDS)


def setup_logging(level: str, fmt: str = "text") -> None:
    """Configure the root logger for the ``minshi`` command (uvicorn's loggers included)."""
    # No line names the caller's file and line, its thread or its process: not
    # collecting them saves a third of what a line costs (an access line a request).
    logging._srcfile = None  # the documented switch (logging.html#optimization)
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    handler = _PipeWriter(sys.stderr)
    handler.addFilter(MaskingFilter())
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else _TextFormatter())
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
