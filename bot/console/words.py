"""How the console says things: time left in plain words, Beijing time, labels."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from handoff import OUTCOME_LABELS, OUTCOMES

__all__ = [
    "BEIJING",
    "EVENT_LABELS",
    "STATUS_LABELS",
    "clock_time",
    "outcome_labels",
    "span",
    "time_left",
]

# China keeps one time zone and no daylight saving, so a fixed offset is exact.
BEIJING = timezone(timedelta(hours=8), "北京时间")

STATUS_LABELS = {
    "received": "已收到",
    "assigned": "待认领",
    "claimed": "已认领",
    "in_progress": "办理中",
    "resolved": "已办结",
    "rated": "已评价",
    "archived": "已归档",
    "withdrawn": "居民已撤回",
}

EVENT_LABELS = {
    "received": "收到居民反映",
    "assigned": "分到",
    "claimed": "认领",
    "replied": "第一次回复居民",
    "escalated": "上交",
    "transferred": "转办",
    "resolved": "办结",
    "withdrawn": "居民撤回",
    "rated": "居民评价",
    "archived": "归档",
    "reopened": "重新办理",
    "followed_up": "回访",
    "followup_answered": "居民答复回访",
    "overdue_flagged": "超时（已是最高一级）",
    "supervised": "督办",
    "note": "写了内部备注",
}


def outcome_labels() -> dict[str, str]:
    """The resolution outcomes the case service accepts, with their labels."""
    return {key: OUTCOME_LABELS[key] for key in OUTCOMES}


def span(delta: timedelta) -> str:
    """A duration the way people say it: 40 分钟, 3 小时, 2 天 5 小时."""
    minutes = max(1, int(delta.total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} 分钟"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} 小时"
    days, rest = divmod(hours, 24)
    return f"{days} 天" + (f" {rest} 小时" if rest else "")


def time_left(due: datetime, now: datetime) -> str:
    """还剩 3 小时 / 已超时 2 小时."""
    if due > now:
        return f"还剩 {span(due - now)}"
    return f"已超时 {span(now - due)}"


def clock_time(moment: datetime) -> str:
    local = moment.astimezone(BEIJING)
    return f"{local.month}月{local.day}日 {local:%H:%M}"
