"""The channel-neutral message model.

Adapters turn a platform update into an ``Inbound`` and render each
``Outbound`` their own way (inline keyboard, numbered list, web buttons);
the dialog code never sees a platform type. The model lives here, below
every package, because the case service queues messages too.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = ["Attachment", "Choice", "Inbound", "InboundKind", "Location", "Outbound", "Tone"]

# ``start``: the resident opened the chat, maybe with a place (QR code, deep
# link, WeChat scene); ``payload`` holds the place code, or is empty.
InboundKind = Literal["text", "choice", "location", "attachment", "start"]
Tone = Literal["normal", "warning"]


@dataclass(frozen=True)
class Location:
    lat: float
    lon: float
    label: str = ""


@dataclass(frozen=True)
class Attachment:
    """A photo, voice message or file kept by reference (platform file id or URL)."""

    kind: Literal["photo", "voice", "video", "file"]
    ref: str
    name: str = ""


@dataclass(frozen=True)
class Inbound:
    """One message from a resident.

    ``platform_msg_id`` is the platform's own id (Telegram update_id, WeChat
    MsgId, the web page's client id): the same id twice is one message.
    """

    channel: str
    user_id: str
    kind: InboundKind
    text: str = ""
    payload: str = ""
    location: Location | None = None
    attachments: tuple[Attachment, ...] = ()
    platform_msg_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"kind": self.kind}
        if self.text:
            body["text"] = self.text
        if self.payload:
            body["payload"] = self.payload
        if self.location:
            body["location"] = asdict(self.location)
        if self.attachments:
            body["attachments"] = [asdict(a) for a in self.attachments]
        return body

    @classmethod
    def from_json(
        cls, channel: str, user_id: str, body: dict[str, Any], platform_msg_id: str | None
    ) -> Inbound:
        loc = body.get("location")
        return cls(
            channel=channel,
            user_id=user_id,
            kind=body["kind"],
            text=body.get("text", ""),
            payload=body.get("payload", ""),
            location=Location(**loc) if loc else None,
            attachments=tuple(Attachment(**a) for a in body.get("attachments", ())),
            platform_msg_id=platform_msg_id,
        )


@dataclass(frozen=True)
class Choice:
    """A button: ``label`` is shown, ``payload`` comes back when it is picked."""

    label: str
    payload: str


@dataclass(frozen=True)
class Outbound:
    """One message to a resident.

    ``text`` is what everyone sees first. ``tone`` "warning" asks the adapter
    to make it stand out (a danger notice). ``calls`` are phone numbers that
    appear in the text and should be tap-to-call where the platform can.
    ``details`` is a longer text the resident can open on demand (详细说明 ·
    法律依据), labelled ``details_label``; ``choices`` are buttons.
    """

    text: str
    choices: tuple[Choice, ...] = field(default_factory=tuple)
    tone: Tone = "normal"
    calls: tuple[str, ...] = ()
    details: str = ""
    details_label: str = ""

    def to_json(self) -> dict[str, Any]:
        # Field by field: dataclasses.asdict deep-copies, a cost paid for every reply.
        choices = [{"label": c.label, "payload": c.payload} for c in self.choices]
        body: dict[str, Any] = {"text": self.text, "choices": choices}
        if self.tone != "normal":
            body["tone"] = self.tone
        if self.calls:
            body["calls"] = list(self.calls)
        if self.details:
            body["details"] = self.details
            body["details_label"] = self.details_label
        return body

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Outbound:
        return cls(
            text=body["text"],
            choices=tuple(Choice(**c) for c in body.get("choices", ())),
            tone=body.get("tone", "normal"),
            calls=tuple(body.get("calls", ())),
            details=body.get("details", ""),
            details_label=body.get("details_label", ""),
        )

    def as_plain_text(self) -> str:
        """The text with its details appended, for channels that cannot fold."""
        if not self.details:
            return self.text
        return f"{self.text}\n\n{self.details_label}\n{self.details}".rstrip()
