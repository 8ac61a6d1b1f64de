"""Choices that several steps offer."""

from __future__ import annotations

from .._flow import Turn
from .._model import Choice

__all__ = ["menu_choices", "to_menu"]


def menu_choices(turn: Turn) -> list[Choice]:
    t = turn.t
    return [
        Choice(t("menu.ask"), "menu:ask"),
        Choice(t("menu.report"), "menu:report"),
        Choice(t("menu.cases"), "menu:cases"),
        Choice(t("menu.human"), "menu:human"),
        Choice(t("menu.card"), "menu:card"),
    ]


def to_menu(turn: Turn) -> Choice:
    return Choice(turn.t("menu.back_to_menu"), "cmd:menu")
