"""The main menu: where every conversation starts and returns."""

from __future__ import annotations

from .._flow import Turn
from .._states import ASK, CASES_LIST
from . import ask, card, human, report
from ._common import menu_choices as choices

__all__ = ["ITEMS", "handle", "open_menu_item", "prompt"]

ITEMS = ("ask", "report", "cases", "human", "card")  # what menu:<item> buttons open


async def prompt(turn: Turn) -> None:
    """Offers the main choices."""
    turn.say(turn.t("menu.prompt"), choices(turn))


async def open_menu_item(turn: Turn, payload: str) -> str | None:
    """Starts what a main-menu button names; valid from any step."""
    item = payload.removeprefix("menu:")
    if item == "ask":
        return ASK
    if item == "report":
        return report.begin(turn)
    if item == "cases":
        return CASES_LIST
    if item == "human":
        return await human.begin(turn)
    if item == "card":
        return await card.begin(turn)
    return None


async def handle(turn: Turn) -> str | None:
    """Treats free text as a legal question; explains anything else."""
    if turn.text:
        return await ask.answer(turn, turn.text)
    if turn.msg.kind == "attachment":
        turn.say(turn.t("unsupported_attachment"), choices(turn))
    elif turn.msg.kind == "location":
        turn.say(turn.t("unsupported_location"), choices(turn))
    else:
        turn.say(turn.t("menu_hint"), choices(turn))
    return None
