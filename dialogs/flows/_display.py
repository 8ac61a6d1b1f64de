"""How times are shown to residents: Beijing time, month and day, hour and minute."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

__all__ = ["BEIJING", "format_time"]

# China keeps one time zone and no daylight saving, so a fixed offset is exact.
BEIJING = timezone(timedelta(hours=8), "北京时间")


def format_time(moment: datetime) -> str:
    local = moment.astimezone(BEIJING)
    return f"{local.month}月{local.day}日 {local:%H:%M}"
