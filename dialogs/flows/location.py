"""Where it happened: pick from the tree, type a name, share GPS, or a QR link.

The same steps serve the report form and the 便民联系卡; ``loc_purpose``
in the conversation data says which one continues once a place is chosen.
"""

from __future__ import annotations

from typing import Any

from common.messages import Choice

from .._flow import Turn
from .._states import (
    LOC_CHOOSE,
    LOC_COUNTY,
    LOC_TOWNSHIP,
    LOC_VILLAGE,
    LOCATION,
    MENU,
    REPORT_CONFIRM,
    REPORT_DESCRIPTION,
    REPORT_PHONE,
)
from . import card

__all__ = [
    "back_from_location",
    "choose_handle",
    "choose_prompt",
    "county_handle",
    "county_prompt",
    "handle",
    "prompt",
    "township_handle",
    "township_prompt",
    "village_handle",
    "village_prompt",
]


def _loc(turn: Turn) -> dict[str, Any]:
    return turn.form("loc")


def _purpose(turn: Turn) -> str:
    return str(turn.data.get("loc_purpose", "report"))


def back_from_location(turn: Turn) -> str:
    if _purpose(turn) == "card":
        return MENU
    return REPORT_CONFIRM if turn.form("report").get("editing") else REPORT_DESCRIPTION


def _method_choices(turn: Turn) -> list[Choice]:
    return [
        Choice(turn.t("location.pick"), "loc:pick"),
        Choice(turn.t("location.gps"), "loc:gps"),
    ]


async def prompt(turn: Turn) -> None:
    """Asks where, offering the place from the QR code first when there is one."""
    home = turn.data.get("home")
    centers = turn.services.centers
    if home and not turn.data.get("loc_skip_home") and centers.region(home):
        turn.say(
            turn.t("location.prefilled", place=centers.full_name(home)),
            [
                Choice(turn.t("location.yes_here"), "loc:use"),
                Choice(turn.t("location.other_place"), "loc:other"),
            ],
        )
        return
    key = "card.location_prompt" if _purpose(turn) == "card" else "location.prompt"
    turn.say(turn.t(key), _method_choices(turn))


async def _common(turn: Turn) -> str | bool | None:
    """Input every location step accepts: a GPS point, a typed name, the picker."""
    if turn.msg.kind == "location" and turn.msg.location:
        return await _nearest(turn, turn.msg.location.lat, turn.msg.location.lon)
    if turn.payload == "loc:pick":
        return LOC_COUNTY
    if turn.payload == "loc:gps":
        turn.say(turn.t("location.gps_hint"), _method_choices(turn))
        return None
    if turn.text:
        return _search(turn, turn.text)
    return False  # not handled here


async def handle(turn: Turn) -> str | None:
    home = turn.data.get("home")
    if turn.payload == "loc:use" and home:
        return await chosen(turn, home, "link")
    if turn.payload == "loc:other":
        turn.data["loc_skip_home"] = True
        return LOCATION
    result = await _common(turn)
    if result is not False:
        return result  # type: ignore[return-value]
    turn.say(turn.t("location.hint"), _method_choices(turn))
    return None


async def _nearest(turn: Turn, lat: float, lon: float) -> str | None:
    region = turn.services.centers.nearest(lat, lon)
    if region is None:
        turn.say(turn.t("location.nearest_none"), _method_choices(turn))
        return None
    turn.data["loc"] = {"candidates": [region.code], "method": "gps", "lat": lat, "lon": lon}
    return LOC_CHOOSE


def _search(turn: Turn, text: str) -> str | None:
    matches = turn.services.centers.search(text, limit=3)
    if not matches:
        turn.say(turn.t("location.search_none", text=text[:20]), _method_choices(turn))
        return None
    turn.data["loc"] = {"candidates": [m.region.code for m in matches], "method": "search"}
    return LOC_CHOOSE


async def choose_prompt(turn: Turn) -> None:
    """Shows the places found and asks which one."""
    loc = _loc(turn)
    centers = turn.services.centers
    codes = loc.get("candidates", [])
    if loc.get("method") == "gps" and codes:
        text = turn.t("location.nearest_found", place=centers.full_name(codes[0]))
        choices = [
            Choice(turn.t("location.yes_here"), f"loc:set:{codes[0]}"),
            Choice(turn.t("location.not_here"), "loc:pick"),
        ]
    else:
        text = turn.t("location.search_found")
        choices = [Choice(centers.full_name(c), f"loc:set:{c}") for c in codes]
        choices.append(Choice(turn.t("location.none_right"), "loc:pick"))
    turn.say(text, choices)


async def choose_handle(turn: Turn) -> str | None:
    loc = _loc(turn)
    if turn.payload.startswith("loc:set:"):
        code = turn.payload.removeprefix("loc:set:")
        if code in loc.get("candidates", []):
            return await chosen(turn, code, loc.get("method", "search"))
    result = await _common(turn)
    if result is not False:
        return result  # type: ignore[return-value]
    turn.say(turn.t("location.picker_hint"))
    return LOC_CHOOSE


def _region_choices(turn: Turn, parent: str | None) -> list[Choice]:
    return [Choice(r.name, f"reg:{r.code}") for r in turn.services.centers.children(parent)]


async def county_prompt(turn: Turn) -> None:
    """Lists the counties and districts."""
    turn.say(turn.t("location.county_prompt"), _region_choices(turn, None))


async def county_handle(turn: Turn) -> str | None:
    codes = {r.code for r in turn.services.centers.children(None)}
    return await _pick_level(turn, codes, "county", LOC_TOWNSHIP, LOC_COUNTY)


async def township_prompt(turn: Turn) -> None:
    """Lists the townships of the chosen county."""
    turn.say(turn.t("location.township_prompt"), _region_choices(turn, _loc(turn).get("county")))


async def township_handle(turn: Turn) -> str | None:
    county = _loc(turn).get("county")
    codes = {r.code for r in turn.services.centers.children(county)}
    return await _pick_level(turn, codes, "township", LOC_VILLAGE, LOC_TOWNSHIP)


async def village_prompt(turn: Turn) -> None:
    """Lists the villages of the chosen township, or the township itself."""
    township = _loc(turn).get("township")
    centers = turn.services.centers
    choices = _region_choices(turn, township)
    region = centers.region(township) if township else None
    if region is not None:
        choices.append(
            Choice(turn.t("location.whole_township", township=region.name), f"reg:{region.code}")
        )
    turn.say(turn.t("location.village_prompt"), choices)


async def village_handle(turn: Turn) -> str | None:
    township = _loc(turn).get("township")
    codes = {r.code for r in turn.services.centers.children(township)}
    if township and turn.payload == f"reg:{township}":
        return await chosen(turn, township, "picker")
    return await _pick_level(turn, codes, "village", None, LOC_VILLAGE)


async def _pick_level(
    turn: Turn, codes: set[str], level: str, next_step: str | None, this_step: str
) -> str | None:
    if turn.payload.startswith("reg:") and turn.payload[4:] in codes:
        code = turn.payload[4:]
        if next_step is None or not turn.services.centers.children(code):
            return await chosen(turn, code, "picker")
        _loc(turn)[level] = code
        return next_step
    result = await _common(turn)
    if result is not False:
        return result  # type: ignore[return-value]
    turn.say(turn.t("location.picker_hint"))
    return this_step


async def chosen(turn: Turn, code: str, method: str) -> str | None:
    """A place is settled: remember it, then continue the report or the card."""
    loc = turn.data.pop("loc", {}) or {}
    turn.data["home"] = code
    turn.data.pop("loc_skip_home", None)
    if _purpose(turn) == "card":
        turn.data.pop("loc_purpose", None)
        card.show(turn, code)
        turn.state = MENU
        return None
    form = turn.form("report")
    form["region"], form["method"] = code, method
    form["lat"], form["lon"] = loc.get("lat"), loc.get("lon")
    return REPORT_CONFIRM if form.get("editing") else REPORT_PHONE
