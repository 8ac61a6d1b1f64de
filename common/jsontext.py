"""JSON for the hot path: request bodies, replies, stored messages and conversations.

orjson encodes and parses in C, several times faster than the standard library,
which a message paid for five times (its body, the conversation, each reply,
the response). Output is compact UTF-8, as the web chat and the database want.
"""

from __future__ import annotations

from typing import Any

import orjson

__all__ = ["JSONDecodeError", "dumps", "dumps_bytes", "loads"]

JSONDecodeError = orjson.JSONDecodeError  # a ValueError, as json's


def dumps_bytes(value: Any) -> bytes:
    return orjson.dumps(value)


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def loads(text: str | bytes) -> Any:
    return orjson.loads(text)
