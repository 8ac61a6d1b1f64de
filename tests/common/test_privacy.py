"""Phone and ID numbers never show in full outside the mediator's view."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common import privacy
from common.privacy import MaskingFilter, mask_phone, mask_sensitive, valid_mobile


def test_phone_masking() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone(None) == ""
    assert valid_mobile("19912345678") and not valid_mobile("12345678901")


def test_numbers_inside_text_are_masked() -> None:
    text = "我的电话13812345678，身份证620702199001011234"
    masked = mask_sensitive(text)
    assert "13812345678" not in masked and "138****5678" in masked
    assert "620702199001011234" not in masked and masked.endswith("620702********4")


def test_log_records_are_masked(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("minshi.test")
    logger.addFilter(MaskingFilter())
    with caplog.at_level(logging.INFO, logger="minshi.test"):
        logger.info("resident %s called", "13812345678")
    assert "13812345678" not in caplog.text and "138****5678" in caplog.text


def test_web_chat_tokens_in_access_logs_are_hidden() -> None:
    line = '127.0.0.1 - "GET /api/chat/events?token=abcDEF_123-x&after=3 HTTP/1.1" 200'
    assert (
        mask_sensitive(line) == '127.0.0.1 - "GET /api/chat/events?token=***&after=3 HTTP/1.1" 200'
    )


_DIGITS_AND_SEPARATORS = "0123456789１３８Xx token=&- 电话身份证"


@given(st.text(alphabet=_DIGITS_AND_SEPARATORS, max_size=60))
@settings(max_examples=3000, deadline=None)
def test_a_quick_look_first_masks_exactly_as_every_pattern_would(text: str) -> None:
    """Lines without eleven digits in a row skip the mobile and ID patterns: they
    could not match there, so the masked text is the same."""
    assert mask_sensitive(text) == _every_pattern(text)


def _every_pattern(text: str) -> str:
    text = privacy._TOKEN.sub(r"\1***", text)
    text = privacy._ID_NUMBER.sub(lambda m: f"{m.group(1)}********{m.group(3)[-1]}", text)
    return privacy._MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
