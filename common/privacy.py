"""Masking of phone and ID numbers.

Residents' phone numbers and ID numbers are shown in full only to the
mediator working the case; everywhere else (logs, resident-facing
summaries, notifications) they pass through these functions.
"""

from __future__ import annotations

import logging
import re

__all__ = ["MaskingFilter", "mask_phone", "mask_sensitive", "valid_mobile"]

_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")
_ID_NUMBER = re.compile(r"(?<![\dA-Za-z])(\d{6})(\d{8})(\d{3}[\dXx])(?![\dA-Za-z])")
_MOBILE_ONLY = re.compile(r"1[3-9]\d{9}")
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
    text = _TOKEN.sub(r"\1***", text)
    text = _ID_NUMBER.sub(lambda m: f"{m.group(1)}********{m.group(3)[-1]}", text)
    return _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)


class MaskingFilter(logging.Filter):
    """Logging filter that masks phone and ID numbers in every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_sensitive(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True
