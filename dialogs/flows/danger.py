"""Danger comes first: the warning that fits the danger, then what follows.

Self-harm gets kind words and hotlines and nothing else. Other dangers are
marked urgent; inside a report the message goes on into the report;
elsewhere the resident is offered to report it as an urgent case — never an
FAQ answer, never "I cannot answer that".
"""

from __future__ import annotations

from common.messages import Choice

from .._flow import Turn
from .._states import MENU, REPORT_STEPS
from ..danger import Danger, DangerKind
from . import report
from ._common import menu_choices

__all__ = ["PAYLOADS", "after_warning", "warn"]

PAYLOADS = ("danger:report", "danger:later")


def warn(turn: Turn, danger: Danger) -> bool:
    """Says what to do about the danger; True when the turn ends here."""
    turn.say(turn.t(f"danger.{danger.kind.value}"), tone="warning")
    if danger.kind is DangerKind.SELF_HARM:
        return True
    turn.data["urgent"] = True
    if "report" in turn.data and turn.state in REPORT_STEPS:
        return False
    turn.data["danger_text"] = turn.msg.text.strip()
    turn.say(
        turn.t("danger.offer_report"),
        [
            Choice(turn.t("danger.report"), "danger:report"),
            Choice(turn.t("danger.not_now"), "danger:later"),
        ],
    )
    turn.state = MENU
    return True


async def after_warning(turn: Turn) -> str | None:
    """Takes the answer to the offer: an urgent report that starts with the story, or not now."""
    text = turn.data.pop("danger_text", "")
    if turn.payload == "danger:later" or not text:
        turn.data.pop("urgent", None)
        turn.say(turn.t("danger.not_now_ack"), menu_choices(turn))
        return None
    return await report.begin_with_story(turn, text)
