"""How an ``Outbound`` looks on Telegram: text parts, entities and keyboards.

Telegram takes at most 4,096 characters a message and counts entity offsets
in UTF-16 code units, so a long text is split at paragraph boundaries (then
lines, then anywhere) and every entity is computed per part. A warning is
bold; the numbers to call are bold too (underlined inside a warning) —
Telegram clients turn longer phone numbers into links themselves, and the
Bot API accepts no ``tel:`` links. Choices become an inline keyboard on the
last part; details hide behind an inline button that brings them when
tapped. A choice that asks for the device location (``loc:gps``) and the
phone step (``phone:skip``) also get a reply-keyboard button that shares
the location or the resident's own number, in a short message of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    MessageEntity,
    ReplyKeyboardMarkup,
)

from common.messages import Outbound

__all__ = [
    "GPS_PAYLOAD",
    "MAX_TEXT",
    "PHONE_PAYLOAD",
    "TEXTS",
    "CallbackRef",
    "Part",
    "callback_data",
    "parse_callback",
    "render",
    "split_text",
    "utf16_len",
]

MAX_TEXT = 4096  # characters (UTF-16 code units) in one message
MAX_CALLBACK_BYTES = 64
GPS_PAYLOAD = "loc:gps"
PHONE_PAYLOAD = "phone:skip"
_DETAILS_PREFIX = "tg:d:"  # tg:d:<outbox entry id>: send the details of that entry
_CHOICE_PREFIX = "tg:c:"  # tg:c:<outbox entry id>:<index>: a payload too long for Telegram

# Telegram-only texts for residents (dialogs/texts.yaml holds the shared ones; these
# name buttons that exist only on Telegram). Plain Simplified Chinese, like the rest.
TEXTS = {
    "details_label": "详细说明 · 法律依据",
    "location_hint": "也可以点下面的「📍 发送我的位置」按钮，把您现在的位置发给我。",
    "location_button": "📍 发送我的位置",
    "contact_hint": "也可以点下面的「📱 发送我的手机号」按钮，把这个 Telegram 账号的手机号发给我。",
    "contact_button": "📱 发送我的手机号",
    "chosen": "✅ {label}",
    "details_gone": "这段说明找不到了。请再问一次，或者发「菜单」。",
    "unsupported": (
        "这类消息（表情、贴纸、小游戏等）我看不懂。请直接打字、发照片或语音告诉我；也可以发「菜单」。"
    ),
    "too_big": (
        "这个文件太大了（超过 {mb} MB），没能收下。请发小一点的照片或文件，或者直接打字说明。"
    ),
}

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup


@dataclass(frozen=True)
class Part:
    """One Telegram message of a rendered ``Outbound``."""

    text: str
    entities: tuple[MessageEntity, ...] = ()
    markup: Markup | None = None


@dataclass(frozen=True)
class CallbackRef:
    """What a tapped inline button asks for."""

    kind: Literal["payload", "details", "choice"]
    payload: str = ""  # kind "payload": the choice's payload itself
    entry_id: int = 0  # kinds "details" and "choice": the outbox entry that had the button
    index: int = 0  # kind "choice": the position of the choice in that entry


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's offsets and limits."""
    return len(text.encode("utf-16-le")) // 2


# -- splitting ------------------------------------------------------------------


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """``text`` in parts of at most ``limit`` UTF-16 units: at blank lines, else at line
    ends, else anywhere (never inside a character)."""
    parts = [p.strip("\n") for p in _split(text, limit, ("\n\n", "\n"))]
    return [p for p in parts if p.strip()] or ([text[:limit]] if text.strip() else [])


def _split(text: str, limit: int, separators: tuple[str, ...]) -> list[str]:
    if utf16_len(text) <= limit:
        return [text]
    if not separators:
        return _hard_cut(text, limit)
    sep, rest = separators[0], separators[1:]
    chunks: list[str] = []
    current = ""
    for piece in text.split(sep):
        candidate = f"{current}{sep}{piece}" if current else piece
        if utf16_len(candidate) <= limit:
            current = candidate
            continue
        if current:
            chunks.append(current)
        if utf16_len(piece) <= limit:
            current = piece
        else:
            pieces = _split(piece, limit, rest)
            chunks.extend(pieces[:-1])
            current = pieces[-1]
    if current:
        chunks.append(current)
    return chunks


def _hard_cut(text: str, limit: int) -> list[str]:
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for char in text:
        width = utf16_len(char)
        if size + width > limit:
            chunks.append("".join(current))
            current, size = [], 0
        current.append(char)
        size += width
    if current:
        chunks.append("".join(current))
    return chunks


# -- entities -------------------------------------------------------------------


def _number_spans(text: str, numbers: tuple[str, ...]) -> list[tuple[int, int]]:
    """(start, end) in characters of every whole occurrence of the numbers in ``text``."""
    spans: list[tuple[int, int]] = []
    for number in sorted(set(numbers), key=len, reverse=True):
        if not number:
            continue
        start = text.find(number)
        while start != -1:
            end = start + len(number)
            before = text[start - 1] if start else ""
            after = text[end] if end < len(text) else ""
            whole = not before.isdigit() and not after.isdigit()
            free = all(end <= s or start >= e for s, e in spans)
            if whole and free:
                spans.append((start, end))
            start = text.find(number, end)
    return sorted(spans)


def _entities(text: str, warning: bool, calls: tuple[str, ...]) -> tuple[MessageEntity, ...]:
    entities: list[MessageEntity] = []
    if warning:
        entities.append(MessageEntity(MessageEntity.BOLD, 0, utf16_len(text)))
    style = MessageEntity.UNDERLINE if warning else MessageEntity.BOLD
    for start, end in _number_spans(text, calls):
        offset = utf16_len(text[:start])
        entities.append(MessageEntity(style, offset, utf16_len(text[start:end])))
    return tuple(entities)


# -- buttons --------------------------------------------------------------------


def callback_data(payload: str, entry_id: int, index: int) -> str:
    """The payload itself when Telegram can carry it (≤ 64 bytes), else a reference."""
    if len(payload.encode()) <= MAX_CALLBACK_BYTES and not payload.startswith("tg:"):
        return payload
    return f"{_CHOICE_PREFIX}{entry_id}:{index}"


def details_data(entry_id: int) -> str:
    return f"{_DETAILS_PREFIX}{entry_id}"


def parse_callback(data: str) -> CallbackRef:
    if data.startswith(_DETAILS_PREFIX):
        raw = data.removeprefix(_DETAILS_PREFIX)
        if raw.isdigit():
            return CallbackRef("details", entry_id=int(raw))
    if data.startswith(_CHOICE_PREFIX):
        entry, _, index = data.removeprefix(_CHOICE_PREFIX).partition(":")
        if entry.isdigit() and index.isdigit():
            return CallbackRef("choice", entry_id=int(entry), index=int(index))
    return CallbackRef("payload", payload=data)


def _inline_keyboard(message: Outbound, entry_id: int) -> InlineKeyboardMarkup | None:
    rows = [
        [InlineKeyboardButton(c.label, callback_data=callback_data(c.payload, entry_id, i))]
        for i, c in enumerate(message.choices)
        if c.payload != GPS_PAYLOAD  # the reply-keyboard button does it for real
    ]
    if message.details:
        label = message.details_label or TEXTS["details_label"]
        rows.append([InlineKeyboardButton(label, callback_data=details_data(entry_id))])
    return InlineKeyboardMarkup(rows) if rows else None


def _request_button(message: Outbound) -> Part | None:
    """A message with a reply-keyboard button that shares the location or own number."""
    payloads = {choice.payload: choice for choice in message.choices}
    if GPS_PAYLOAD in payloads:
        button = KeyboardButton(TEXTS["location_button"], request_location=True)
        hint = TEXTS["location_hint"]
    elif PHONE_PAYLOAD in payloads:
        button = KeyboardButton(TEXTS["contact_button"], request_contact=True)
        hint = TEXTS["contact_hint"]
    else:
        return None
    keyboard = ReplyKeyboardMarkup([[button]], resize_keyboard=True, one_time_keyboard=True)
    return Part(hint, markup=keyboard)


def render(message: Outbound, entry_id: int) -> list[Part]:
    """The Telegram messages for one outbox entry, in the order they are sent."""
    warning = message.tone == "warning"
    texts = split_text(message.text)
    if not texts and (message.choices or message.details):
        texts = ["…"]
    parts = [Part(t, _entities(t, warning, message.calls)) for t in texts]
    keyboard = _inline_keyboard(message, entry_id)
    if parts and keyboard is not None:
        last = parts[-1]
        parts[-1] = Part(last.text, last.entities, keyboard)
    request = _request_button(message)
    if request is not None:
        parts.append(request)
    return parts
