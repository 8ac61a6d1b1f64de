"""The channel-neutral message model.

Adapters turn a platform update into an ``Inbound`` and render each
``Outbound`` their own way (inline keyboard, numbered list, web buttons);
the dialog code never sees a platform type.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = ["Attachment", "Choice", "Inbound", "InboundKind", "Location", "Outbound"]

InboundKind = Literal["text", "choice", "location", "attachment"]


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
    """One message to a resident: text and, optionally, choices to pick from."""

    text: str
    choices: tuple[Choice, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "choices": [asdict(c) for c in self.choices]}

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Outbound:
        return cls(
            text=body["text"],
            choices=tuple(Choice(**c) for c in body.get("choices", ())),
        )
