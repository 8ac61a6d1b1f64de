"""The resident's side of a closed case: the rating and the 回访 answer.

The buttons arrive with messages the case service queued (the outcome with
满意 / 基本满意 / 不满意, later the follow-up question), so they work at any
step. A rating is followed by an optional comment; 不满意 offers to have the
case handled again, at the same center or one level up. "又有问题了" at the
follow-up reopens the case and lets the resident say what happened.
An unfinished report is put aside meanwhile and offered again at the end.
"""

from __future__ import annotations

from common.messages import Choice
from handoff import RATINGS, Case, CaseStatus, NoHigherCenter

from .._flow import Turn
from .._states import CASE_ADD, MENU, RATE_AGAIN, RATE_COMMENT
from . import resume
from ._common import menu_choices
from ._display import format_time

__all__ = [
    "again_handle",
    "again_prompt",
    "answer",
    "comment_handle",
    "comment_prompt",
    "handles",
]

_PREFIXES = ("rate:", "followup:")
_DISSATISFIED = "dissatisfied"
_REOPENABLE = (CaseStatus.RESOLVED, CaseStatus.RATED)


def handles(payload: str) -> bool:
    return payload.startswith(_PREFIXES)


async def _own_case(turn: Turn, number: str) -> Case | None:
    case = await turn.writes.case_by_number(number)
    if case is None or (case.channel, case.user_id) != (turn.msg.channel, turn.msg.user_id):
        return None
    return case


def _finish(turn: Turn, text: str) -> None:
    """Back to the menu; a report put aside is offered again."""
    turn.data.pop("rating", None)
    turn.say(text, menu_choices(turn))
    turn.state = MENU
    if "paused" in turn.data:
        resume.offer(turn, "resume.question_open")


async def answer(turn: Turn) -> str | None:
    """A rating or follow-up button, tapped at any step."""
    kind, _, rest = turn.payload.partition(":")
    number, _, value = rest.rpartition(":")
    resume.pause(turn)
    case = await _own_case(turn, number)
    if case is None:
        _finish(turn, turn.t("rating.unknown"))
        return None
    if kind == "rate":
        return await _rated(turn, case, value)
    return await _followup(turn, case, value)


async def _rated(turn: Turn, case: Case, rating: str) -> str | None:
    """Keeps the rating at once (nothing tapped is lost), then asks for a comment."""
    if case.status is not CaseStatus.RESOLVED or rating not in RATINGS:
        done = case.rating is not None
        _finish(turn, turn.t("rating.already" if done else "rating.not_resolved"))
        return None
    await turn.services.cases.rate(turn.writes, case.number, rating, None, turn.now)
    turn.data["rating"] = {"case": case.number, "value": rating}
    return RATE_COMMENT


async def comment_prompt(turn: Turn) -> None:
    """Asks for a comment; a resident who is not satisfied is asked why."""
    pending = turn.data.get("rating") or {}
    key = "rating.comment_sorry" if pending.get("value") == _DISSATISFIED else "rating.comment"
    turn.say(turn.t(key), [Choice(turn.t("rating.skip"), "rating:skip")])


async def comment_handle(turn: Turn) -> str | None:
    pending = turn.data.get("rating")
    if not pending:
        return MENU
    if turn.payload == "rating:skip":
        comment = None
    elif turn.text:
        comment = turn.text
    else:
        turn.say(turn.t("rating.comment_hint"), [Choice(turn.t("rating.skip"), "rating:skip")])
        return None
    case = await _own_case(turn, pending["case"])
    if case is None or case.status is not CaseStatus.RATED:
        _finish(turn, turn.t("rating.already"))
        return None
    if comment:
        await turn.services.cases.comment_on_rating(turn.writes, case.number, comment, turn.now)
    if pending["value"] != _DISSATISFIED:
        _finish(turn, turn.t("rating.thanks"))
        return None
    pending["comment"] = comment
    turn.say(turn.t("rating.saved"))
    return RATE_AGAIN


async def again_prompt(turn: Turn) -> None:
    """After 不满意: handle it again here, one level up, or leave it."""
    turn.say(
        turn.t("rating.again_prompt"),
        [
            Choice(turn.t("rating.again_same"), "again:same"),
            Choice(turn.t("rating.again_up"), "again:up"),
            Choice(turn.t("rating.again_no"), "again:no"),
        ],
    )


async def again_handle(turn: Turn) -> str | None:
    pending = turn.data.get("rating")
    if not pending:
        return MENU
    if turn.payload == "again:no":
        _finish(turn, turn.t("rating.again_no_ack"))
        return None
    if turn.payload not in ("again:same", "again:up"):
        turn.say(turn.t("rating.again_hint"))
        return None
    case = await _own_case(turn, pending["case"])
    if case is None or case.status not in _REOPENABLE:
        _finish(turn, turn.t("rating.cannot_reopen"))
        return None
    reason = pending.get("comment") or turn.t("rating.reason_dissatisfied")
    text = await _reopen(turn, case, reason, escalate=turn.payload == "again:up")
    _finish(turn, text)
    return None


async def _reopen(turn: Turn, case: Case, reason: str, *, escalate: bool) -> str:
    """Reopens the case inside this turn; what to tell the resident."""
    cases = turn.services.cases
    note = ""
    try:
        reopened = await cases.reopen(
            turn.writes, case.number, case.status, "resident", reason, escalate=escalate
        )
    except NoHigherCenter:
        reopened = await cases.reopen(turn.writes, case.number, case.status, "resident", reason)
        note = "\n" + turn.t("rating.no_higher", center=reopened.center_name)
    due = format_time(reopened.due_at)
    text = turn.t("rating.reopened", number=case.number, center=reopened.center_name, due=due)
    return text + note


async def _followup(turn: Turn, case: Case, value: str) -> str | None:
    """The answer to the 回访 question."""
    if value == "ok":
        await turn.services.cases.followup_answered(turn.writes, case.number, "ok", turn.now)
        _finish(turn, turn.t("rating.followup_thanks"))
        return None
    if case.status.is_open:  # already being handled again
        turn.say(turn.t("rating.followup_open", number=case.number))
    elif case.status in _REOPENABLE:
        text = await _reopen(turn, case, turn.t("rating.reason_followup"), escalate=False)
        turn.say(text)
    else:
        _finish(turn, turn.t("rating.followup_closed", number=case.number))
        return None
    turn.data["case"] = case.number
    return CASE_ADD
