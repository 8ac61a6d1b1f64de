"""Which numbers in the bot's words become tap-to-call links."""

from __future__ import annotations

from dialogs._phones import phone_numbers


def test_hotlines_landlines_and_mobiles_are_found_once_in_order() -> None:
    text = "报警110，急救120；沙井镇 0936-0000123，网格员 13912345678。再说一遍：110"
    assert phone_numbers(text) == ("110", "120", "0936-0000123", "13912345678")


def test_amounts_dates_and_case_numbers_are_not_numbers_to_call() -> None:
    text = "对方赔了120元，12月1日到期，事项编号 MS261122-0110，电话 138****5678"
    assert phone_numbers(text) == ()
