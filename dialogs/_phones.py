"""Phone numbers in the bot's own words, so adapters can make them tap-to-call.

Found in the text rather than listed by hand, so that a number an admin
writes into ``texts.yaml`` or the centers file is callable too. Amounts
("赔了120元"), dates and case numbers (MS261122-0007) are not numbers to call.
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["phone_numbers"]

_HOTLINES = "110|119|120|122|12110|12315|12333|12338|12345|12348|12356|12355|95598|96110"
_NOT_A_COUNT = "元块万斤天年月日号个岁次条米%％"
_PHONE = re.compile(
    r"(?<![0-9A-Za-z\-])"
    rf"(?:(?:{_HOTLINES})(?![0-9{_NOT_A_COUNT}])"
    r"|0\d{2,3}-\d{7,8}(?!\d)"
    r"|1[3-9]\d{9}(?!\d))"
    r"(?![A-Za-z\-])"
)


@lru_cache(maxsize=4096)  # replies are mostly the same texts: menus, prompts, answers
def phone_numbers(text: str) -> tuple[str, ...]:
    """Every callable number in ``text``, in order, each once."""
    return tuple(dict.fromkeys(_PHONE.findall(text)))
