"""我的事项: the resident's cases, adding a message to an open one, or withdrawing it.

Each case shows its status, its center and the latest message of its
mediator; 回复调解员 under a mediator's message opens the case from any step.
"""

from __future__ import annotations

from common.messages import Choice
from handoff import Case

from .._flow import Turn
from .._states import CASE_ADD, CASE_WITHDRAW, MENU
from . import resume
from ._common import center_phone, menu_choices, to_menu
from ._display import format_time

__all__ = [
    "REPLY_PREFIX",
    "add_handle",
    "add_prompt",
    "list_handle",
    "list_prompt",
    "reply_to",
    "withdraw_handle",
    "withdraw_prompt",
]

_LIST_LIMIT = 10
_SHORT = 30  # characters of the mediator's latest message in the list
REPLY_PREFIX = "reply:"


async def _last_reply(turn: Turn, case: Case, limit: int) -> str:
    """The mediator's latest message to the resident, shortened; empty when none yet."""
    messages = await turn.writes.case_messages(case.id)
    said = [m for m in messages if m.kind == "message" and m.author.startswith("mediator:")]
    if not said:
        return ""
    last = said[-1]
    body = " ".join(last.body.split())
    short = body if len(body) <= limit else body[:limit] + "…"
    return "\n" + turn.t("cases.last_reply", name=last.author_name or "", text=short)


async def _line(turn: Turn, case: Case) -> str:
    line = turn.t(
        "cases.item",
        number=case.number,
        category=turn.services.faq.categories().get(case.category, case.category),
        status=turn.t(f"cases.status.{case.status.value}"),
        center=case.center_name,
    )
    return line + await _last_reply(turn, case, _SHORT)


async def list_prompt(turn: Turn) -> None:
    """Lists the resident's cases and offers the open ones."""
    cases = await turn.writes.cases_for_resident(turn.msg.channel, turn.msg.user_id)
    if not cases:
        turn.say(
            turn.t("cases.none"),
            [Choice(turn.t("menu.report"), "menu:report"), to_menu(turn)],
        )
        return
    shown = cases[:_LIST_LIMIT]
    lines = [turn.t("cases.list_title")] + [await _line(turn, c) for c in shown]
    open_cases = [c for c in shown if c.status.is_open]
    if open_cases:
        lines.append(turn.t("cases.pick_prompt"))
    choices = [Choice(c.number, f"case:{c.number}") for c in open_cases]
    turn.say("\n".join(lines), [*choices, to_menu(turn)])


async def _own_case(turn: Turn, number: str) -> Case | None:
    """The case with this number if it belongs to this resident (else None)."""
    case = await turn.writes.case_by_number(number)
    if case is None or (case.channel, case.user_id) != (turn.msg.channel, turn.msg.user_id):
        return None
    return case


async def reply_to(turn: Turn) -> str | None:
    """回复调解员, tapped at any step: the case is opened for the resident's answer."""
    number = turn.payload.removeprefix(REPLY_PREFIX)
    resume.pause(turn)  # an unfinished report is kept aside
    case = await _own_case(turn, number)
    if case is None or not case.status.is_open:
        turn.say(turn.t("cases.closed"), menu_choices(turn))
        return None
    turn.data["case"] = case.number
    return CASE_ADD


async def list_handle(turn: Turn) -> str | None:
    number = turn.payload.removeprefix("case:") if turn.payload.startswith("case:") else turn.text
    case = await _own_case(turn, number.upper()) if number else None
    if case is not None:
        if not case.status.is_open:
            turn.say(turn.t("cases.closed"), menu_choices(turn))
            turn.state = MENU
            return None
        turn.data["case"] = case.number
        return CASE_ADD
    turn.say(turn.t("cases.hint"))
    return None


def _done(turn: Turn) -> list[Choice]:
    return [
        Choice(turn.t("cases.done"), "case:done"),
        Choice(turn.t("cases.withdraw"), "case:withdraw"),
    ]


async def add_prompt(turn: Turn) -> None:
    """Shows the case and asks for what to add."""
    case = await _own_case(turn, turn.data.get("case", ""))
    if case is None:
        turn.say(turn.t("cases.hint"), [to_menu(turn)])
        return
    detail = turn.t(
        "cases.detail",
        number=case.number,
        category=turn.services.faq.categories().get(case.category, case.category),
        status=turn.t(f"cases.status.{case.status.value}"),
        center=case.center_name,
        center_phone=_center_phone(turn, case),
        created=format_time(case.created_at),
    )
    detail += await _last_reply(turn, case, 4 * _SHORT)
    turn.say(detail + "\n" + turn.t("cases.add_prompt"), _done(turn))


def _center_phone(turn: Turn, case: Case) -> str:
    center = turn.services.centers.center(case.center_id)
    return center_phone(turn, center.phone) if center else "—"


async def add_handle(turn: Turn) -> str | None:
    if turn.payload == "case:done" or turn.text == turn.t("cases.done"):
        turn.data.pop("case", None)
        return MENU
    if turn.payload == "case:withdraw":
        return CASE_WITHDRAW
    case = await _own_case(turn, turn.data.get("case", ""))
    if case is None:
        return MENU
    if not case.status.is_open:
        turn.say(turn.t("cases.closed"), menu_choices(turn))
        turn.data.pop("case", None)
        turn.state = MENU
        return None
    attachments = [{"kind": a.kind, "ref": a.ref, "name": a.name} for a in turn.msg.attachments]
    if not turn.text and not attachments:
        turn.say(turn.t("cases.add_hint"), _done(turn))
        return None
    await turn.services.cases.add_resident_message(
        turn.writes, case, turn.text, attachments, turn.inbound_id, turn.now
    )
    turn.say(turn.t("cases.added", number=case.number), _done(turn))
    return None


_REASONS = ("cases.reason_solved", "cases.reason_not_needed", "cases.reason_mistake")


async def withdraw_prompt(turn: Turn) -> None:
    """Asks why the resident takes the case back (the center sees the reason)."""
    number = turn.data.get("case", "")
    turn.say(
        turn.t("cases.withdraw_prompt", number=number),
        [Choice(turn.t(key), f"why:{key}") for key in _REASONS]
        + [Choice(turn.t("cases.withdraw_keep"), "case:keep")],
    )


async def withdraw_handle(turn: Turn) -> str | None:
    if turn.payload == "case:keep":
        return CASE_ADD
    key = turn.payload.removeprefix("why:")
    reason = turn.t(key) if key in _REASONS else turn.text
    if not reason:
        turn.say(turn.t("cases.withdraw_hint"))
        return None
    case = await _own_case(turn, turn.data.get("case", ""))
    if case is None or not case.status.is_open:
        turn.say(turn.t("cases.closed"), menu_choices(turn))
        turn.data.pop("case", None)
        turn.state = MENU
        return None
    await turn.services.cases.withdraw(turn.writes, case.number, case.status, reason, turn.now)
    turn.data.pop("case", None)
    turn.say(turn.t("cases.withdrawn", number=case.number), menu_choices(turn))
    turn.state = MENU
    return None
