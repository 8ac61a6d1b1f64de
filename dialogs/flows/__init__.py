"""The transition table: every dialog step, declared once.

See ``flows.mmd`` beside this package for the same flow as a diagram.
"""

from __future__ import annotations

from .._flow import Step
from .._states import (
    ASK,
    ASK_FEEDBACK,
    ASK_PICK,
    CASE_ADD,
    CASE_WITHDRAW,
    CASES_LIST,
    LOC_CHOOSE,
    LOC_COUNTY,
    LOC_TOWNSHIP,
    LOC_VILLAGE,
    LOCATION,
    MENU,
    RATE_AGAIN,
    RATE_COMMENT,
    REPORT_CATEGORY,
    REPORT_CONFIRM,
    REPORT_DESCRIPTION,
    REPORT_PHONE,
)
from . import ask, cases, danger, location, menu, rating, report, resume
from .menu import open_menu_item

__all__ = [
    "STEPS",
    "ask",
    "cases",
    "danger",
    "location",
    "menu",
    "open_menu_item",
    "rating",
    "report",
    "resume",
]

STEPS: dict[str, Step] = {
    step.name: step
    for step in [
        Step(MENU, menu.prompt, menu.handle),
        Step(ASK, ask.prompt, ask.handle, back=MENU),
        Step(ASK_PICK, ask.pick_prompt, ask.pick_handle, back=ASK),
        Step(ASK_FEEDBACK, ask.feedback_prompt, ask.feedback_handle, back=ASK),
        Step(
            REPORT_CATEGORY,
            report.category_prompt,
            report.category_handle,
            back=report.back_unless_editing(MENU),
        ),
        Step(
            REPORT_DESCRIPTION,
            report.description_prompt,
            report.description_handle,
            back=report.back_unless_editing(REPORT_CATEGORY),
        ),
        Step(LOCATION, location.prompt, location.handle, back=location.back_from_location),
        Step(LOC_COUNTY, location.county_prompt, location.county_handle, back=LOCATION),
        Step(LOC_TOWNSHIP, location.township_prompt, location.township_handle, back=LOC_COUNTY),
        Step(LOC_VILLAGE, location.village_prompt, location.village_handle, back=LOC_TOWNSHIP),
        Step(LOC_CHOOSE, location.choose_prompt, location.choose_handle, back=LOCATION),
        Step(
            REPORT_PHONE,
            report.phone_prompt,
            report.phone_handle,
            back=report.back_unless_editing(LOCATION),
        ),
        Step(REPORT_CONFIRM, report.confirm_prompt, report.confirm_handle, back=REPORT_PHONE),
        Step(CASES_LIST, cases.list_prompt, cases.list_handle, back=MENU),
        Step(CASE_ADD, cases.add_prompt, cases.add_handle, back=CASES_LIST),
        Step(CASE_WITHDRAW, cases.withdraw_prompt, cases.withdraw_handle, back=CASE_ADD),
        Step(RATE_COMMENT, rating.comment_prompt, rating.comment_handle),
        Step(RATE_AGAIN, rating.again_prompt, rating.again_handle),
    ]
}
