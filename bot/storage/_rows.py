"""Dataclass ⇄ row conversion, driven by the dataclass's own fields.

``handoff.Case`` declares the case schema once; the SQL store derives its
column list and the conversion of each value from the field types here
(datetimes as ISO-8601 UTC text, booleans as integers, enums as text).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from datetime import UTC, datetime
from enum import Enum
from functools import cache
from typing import Any, Protocol

__all__ = ["Row", "columns", "decoder", "encode", "iso", "parse_iso"]


class Row(Protocol):
    """A result row read by column name (sqlite3.Row, asyncpg.Record)."""

    def __getitem__(self, key: str, /) -> Any: ...


_last_iso: tuple[datetime, str] = (datetime.min.replace(tzinfo=UTC), "")


def iso(moment: datetime) -> str:
    """``moment`` as stored text. A turn passes one ``now`` to a dozen columns: the
    text of the last moment converted is kept (datetimes are immutable)."""
    global _last_iso
    last, text = _last_iso
    if moment is not last:
        text = moment.astimezone(UTC).isoformat(timespec="microseconds")
        _last_iso = (moment, text)
    return text


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text)


def encode(value: Any) -> Any:
    """A Python value as a SQL parameter."""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bool):
        return int(value)
    return value


def columns(cls: type[Any]) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def _base(hint: Any) -> Any:
    """``X | None`` → X."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return args[0] if len(args) == 1 else hint
    return hint


def _converter(hint: Any) -> Callable[[Any], Any]:
    base = _base(hint)
    if base is datetime:
        return parse_iso
    if base is bool:
        return bool
    if isinstance(base, type) and issubclass(base, Enum):
        return base
    return lambda value: value


@cache
def decoder(cls: type[Any]) -> Callable[[Row], Any]:
    """A function turning a row (mapping by column name) into ``cls``."""
    hints = typing.get_type_hints(cls)
    converters = {name: _converter(hints[name]) for name in columns(cls)}

    def decode(row: Row) -> Any:
        values = {}
        for name, convert in converters.items():
            value = row[name]
            values[name] = None if value is None else convert(value)
        return cls(**values)

    return decode
