"""便民联系卡: the people and phone numbers of a resident's village."""

from __future__ import annotations

from .._flow import Turn
from .._states import LOCATION
from ._common import menu_choices

__all__ = ["begin", "show"]


async def begin(turn: Turn) -> str | None:
    """Shows the card of the known village, or asks where first."""
    home = turn.data.get("home")
    if home and turn.services.centers.region(home):
        show(turn, home)
        return None
    turn.data["loc_purpose"] = "card"
    turn.data["loc_skip_home"] = True
    return LOCATION


def show(turn: Turn, code: str) -> None:
    centers = turn.services.centers
    region, contacts, center = centers.contact_card(code)
    lines = [turn.t("card.title", place=centers.full_name(region.code))]
    if centers.demo:
        lines.append(turn.t("card.demo_note"))
    for c in contacts:
        lines.append(turn.t("card.contact", role=c.role, name=c.name, phone=c.phone))
    if not contacts:
        lines.append(turn.t("card.no_contacts"))
    if center is not None:
        lines.append(turn.t("card.center", center=center.name, phone=center.phone))
    lines.append(turn.t("card.national_title"))
    lines.append(
        "  ".join(turn.t("card.national", name=c.name, phone=c.phone) for c in centers.national)
    )
    turn.say("\n".join(lines), menu_choices(turn))
