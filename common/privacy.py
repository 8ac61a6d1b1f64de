"""Masking of phone and ID numbers.

Residents' phone numbers and ID numbers are shown in full only to the
mediator working the case; everywhere else (logs, resident-facing
summaries, notifications) they pass through these functions.
"""

from __future__ import annotations

import logging
import re
from typing import Any

__all__ = [
    "REMOVED",
    "MaskingFilter",
    "mask_phone",
    "mask_sensitive",
    "remove_sensitive",
    "remove_sensitive_in",
    "valid_mobile",
]

_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")
_ID_NUMBER = re.compile(r"(?<![\dA-Za-z])(\d{6})(\d{8})(\d{3}[\dXx])(?![\dA-Za-z])")
_MOBILE_ONLY = re.compile(r"1[3-9]\d{9}")
_ELEVEN_DIGITS = re.compile(r"\d{11}")  # in every mobile and ID number
# The web chat's event stream carries the resident's token in its URL.
_TOKEN = re.compile(r"(token=)[^&\s\"']+")


def valid_mobile(digits: str) -> bool:
    """A mainland mobile number: 11 digits starting 13–19."""
    return bool(_MOBILE_ONLY.fullmatch(digits))


def mask_phone(phone: str | None) -> str:
    """138****8000 for a mobile; the last four digits for anything else."""
    if not phone:
        return ""
    if valid_mobile(phone):
        return f"{phone[:3]}****{phone[-4:]}"
    return "*" * max(len(phone) - 4, 0) + phone[-4:]


def mask_sensitive(text: str) -> str:
    """Mask every mobile and ID number (and web chat token) inside free text."""
    if "token=" in text:
        text = _TOKEN.sub(r"\1***", text)
    if _ELEVEN_DIGITS.search(text) is None:  # most log lines: one quick look, not two
        return text
    text = _ID_NUMBER.sub(lambda m: f"{m.group(1)}********{m.group(3)[-1]}", text)
    return _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)


REMOVED = "〔已删除〕"  # what a removed phone or ID number leaves behind
# As residents type them: with spaces or dashes (full-width digits are folded first).
_MOBILE_LOOSE = re.compile(r"(?<!\d)1[3-9]\d(?:[ \-]?\d{4}){2}(?!\d)")
_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９－　", "0123456789- ")


def remove_sensitive(text: str) -> str:
    """Every mobile and ID number in ``text`` replaced by ``REMOVED`` (retention:
    unlike masking, nothing of the number is left)."""
    folded = text.translate(_FULLWIDTH_DIGITS)  # same length: spans carry over
    spans = [m.span() for m in _ID_NUMBER.finditer(folded)]
    spans += [m.span() for m in _MOBILE_LOOSE.finditer(folded)]
    if not spans:
        return text
    out, last = [], 0
    for start, end in sorted(spans):
        if start < last:  # overlaps a number already removed
            continue
        out += [text[last:start], REMOVED]
        last = end
    return "".join([*out, text[last:]])


def remove_sensitive_in(value: Any) -> Any:
    """``remove_sensitive`` applied to every string inside a JSON-like value."""
    if isinstance(value, str):
        return remove_sensitive(value)
    if isinstance(value, list):
        return [remove_sensitive_in(item) for item in value]
    if isinstance(value, dict):
        return {key: remove_sensitive_in(item) for key, item in value.items()}
    return value


class MaskingFilter(logging.Filter):
    """Logging filter that masks phone and ID numbers in every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        # The message formatted once: the formatter takes it as it is (no arguments left).
        record.msg, record.args = mask_sensitive(record.getMessage()), None
        return True
