"""Case events for outside systems (a 12345 hotline, a county platform).

After each event the case service queues, in the same transaction, one
outbox entry per webhook endpoint of the case's center (and, when the case
moves, of the center it moves to). Each endpoint is its own outbox
destination ``webhook:<center id>#<index>``, so the delivery worker keeps
the order of a case's events per endpoint. The payload is built here, once,
with the phone masked unless the endpoint is trusted; ``bot.channels.webhook``
only signs and POSTs it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from common.messages import Outbound
from common.outbox import Destination
from common.privacy import mask_phone, mask_sensitive

from ._cases import Case, CaseEvent
from ._directory import CenterDirectory
from ._model import Center, Webhook

__all__ = [
    "WEBHOOK_CHANNEL",
    "WEBHOOK_EVENTS",
    "WebhookCall",
    "webhook_calls",
    "webhook_endpoint",
    "webhook_payload",
]

WEBHOOK_CHANNEL = "webhook"
# Audit event kind → the documented event name.
WEBHOOK_EVENTS = {
    "created": "created",
    "claimed": "claimed",
    "escalated": "escalated",
    "transferred": "transferred",
    "supervised": "supervised",  # 督办
    "resolved": "resolved",
    "rated": "rated",
    "withdrawn": "withdrawn",
}
_DETAIL_KEYS = ("outcome", "rating", "reason")


@dataclass(frozen=True)
class WebhookCall(Outbound):
    """An outbox body that is a webhook payload, not a message to a resident."""

    payload: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {**super().to_json(), "webhook": self.payload}


def webhook_payload(
    case: Case, event: CaseEvent, link: str, *, trusted: bool, previous: Case | None = None
) -> dict[str, Any]:
    """The documented JSON body of one case event (see README, “Webhooks”)."""
    detail: dict[str, Any] = {}
    for key in _DETAIL_KEYS:
        value = event.detail.get(key)
        if value is not None:
            detail[key] = value if trusted or not isinstance(value, str) else mask_sensitive(value)
    body: dict[str, Any] = {
        "event": WEBHOOK_EVENTS[event.kind],
        "time": event.at.isoformat(),
        "case_number": case.number,
        "category": case.category,
        "place": {
            "region_code": case.region_code,
            "text": case.location_text,
            "lat": case.lat,
            "lon": case.lon,
        },
        "center": {"id": case.center_id, "name": case.center_name, "level": case.level},
        "status": case.status.value,
        "urgent": case.urgent,
        "phone": (case.phone or "") if trusted else mask_phone(case.phone),
        "detail": detail,
        "link": link,
    }
    if previous is not None and previous.center_id != case.center_id:
        body["from_center"] = {
            "id": previous.center_id,
            "name": previous.center_name,
            "level": previous.level,
        }
    return body


def webhook_calls(
    directory: CenterDirectory,
    case: Case,
    event: CaseEvent,
    link: Callable[[str], str],
    previous: Case | None = None,
) -> list[tuple[Destination, WebhookCall]]:
    """What to queue for one event: nothing unless its kind is a webhook event."""
    if event.kind not in WEBHOOK_EVENTS:
        return []
    center_ids = [case.center_id]
    if previous is not None and previous.center_id not in center_ids:
        center_ids.insert(0, previous.center_id)
    calls = []
    for center in _centers(directory, center_ids):
        for index, hook in enumerate(center.webhooks):
            payload = webhook_payload(
                case, event, link(case.number), trusted=hook.trusted, previous=previous
            )
            destination = Destination(WEBHOOK_CHANNEL, f"{center.id}#{index}")
            calls.append((destination, WebhookCall("", payload=payload)))
    return calls


def webhook_endpoint(directory: CenterDirectory, address: str) -> Webhook | None:
    """The endpoint behind a destination address ``<center id>#<index>``, if still configured."""
    center_id, _, index = address.rpartition("#")
    center = directory.center(center_id)
    if center is None or not index.isdigit() or int(index) >= len(center.webhooks):
        return None
    return center.webhooks[int(index)]


def _centers(directory: CenterDirectory, ids: Iterable[str]) -> list[Center]:
    return [c for c in (directory.center(i) for i in ids) if c is not None]
