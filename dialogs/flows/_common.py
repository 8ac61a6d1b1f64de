"""Choices that several steps offer."""

from __future__ import annotations

from common.messages import Choice

from .._flow import Turn

__all__ = ["center_phone", "menu_choices", "to_menu"]


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


def center_phone(turn: Turn, phone: str) -> str:
    """A center's number as shown to residents: marked 示例 while the directory is demo data."""
    return f"{phone}{turn.t('demo_mark')}" if turn.services.centers.demo else phone
