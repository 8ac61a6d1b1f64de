"""Log lines as text (default) or one JSON object per line (``MINSHI_LOG_FORMAT=json``).

Every line passes ``MaskingFilter`` (phone and ID numbers masked) and carries
the id of the HTTP request it was written in, so a log collector can join
all lines of one request. Fields given with ``extra={...}`` become keys of
the JSON object, masked the same way.
"""

from __future__ import annotations

import atexit
import json
import logging
import queue
from contextvars import ContextVar
from datetime import UTC, datetime
from logging.handlers import QueueHandler, QueueListener
from typing import Any

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


class _HandOver(QueueHandler):
    """Puts a record on the queue of the thread that writes lines: the event loop
    only takes down what it alone knows (the request id, the words as they are now),
    and never waits for a write (a pipe to journald that is full, a slow disk)."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        record.msg, record.args = record.getMessage(), None
        return record


def setup_logging(level: str, fmt: str = "text") -> None:
    """Configure the root logger for the ``minshi`` command (uvicorn's loggers included).

    Lines are masked, formatted and written on a thread of their own (an access
    line cost the event loop 17 µs, about 2% of a message's time, written in
    place); what is queued when the process exits is written before it does.
    """
    writer = logging.StreamHandler()
    writer.addFilter(MaskingFilter())
    writer.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(_TEXT_FORMAT))
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    handover = _HandOver(records)
    handover.addFilter(RequestIdFilter())
    listener = QueueListener(records, writer, respect_handler_level=True)
    listener.start()
    atexit.register(listener.stop)
    logging.basicConfig(level=level.upper(), handlers=[handover], force=True)
