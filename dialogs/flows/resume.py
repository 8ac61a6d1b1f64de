"""An unfinished flow the resident left: keep it aside and ask before going on.

Two moments: the chat is opened again (a QR code in a new tab, a WebView)
while a report is unfinished, and a resident comes back after a long pause
(``Services.expiry``). Nothing is dropped silently: the unfinished flow is
put aside and the resident chooses to continue it or start again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from common.messages import Choice

from .._flow import Turn
from .._states import MENU
from ._common import menu_choices

__all__ = ["FLOW_KEYS", "PAYLOADS", "answer", "is_stale", "offer", "pause", "reset", "touch"]

# The conversation data a flow owns; everything else (home place, choices) stays.
FLOW_KEYS = (
    "report",
    "loc",
    "loc_purpose",
    "loc_skip_home",
    "ask",
    "case",
    "urgent",
    "danger_text",
    "rating",
)
PAYLOADS = ("resume:yes", "resume:no")
_AT = "_at"  # when the resident last wrote, stored with the conversation


def reset(turn: Turn) -> None:
    for key in FLOW_KEYS:
        turn.data.pop(key, None)


def touch(data: dict[str, Any], now: datetime) -> None:
    data[_AT] = now.isoformat()


def is_stale(state: str, data: dict[str, Any], now: datetime, expiry_hours: float) -> bool:
    """An unfinished flow whose resident last wrote longer ago than the expiry."""
    if state == MENU or _AT not in data:
        return False
    last = datetime.fromisoformat(data[_AT])
    return (now - last).total_seconds() > expiry_hours * 3600


def pause(turn: Turn) -> bool:
    """Puts an unfinished report aside; True when there was one."""
    if "report" not in turn.data or turn.state == MENU:
        reset(turn)
        turn.state = MENU
        return False
    paused = {key: turn.data.pop(key) for key in FLOW_KEYS if key in turn.data}
    turn.data["paused"] = {"state": turn.state, "data": paused}
    turn.state = MENU
    return True


def offer(turn: Turn, key: str) -> None:
    """Asks whether to go on with the report put aside."""
    turn.say(
        turn.t(key),
        [
            Choice(turn.t("resume.continue"), "resume:yes"),
            Choice(turn.t("resume.restart"), "resume:no"),
        ],
    )


def answer(turn: Turn) -> str | None:
    """Continues the report put aside (its step asks again), or drops it."""
    paused = turn.data.pop("paused", None)
    if turn.payload == "resume:yes" and paused:
        reset(turn)
        turn.data.update(paused["data"])
        return str(paused["state"])
    turn.say(turn.t("resume.dropped"), menu_choices(turn))
    return None
