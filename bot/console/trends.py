"""Trends for leaders (参谋部): cases and FAQ questions by category and by
township, week by week or month by month, drawn as SVG on the server.

A category (or township) is *rising* in a period when its count is at least
5 and at least 50% above the average of the four periods before it. Every
chart's numbers are the JSON (``/console/api/trends``) and a CSV download.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from html import escape
from typing import Any

from bot.runtime import Runtime
from bot.storage import ConsoleReads
from handoff import CenterDirectory

from .access import Staff
from .actions import ActionError
from .stats import BEIJING, case_centers, chain, scope_of

__all__ = ["CHARTS", "chart_csv", "rising", "svg", "trends"]

RISE_FACTOR = 1.5
RISE_MINIMUM = 5
LOOK_BACK = 4
DEFAULT_PERIODS = 12
UNMATCHED = "unmatched"
UNKNOWN_PLACE = "unknown"

CHARTS = {
    "cases_by_category": "事项数 · 按类别",
    "cases_by_place": "事项数 · 按乡镇",
    "faq_by_category": "法律咨询提问数 · 按类别",
    "faq_by_place": "法律咨询提问数 · 按乡镇",
}
RISING_DEFINITION = (
    "上升：某期数量不少于 5，且比前四期平均数高出 50% 以上（前期数据不足四期时按已有的期数平均）。"
)
_COLORS = ("#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#65a30d")


@dataclass(frozen=True)
class Bucket:
    first: date  # the period's first day (Beijing)
    label: str

    @property
    def since(self) -> datetime:
        return datetime.combine(self.first, time(), BEIJING)


def _buckets(unit: str, count: int, today: date) -> list[Bucket]:
    """``count`` periods ending with the one holding ``today``, oldest first."""
    found: list[Bucket] = []
    if unit == "week":
        start = today - timedelta(days=today.weekday())
        for i in range(count - 1, -1, -1):
            first = start - timedelta(weeks=i)
            found.append(Bucket(first, f"{first.isoformat()}周"))
    else:
        year, month = today.year, today.month
        for i in range(count - 1, -1, -1):
            y, m = divmod(year * 12 + month - 1 - i, 12)
            found.append(Bucket(date(y, m + 1, 1), f"{y}-{m + 1:02d}"))
    return found


def _index(buckets: list[Bucket], moment: datetime) -> int | None:
    day = moment.astimezone(BEIJING).date()
    for i in range(len(buckets) - 1, -1, -1):
        if day >= buckets[i].first:
            return i
    return None


def rising(values: list[int], at: int) -> bool:
    """Whether ``values[at]`` is rising against up to four periods before it."""
    before = values[max(0, at - LOOK_BACK) : at]
    if values[at] < RISE_MINIMUM:
        return False
    average = sum(before) / len(before) if before else 0
    return values[at] >= RISE_FACTOR * average


def township_of(directory: CenterDirectory, code: str | None) -> str | None:
    current = code
    while current:
        region = directory.region(current)
        if region is None:
            return None
        if region.level == "township":
            return region.code
        current = region.parent_code
    return None


def _chart(
    key: str,
    buckets: list[Bucket],
    shown: int,
    points: list[tuple[str, int]],
    names: dict[str, str],
) -> dict[str, Any]:
    counts: dict[str, list[int]] = {}
    for key_, i in points:
        counts.setdefault(key_, [0] * len(buckets))[i] += 1
    offset = len(buckets) - shown
    series: list[dict[str, Any]] = []
    for name, values in sorted(counts.items(), key=lambda kv: (-sum(kv[1][offset:]), kv[0])):
        if not any(values[offset:]):
            continue
        series.append(
            {
                "key": name,
                "name": names.get(name, name),
                "values": values[offset:],
                "rising": [rising(values, i) for i in range(offset, len(values))],
            }
        )
    return {
        "key": key,
        "title": CHARTS[key],
        "periods": [b.label for b in buckets[offset:]],
        "series": series,
    }


async def trends(
    rt: Runtime, reads: ConsoleReads, staff: Staff, params: dict[str, str]
) -> dict[str, Any]:
    """Four charts and the township table for the user's area."""
    scope = scope_of(rt, staff, params.get("center", ""))
    unit = params.get("by") or "week"
    if unit not in ("week", "month"):
        raise ActionError(400, "by 只能是 week 或 month")
    try:
        shown = int(params.get("periods") or DEFAULT_PERIODS)
    except ValueError:
        raise ActionError(400, "periods 应为数字") from None
    if not 1 <= shown <= 60:
        raise ActionError(400, "periods 应在 1 到 60 之间")
    directory = rt.centers
    today = rt.clock().astimezone(BEIJING).date()
    buckets = _buckets(unit, shown + LOOK_BACK, today)
    since = buckets[0].since
    until = datetime.combine(today + timedelta(days=1), time(), BEIJING)
    cases = await reads.cases_received(since, until)
    questions = await reads.faq_questions(since, until)
    categories = rt.faq.categories()
    names = {**categories, UNMATCHED: "未找到答案", UNKNOWN_PLACE: "地点不明"}

    case_points: list[tuple[str, str, int]] = []  # category, township, period
    for c in cases:
        received = next(
            (str(e["detail"].get("center_id", "")) for e in c["events"] if e["kind"] == "assigned"),
            "",
        )
        if scope.center_id is not None and scope.center_id not in case_centers(directory, received):
            continue
        i = _index(buckets, c["created_at"])
        if i is not None:
            place = township_of(directory, c["region_code"]) or UNKNOWN_PLACE
            case_points.append((c["category"], place, i))
    faq_points: list[tuple[str, str, int]] = []
    for q in questions:
        if scope.center_id is not None and scope.center_id not in chain(
            directory, q["region_code"]
        ):
            continue
        i = _index(buckets, q["asked_at"])
        if i is None:
            continue
        entry = rt.faq.entry(q["entry_id"]) if q["entry_id"] and q["decision"] != "none" else None
        place = township_of(directory, q["region_code"]) or UNKNOWN_PLACE
        faq_points.append((entry.category if entry else UNMATCHED, place, i))
    for code in {p for _, p, _ in case_points + faq_points} - {UNKNOWN_PLACE}:
        names[code] = directory.full_name(code)

    charts = [
        _chart("cases_by_category", buckets, shown, [(c, i) for c, _, i in case_points], names),
        _chart("cases_by_place", buckets, shown, [(p, i) for _, p, i in case_points], names),
        _chart("faq_by_category", buckets, shown, [(c, i) for c, _, i in faq_points], names),
        _chart("faq_by_place", buckets, shown, [(p, i) for _, p, i in faq_points], names),
    ]
    cases_by_place = {s["key"]: s for s in charts[1]["series"]}
    faq_by_place = {s["key"]: s for s in charts[3]["series"]}
    townships = []
    for code in sorted(set(cases_by_place) | set(faq_by_place)):
        zero = [0] * shown
        case_values = cases_by_place[code]["values"] if code in cases_by_place else zero
        faq_values = faq_by_place[code]["values"] if code in faq_by_place else zero
        townships.append(
            {
                "code": code,
                "name": names.get(code, code),
                "cases": case_values,
                "faq": faq_values,
                "cases_total": sum(case_values),
                "faq_total": sum(faq_values),
            }
        )
    return {
        "scope": {"id": scope.center_id, "name": scope.name},
        "by": unit,
        "periods": charts[0]["periods"],
        "charts": charts,
        "townships": townships,
        "definitions": {
            "rising": RISING_DEFINITION,
            "cases": "事项数：受理时间在该期内、受理中心在本辖区内的事项件数；"
            "地点按事发地所在乡镇。",
            "faq": "提问数：该期内居民问的法律问题数（答案、候选、没找到都算），"
            "类别按给出的答案或首个候选的类别；地点按居民所在地，不知道的不计入中心统计。",
        },
    }


def chart_csv(chart: dict[str, Any]) -> str:
    """One chart's numbers: a row per series and period."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["期间", "系列", "数量", "上升"])
    for s in chart["series"]:
        for label, value, up in zip(chart["periods"], s["values"], s["rising"], strict=True):
            writer.writerow([label, s["name"], value, "是" if up else ""])
    return out.getvalue()


def svg(chart: dict[str, Any], width: int = 720, height: int = 260) -> str:
    """A line chart with a legend; rising points are red rings (with a title)."""
    left, right, top, bottom = 40, 180, 16, 40
    periods = chart["periods"]
    top_value = max([max(s["values"], default=0) for s in chart["series"]] + [1])
    plot_w, plot_h = width - left - right, height - top - bottom
    step = plot_w / max(len(periods) - 1, 1)

    def x(i: int) -> float:
        return round(left + i * step, 1)

    def y(v: int) -> float:
        return round(top + plot_h - v / top_value * plot_h, 1)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart="{chart["key"]}"'
        f' viewBox="0 0 {width} {height}" role="img" aria-label="{escape(chart["title"])}">',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}"'
        ' stroke="#999"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#999"/>',
        f'<text x="{left - 6}" y="{top + 4}" text-anchor="end" font-size="11">{top_value}</text>',
        f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end" font-size="11">0</text>',
    ]
    every = max(1, len(periods) // 6)
    for i, label in enumerate(periods):
        if i % every == 0 or i == len(periods) - 1:
            parts.append(
                f'<text x="{x(i)}" y="{height - bottom + 16}" text-anchor="middle"'
                f' font-size="10">{escape(label)}</text>'
            )
    for n, s in enumerate(chart["series"][:8]):
        color = _COLORS[n % len(_COLORS)]
        points = " ".join(f"{x(i)},{y(v)}" for i, v in enumerate(s["values"]))
        parts.append(
            f'<polyline class="series" data-series="{escape(s["key"])}" fill="none"'
            f' stroke="{color}" stroke-width="2" points="{points}"/>'
        )
        for i, (v, up) in enumerate(zip(s["values"], s["rising"], strict=True)):
            if up:
                parts.append(
                    f'<circle class="rising" cx="{x(i)}" cy="{y(v)}" r="5" fill="none"'
                    f' stroke="#dc2626" stroke-width="2"><title>{escape(s["name"])}'
                    f" {escape(periods[i])} 上升：{v}</title></circle>"
                )
        ly = top + 14 * n + 8
        parts.append(
            f'<rect x="{width - right + 10}" y="{ly - 8}" width="10" height="10" fill="{color}"/>'
            f'<text x="{width - right + 24}" y="{ly + 1}" font-size="11">'
            f"{escape(s['name'][:12])}</text>"
        )
    if not chart["series"]:
        parts.append(
            f'<text x="{left + plot_w / 2}" y="{top + plot_h / 2}" text-anchor="middle"'
            ' font-size="13" fill="#666">这段时间没有数据</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
