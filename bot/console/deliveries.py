"""Webhook deliveries for admins: what went to outside systems, what is stuck and why.

Every webhook call is an outbox entry addressed ``webhook:<center id>#<n>``
(``handoff._webhooks``). System admins see all of them; a center admin sees
the endpoints of their center and the centers below it. The endpoint is
shown without its query string and never with its secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from bot.runtime import Runtime
from bot.storage import ConsoleReads
from handoff._webhooks import WEBHOOK_CHANNEL, webhook_endpoint

from .access import Staff
from .actions import ActionError
from .words import EVENT_LABELS, clock_time

__all__ = ["DELIVERY_STATES", "deliveries", "require_deliveries"]

# What the page calls a state → the outbox state it filters on.
DELIVERY_STATES = {
    "pending": ("等待发送", "pending"),
    "retrying": ("重试中", "retrying"),
    "delivered": ("已送达", "delivered"),
    "failed": ("送不到，已放弃", "undeliverable"),
}
_BY_STORED = {stored: key for key, (_, stored) in DELIVERY_STATES.items()}
_WEBHOOK_EVENTS = {**EVENT_LABELS, "created": "新事项"}
LIMIT = 200


def require_deliveries(staff: Staff) -> None:
    if staff.role not in ("admin", "center-admin"):
        raise ActionError(403, "只有系统管理员和中心管理员能看对接记录")


def _shown(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _when(moment: Any) -> dict[str, str] | None:
    return {"iso": moment.isoformat(), "text": clock_time(moment)} if moment else None


async def deliveries(
    rt: Runtime, reads: ConsoleReads, staff: Staff, params: Mapping[str, str]
) -> dict[str, Any]:
    """The latest webhook calls this admin may see, newest first, maybe of one state."""
    require_deliveries(staff)
    state = params.get("state", "").strip()
    if state and state not in DELIVERY_STATES:
        raise ActionError(400, f"state 只能是 {', '.join(DELIVERY_STATES)}")
    prefixes = None if staff.is_admin else [f"{c}#" for c in (staff.center_id, *staff.below)]
    rows = await reads.recent_outbox(
        WEBHOOK_CHANNEL,
        address_prefixes=prefixes,
        state=DELIVERY_STATES[state][1] if state else None,
        limit=LIMIT,
    )
    counts = await reads.outbox_state_counts(WEBHOOK_CHANNEL, address_prefixes=prefixes)
    items = []
    for row in rows:
        center_id = row["address"].rpartition("#")[0]
        center = rt.centers.center(center_id)
        endpoint = webhook_endpoint(rt.centers, row["address"])
        payload = row["body"].get("webhook") or {}
        key = _BY_STORED.get(row["state"], row["state"])
        items.append(
            {
                "id": row["id"],
                "center": center.name if center else center_id,
                "endpoint": _shown(endpoint.url) if endpoint else None,
                "trusted": bool(endpoint and endpoint.trusted),
                "event": payload.get("event", ""),
                "event_label": _WEBHOOK_EVENTS.get(payload.get("event", ""), ""),
                "case_number": payload.get("case_number", ""),
                "state": key,
                "state_label": DELIVERY_STATES[key][0] if key in DELIVERY_STATES else key,
                "attempts": row["attempts"],
                "resends": row["resends"],
                "last_error": row["last_error"] or "",
                "created_at": _when(row["created_at"]),
                "next_attempt_at": _when(row["next_attempt_at"]),
                "delivered_at": _when(row["delivered_at"]),
            }
        )
    return {
        "state": state,
        "states": {key: label for key, (label, _) in DELIVERY_STATES.items()},
        "counts": {key: counts.get(stored, 0) for key, (_, stored) in DELIVERY_STATES.items()},
        "deliveries": items,
        "limit": LIMIT,
    }
