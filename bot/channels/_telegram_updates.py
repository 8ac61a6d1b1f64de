"""What a Telegram update means for the service, decided without any I/O.

Only private chats with the bot are residents. A message becomes one or two
``Inbound`` messages (a photo with a caption: the text, then the photo); a
tapped inline button becomes a choice; ``my_chat_member`` tells whether the
resident blocked or unblocked the bot. Everything else — edits, inline
queries, polls, reactions, channel and business posts, group events, kinds
Telegram adds later — is ignored, and a person who sent something the bot
cannot use (a sticker, a dice) gets a short hint. The platform id of an
inbound message is the ``update_id`` (with ``:1`` for the second message of
one update), so a repeated update is one message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from telegram import ChatMember, Message, Update

from common.messages import Attachment, Inbound, InboundKind, Location

from ._telegram_render import CallbackRef, parse_callback

__all__ = ["CHANNEL", "FileRequest", "Received", "translate"]

CHANNEL = "telegram"
AttachmentKind = Literal["photo", "voice", "video", "file"]

# Commands from the bot's menu: the engine's command payloads (``cmd:<name>``).
_COMMANDS = {
    "menu": "menu",
    "help": "menu",
    "cancel": "cancel",
    "back": "back",
    "human": "human",
    "cases": "cases",
    "report": "report",
    "card": "card",
}
_COMMAND = re.compile(r"/([A-Za-z0-9_]{1,32})(?:@[A-Za-z0-9_]+)?(?:\s+(.*))?", re.DOTALL)
_START_PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}")  # what t.me/<bot>?start= can carry

# Things a person sends that the bot cannot use: they get a hint.
_NOT_USABLE = (
    "sticker",
    "dice",
    "game",
    "poll",
    "story",
    "invoice",
    "paid_media",
    "checklist",
    "giveaway",
    "live_photo",
    "web_app_data",
    "passport_data",
)


@dataclass(frozen=True)
class FileRequest:
    """A file the resident sent, to fetch in the background (never in a webhook request)."""

    file_id: str
    kind: AttachmentKind


@dataclass
class Received:
    """What one update asks the adapter to do."""

    kind: str  # the update's kind, for the log
    update_id: int = 0
    address: str | None = None  # the resident (the private chat's id)
    inbound: list[Inbound] = field(default_factory=list)
    files: list[FileRequest] = field(default_factory=list)
    hint: str | None = None  # a key of TEXTS to tell the resident
    hint_args: dict[str, object] = field(default_factory=dict)
    reachable: bool | None = None  # blocked (False) or unblocked (True) the bot
    callback_id: str | None = None  # a tapped button: answer it promptly
    callback: CallbackRef | None = None
    callback_data: str = ""  # the tapped button's data, as Telegram sent it
    tapped: Message | None = None  # the message that carried the tapped button

    @property
    def ignored(self) -> bool:
        return not (self.inbound or self.hint or self.reachable is not None or self.callback)


def translate(update: Update, max_file_bytes: int) -> Received:
    if update.message is not None:
        return _message(update.update_id, update.message, max_file_bytes)
    if update.callback_query is not None:
        return _callback(update)
    if update.my_chat_member is not None:
        member = update.my_chat_member
        received = Received("my_chat_member", update.update_id)
        if member.chat.type == member.chat.PRIVATE:
            received.address = str(member.chat.id)
            status = member.new_chat_member.status
            if status == ChatMember.BANNED:
                received.reachable = False
            elif status == ChatMember.MEMBER:
                received.reachable = True
        return received
    return Received(_kind_of(update), update.update_id)


def _kind_of(update: Update) -> str:
    for name in Update.__slots__:
        if not name.startswith("_") and name != "update_id" and getattr(update, name) is not None:
            return name
    extra = sorted(update.api_kwargs)
    return f"unknown ({', '.join(extra)})" if extra else "empty"


def _callback(update: Update) -> Received:
    query = update.callback_query
    assert query is not None
    received = Received("callback_query", update.update_id, callback_id=query.id)
    message = query.message
    if message is None or message.chat.type != message.chat.PRIVATE or not query.data:
        return received  # a button in an inline-mode message or a group: nothing to do
    received.address = str(message.chat.id)
    received.callback = parse_callback(query.data)
    received.callback_data = query.data
    received.tapped = message if isinstance(message, Message) else None
    if received.callback.kind == "payload":
        received.inbound.append(
            Inbound(
                CHANNEL,
                received.address,
                "choice",
                payload=received.callback.payload,
                platform_msg_id=str(update.update_id),
            )
        )
    return received


def _media(message: Message) -> tuple[AttachmentKind, str, str, int | None] | None:
    """(kind, file id, file name, size) of the file in a message, if any."""
    if message.photo:
        largest = message.photo[-1]
        return "photo", largest.file_id, "", largest.file_size
    if message.voice:
        return "voice", message.voice.file_id, "", message.voice.file_size
    if message.audio:
        audio = message.audio
        return "voice", audio.file_id, audio.file_name or "", audio.file_size
    if message.video:
        video = message.video
        return "video", video.file_id, video.file_name or "", video.file_size
    if message.video_note:
        return "video", message.video_note.file_id, "", message.video_note.file_size
    if message.animation:
        animation = message.animation
        return "video", animation.file_id, animation.file_name or "", animation.file_size
    if message.document:
        document = message.document
        return "file", document.file_id, document.file_name or "", document.file_size
    return None


def _message(update_id: int, message: Message, max_file_bytes: int) -> Received:
    received = Received("message", update_id)
    if message.chat.type != message.chat.PRIVATE:
        received.kind = f"message in a {message.chat.type} chat"
        return received
    address = str(message.chat.id)
    received.address = address

    def inbound(
        n: int,
        kind: InboundKind,
        *,
        text: str = "",
        payload: str = "",
        location: Location | None = None,
        attachments: tuple[Attachment, ...] = (),
    ) -> Inbound:
        return Inbound(
            CHANNEL,
            address,
            kind,
            text=text,
            payload=payload,
            location=location,
            attachments=attachments,
            platform_msg_id=str(update_id) if n == 0 else f"{update_id}:{n}",
        )

    if message.text:
        typed, text, payload = _text_fields(message.text)
        received.inbound.append(inbound(0, typed, text=text, payload=payload))
        return received
    place = message.venue.location if message.venue else message.location
    if place is not None:
        label = ""
        if message.venue:
            label = " ".join(p for p in (message.venue.title, message.venue.address) if p)
        location = Location(place.latitude, place.longitude, label)
        received.inbound.append(inbound(0, "location", location=location))
        return received
    if message.contact is not None:
        contact = message.contact
        own = contact.user_id is not None and message.from_user is not None
        own = own and contact.user_id == message.from_user.id  # type: ignore[union-attr]
        number = contact.phone_number
        name = " ".join(p for p in (contact.first_name, contact.last_name) if p)
        text = number if own else f"{name} {number}".strip()
        received.inbound.append(inbound(0, "text", text=text))
        return received
    media = _media(message)
    if media is not None:
        kind, file_id, name, size = media
        n = 0
        if message.caption and message.caption.strip():
            received.inbound.append(inbound(0, "text", text=message.caption))
            n = 1
        if size is not None and size > max_file_bytes:
            received.hint = "too_big"  # the caption, if any, is still kept
            received.hint_args = {"mb": max_file_bytes // (1024 * 1024)}
            return received
        attachment = Attachment(kind, file_id, name)
        received.inbound.append(inbound(n, "attachment", attachments=(attachment,)))
        received.files.append(FileRequest(file_id, kind))
        return received
    if any(getattr(message, name, None) for name in _NOT_USABLE) or message.api_kwargs:
        received.kind = "message the bot cannot use"
        received.hint = "unsupported"
        return received
    received.kind = "service message"
    return received


def _text_fields(text: str) -> tuple[InboundKind, str, str]:
    """(kind, text, payload) of a typed message: a command of the bot's menu, or text."""
    command = _COMMAND.fullmatch(text.strip())
    if command is None:
        return "text", text, ""
    name, argument = command.group(1).lower(), (command.group(2) or "").strip()
    if name == "start":
        # A deep link t.me/<bot>?start=<region code>; a code the service does not know
        # is the engine's to refuse (it then asks for the place as usual).
        payload = argument if _START_PAYLOAD.fullmatch(argument) else ""
        return "start", "", payload
    if name in _COMMANDS and not argument:
        return "choice", "", f"cmd:{_COMMANDS[name]}"
    return "text", text, ""
