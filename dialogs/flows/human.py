"""找调解员: to an open case's mediator, or a short report first."""

from __future__ import annotations

from .._flow import Turn
from .._states import CASE_ADD
from . import report

__all__ = ["begin"]


async def begin(turn: Turn) -> str:
    """Routes the resident to a person: their open case, or a new report."""
    cases = await turn.writes.cases_for_resident(turn.msg.channel, turn.msg.user_id)
    open_case = next((c for c in cases if c.status.is_open), None)
    if open_case is not None:
        turn.data["case"] = open_case.number
        turn.say(turn.t("human.open_case", number=open_case.number))
        return CASE_ADD
    turn.say(turn.t("human.start_report"))
    return report.begin(turn)
