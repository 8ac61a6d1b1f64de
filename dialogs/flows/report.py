"""反映问题/申请调解: category → description → location → phone → confirm → case."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from common.messages import Choice
from common.privacy import mask_phone, valid_mobile
from handoff import CaseDraft

from .._flow import Turn
from .._states import (
    LOCATION,
    MENU,
    REPORT_CATEGORY,
    REPORT_CONFIRM,
    REPORT_DESCRIPTION,
    REPORT_PHONE,
)
from ._common import center_phone, menu_choices
from ._display import format_time

__all__ = [
    "back_unless_editing",
    "begin",
    "begin_with_story",
    "category_handle",
    "category_prompt",
    "confirm_handle",
    "confirm_prompt",
    "description_handle",
    "description_prompt",
    "infer_category",
    "mobile_in",
    "phone_handle",
    "phone_prompt",
]

_SUMMARY_CHARS = 80


def begin(turn: Turn, *, category: str | None = None, first_message: str | None = None) -> str:
    """Opens a fresh report form; returns its first step."""
    turn.data["report"] = {
        "category": category,
        "messages": [first_message] if first_message else [],
        "attachments": [],
        "started": turn.inbound_id,
    }
    turn.data["loc_purpose"] = "report"
    return REPORT_DESCRIPTION if category else REPORT_CATEGORY


async def begin_with_story(turn: Turn, story: str) -> str:
    """Opens a report whose description starts with what the resident already said,
    telling them it was kept; returns the next step."""
    category = await infer_category(turn, story)
    step = begin(turn, category=category, first_message=story)
    kept = turn.t("report.story_kept")
    if category:
        name = turn.services.faq.categories().get(category, category)
        kept = turn.t("report.category_guess", category=name) + "\n" + kept
    turn.say(kept)
    return step


def back_unless_editing(default: str) -> Callable[[Turn], str]:
    """Where 返回 leads from a report step: the summary while a part is edited, else ``default``."""
    return lambda turn: _after_edit(turn, default)


def _after_edit(turn: Turn, default: str) -> str:
    return REPORT_CONFIRM if turn.form("report").get("editing") else default


async def infer_category(turn: Turn, text: str) -> str | None:
    """Guesses the category from the words used; None when unsure."""
    faq = turn.services.faq
    result = await turn.match(text)
    if result.decision.value != "none" and result.candidates:
        return result.candidates[0].entry.category
    best, hits = None, 0
    for slug, words in faq.category_keywords().items():
        n = sum(1 for w in words if w and w in text)
        if n > hits:
            best, hits = slug, n
    return best


def _category_choices(turn: Turn) -> list[Choice]:
    return [Choice(name, f"cat:{slug}") for slug, name in turn.services.faq.categories().items()]


async def category_prompt(turn: Turn) -> None:
    """Asks which kind of matter it is."""
    turn.say(turn.t("report.category_prompt"), _category_choices(turn))


async def category_handle(turn: Turn) -> str | None:
    form = turn.form("report")
    categories = turn.services.faq.categories()
    if turn.payload.startswith("cat:") and turn.payload[4:] in categories:
        form["category"] = turn.payload[4:]
        return _after_edit(turn, REPORT_DESCRIPTION)
    if turn.text:
        guess = await infer_category(turn, turn.text)
        if guess:
            form["category"] = guess
            if form.get("editing"):
                return REPORT_CONFIRM
            form["messages"].append(turn.text)
            turn.say(
                turn.t("report.category_guess", category=categories[guess])
                + "\n"
                + turn.t("report.description_saved", count=len(form["messages"])),
                [_done_choice(turn)],
            )
            turn.state = REPORT_DESCRIPTION
            return None
        if not form.get("editing"):
            # Not clear which kind: keep the story as the start of the description.
            form["messages"].append(turn.text)
            turn.say(turn.t("report.category_story_kept"), _category_choices(turn))
            return None
    turn.say(turn.t("report.category_hint"), _category_choices(turn))
    return None


def _done_choice(turn: Turn) -> Choice:
    return Choice(turn.t("report.description_done"), "desc:done")


async def description_prompt(turn: Turn) -> None:
    """Asks what happened; when something was said already, what to do with it."""
    form = turn.form("report")
    told = len(form["messages"]) + len(form["attachments"])
    if form.get("editing") and told:
        turn.say(
            turn.t("report.description_edit", description=_summary(form["messages"]) or "—"),
            [
                Choice(turn.t("report.description_add"), "desc:add"),
                Choice(turn.t("report.description_replace"), "desc:replace"),
                _done_choice(turn),
            ],
        )
    elif told:
        turn.say(turn.t("report.description_more", count=told), [_done_choice(turn)])
    else:
        turn.say(turn.t("report.description_prompt"), [_done_choice(turn)])


async def description_handle(turn: Turn) -> str | None:
    form = turn.form("report")
    services = turn.services
    done_words = services.texts.words("report.description_done_words")
    if turn.payload == "desc:done" or (turn.text and turn.text.strip("。.!！ ") in done_words):
        if not form["messages"] and not form["attachments"]:
            turn.say(turn.t("report.description_empty"), [_done_choice(turn)])
            return None
        return _after_edit(turn, LOCATION)
    if turn.payload == "desc:add":
        turn.say(turn.t("report.description_adding"), [_done_choice(turn)])
        return None
    if turn.payload == "desc:replace":
        form["messages"], form["attachments"] = [], []
        turn.say(turn.t("report.description_replaced"), [_done_choice(turn)])
        return None
    if turn.text:
        if len(form["messages"]) >= services.max_description_messages:
            turn.say(turn.t("report.description_full"), [_done_choice(turn)])
            return None
        form["messages"].append(turn.text)
        turn.say(
            turn.t("report.description_saved", count=len(form["messages"])), [_done_choice(turn)]
        )
        return None
    if turn.msg.kind == "attachment" and turn.msg.attachments:
        room = services.max_attachments - len(form["attachments"])
        if room <= 0:
            turn.say(turn.t("report.description_full"), [_done_choice(turn)])
            return None
        for a in turn.msg.attachments[:room]:
            form["attachments"].append({"kind": a.kind, "ref": a.ref, "name": a.name})
        turn.say(
            turn.t("report.attachment_saved", count=len(form["attachments"])), [_done_choice(turn)]
        )
        return None
    turn.say(turn.t("report.description_hint"), [_done_choice(turn)])
    return None


async def phone_prompt(turn: Turn) -> None:
    """Asks for an optional mobile number."""
    turn.say(turn.t("report.phone_prompt"), [Choice(turn.t("report.phone_skip"), "phone:skip")])


# Between digit groups: spaces, dashes, dots and brackets as people type them.
_BETWEEN_DIGITS = re.compile(r"(?<=\d)[\s\-－—–.·()（）]+(?=\d)")
_DIGIT_RUN = re.compile(r"\+?\d+")


def mobile_in(text: str) -> str | None:
    """The one mainland mobile number in what was typed, or None.

    Accepts a Chinese keyboard's full-width digits, separators, a +86/0086
    prefix and words around it (我的电话是…。); refuses anything else,
    including a number with a digit too many.
    """
    plain = _BETWEEN_DIGITS.sub("", unicodedata.normalize("NFKC", text))
    numbers: list[str] = []
    for run in _DIGIT_RUN.findall(plain):
        digits = run.removeprefix("+")
        for prefix in ("0086", "86"):
            if len(digits) == 11 + len(prefix) and digits.startswith(prefix):
                digits = digits[len(prefix) :]
        numbers.append(digits)
    long_ones = [n for n in numbers if len(n) >= 7]
    if len(long_ones) == 1 and valid_mobile(long_ones[0]):
        return long_ones[0]
    return None


async def phone_handle(turn: Turn) -> str | None:
    form = turn.form("report")
    skip = [Choice(turn.t("report.phone_skip"), "phone:skip")]
    if turn.payload == "phone:skip" or turn.text in (turn.t("report.phone_skip"), "不留", "不用"):
        form["phone"] = None
        return REPORT_CONFIRM
    if turn.text:
        phone = mobile_in(turn.text)
        if phone is not None:
            form["phone"] = phone
            return REPORT_CONFIRM
        turn.say(turn.t("report.phone_invalid"), skip)
        return None
    turn.say(turn.t("report.phone_hint"), skip)
    return None


def _summary(messages: list[str]) -> str:
    text = "；".join(messages)
    return text if len(text) <= _SUMMARY_CHARS else text[:_SUMMARY_CHARS] + "…"


async def confirm_prompt(turn: Turn) -> None:
    """Shows everything collected and asks to submit or change a part."""
    form = turn.form("report")
    services = turn.services
    route = services.centers.route(form["region"], form["category"])
    text = turn.t(
        "report.confirm_prompt",
        category=services.faq.categories().get(form["category"], form["category"]),
        description=_summary(form["messages"]) or "—",
        place=services.centers.full_name(form["region"]),
        phone=mask_phone(form.get("phone")) or turn.t("report.no_phone"),
        center=route.center.name,
    )
    if form["attachments"]:
        text += "\n" + turn.t("report.confirm_attachments", count=len(form["attachments"]))
    if turn.data.get("urgent"):
        text += "\n" + turn.t("report.confirm_urgent")
    turn.say(
        text,
        [
            Choice(turn.t("report.submit"), "confirm:yes"),
            Choice(turn.t("report.edit_category"), "edit:category"),
            Choice(turn.t("report.edit_description"), "edit:description"),
            Choice(turn.t("report.edit_location"), "edit:location"),
            Choice(turn.t("report.edit_phone"), "edit:phone"),
        ],
    )


_EDIT_TARGETS = {
    "edit:category": REPORT_CATEGORY,
    "edit:description": REPORT_DESCRIPTION,
    "edit:location": LOCATION,
    "edit:phone": REPORT_PHONE,
}


async def confirm_handle(turn: Turn) -> str | None:
    form = turn.form("report")
    if turn.payload == "confirm:yes":
        await _submit(turn)
        return None
    if turn.payload in _EDIT_TARGETS:
        form["editing"] = True
        if turn.payload == "edit:location":
            turn.data["loc_purpose"] = "report"
            turn.data["loc_skip_home"] = True
        return _EDIT_TARGETS[turn.payload]
    turn.say(turn.t("report.confirm_hint"))
    return REPORT_CONFIRM


async def _submit(turn: Turn) -> None:
    form = turn.form("report")
    services = turn.services
    urgent = bool(turn.data.get("urgent"))
    case, center = await services.cases.open(
        turn.writes,
        CaseDraft(
            channel=turn.msg.channel,
            user_id=turn.msg.user_id,
            category=form["category"],
            description="\n".join(form["messages"]),
            region_code=form["region"],
            location_text=services.centers.full_name(form["region"]),
            location_method=form["method"],
            lat=form.get("lat"),
            lon=form.get("lon"),
            phone=form.get("phone"),
            urgent=urgent,
            transcript_from=form.get("started"),
            attachments=tuple(form["attachments"]),
        ),
        turn.now,
    )
    text = turn.t(
        "report.submitted",
        number=case.number,
        center=case.center_name,
        center_phone=center_phone(turn, center.phone),
        due=format_time(case.due_at),
    )
    if urgent:
        text += "\n" + turn.t("emergency_urgent_note")
    turn.say(text, menu_choices(turn))
    for key in ("report", "urgent", "loc", "loc_purpose", "loc_skip_home"):
        turn.data.pop(key, None)
    turn.state = MENU
