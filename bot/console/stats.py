"""The statistics of a center and the centers below it, for a chosen period.

Every figure is counted from recorded rows only — the cases' audit trail
(``case_events``) and the FAQ decisions shown to residents with their taps
(``faq_questions``/``faq_feedback``) — and carries its definition in plain
Chinese (``DEFINITIONS``), so anyone can recount it by hand. A case belongs
to the center it was first assigned to (受理中心); a center's figures cover
that center and every center below it.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.runtime import Runtime
from bot.storage import ConsoleReads
from handoff import WALK_IN, CenterDirectory

from .access import Staff
from .actions import ActionError

__all__ = [
    "DEFINITIONS",
    "Period",
    "Scope",
    "case_centers",
    "chain",
    "figures",
    "period_of",
    "scope_of",
    "stats",
]

BEIJING = ZoneInfo("Asia/Shanghai")
REPLY_WITHIN = timedelta(minutes=30)
RESOLVED_WITHIN = timedelta(days=7)
FAQ_WINDOW = timedelta(hours=1)
DEFAULT_DAYS = 30
RATING_KEYS = ("satisfied", "fairly_satisfied", "dissatisfied")
LEVEL_KEYS = ("township", "county", "city")

DEFINITIONS: dict[str, str] = {
    "received": "收到的事项：受理时间（“received”记录）在所选期间内的件数；"
    "按受理中心归属，上级中心含下级中心。以下各项都只数这些事项，"
    "记录截止到期间最后一天结束。",
    "by_channel": "按来源渠道分的收到件数（web 网页、telegram、wechat、walk-in 兜底受理）。",
    "by_category": "按纠纷类别分的收到件数。",
    "reply_30min": "30分钟内首次回复率：网上来件（不含兜底受理）中，调解员第一次回复"
    "（“replied”记录）在收到后30分钟以内的件数 ÷ 网上来件数。",
    "reply_median_minutes": "首次回复时间中位数：有首次回复的网上来件，"
    "从收到到第一次回复的分钟数的中位数。",
    "resolved": "办结率：期末处于办结状态的件数（最后一条“resolved”记录之后没有"
    "“reopened”记录）÷ 收到件数。",
    "resolved_7d": "7日内办结率：第一条“resolved”记录在收到后7天（168小时）以内的件数 ÷ 收到件数。",
    "village_resolved": "小事不出村：办结的事项中，办结时在村级中心（办结前最近一次"
    "分派、上交、转办或重新办理记录的层级为村）的件数 ÷ 办结件数。",
    "escalations": "上交次数：“escalated”记录的条数，按上交到的层级分；操作者为 system "
    "的是超期自动上交，其余是调解员手动上交。",
    "supervised": "督办：“supervised”记录（上级中心发出的督办意见）的条数。",
    "satisfaction": "满意度：有“rated”记录的件数（同一件取最后一次评价），"
    "及其中满意、基本满意、不满意各占的比例。",
    "reopened": "重新办理：有“reopened”记录的件数。",
    "withdrawn": "撤回：有“withdrawn”记录的件数。",
    "faq_self_service": "法律咨询自助解决率：所选期间内居民问的法律问题中（每次给出"
    "答案、候选或“没找到”都算一问；中心统计只数地点在本中心辖区内的提问），"
    "直接给出答案、或从候选里点选了答案，且一小时内没有点“没用”、也没有"
    "提交事项的问数 ÷ 全部问数。",
}


@dataclass(frozen=True)
class Period:
    """Days in Beijing time, both ends included."""

    first: date
    last: date

    @property
    def since(self) -> datetime:
        return datetime.combine(self.first, time(), BEIJING)

    @property
    def until(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(), BEIJING)

    def json(self) -> dict[str, str]:
        return {"from": self.first.isoformat(), "to": self.last.isoformat()}


def period_of(params: dict[str, str], now: datetime) -> Period:
    """``from``/``to`` (YYYY-MM-DD, Beijing); by default the last 30 days."""
    today = now.astimezone(BEIJING).date()
    try:
        last = date.fromisoformat(params["to"]) if params.get("to") else today
        first = (
            date.fromisoformat(params["from"])
            if params.get("from")
            else last - timedelta(days=DEFAULT_DAYS - 1)
        )
    except ValueError:
        raise ActionError(400, "日期格式应为 2026-11-01") from None
    if first > last or (last - first).days > 3660:
        raise ActionError(400, "开始日期要早于结束日期，且不超过十年")
    return Period(first, last)


@dataclass(frozen=True)
class Scope:
    """The centers asked about: ``center_id`` and below (None: every center)."""

    center_id: str | None
    name: str


def scope_of(rt: Runtime, staff: Staff, wanted: str) -> Scope:
    """A leader their area, a center admin their center and below, an admin any."""
    if not staff.sees_counts:
        raise ActionError(403, "只有领导和管理员可以看统计")
    wanted = wanted.strip()
    if not wanted:
        if staff.is_admin:
            return Scope(None, "全部地区")
        wanted = staff.center_id
    allowed = staff.is_admin or wanted == staff.center_id or wanted in staff.below
    center = rt.centers.center(wanted)
    if center is None or not allowed:
        raise ActionError(404 if center is None else 403, "只能看本中心及下级中心的统计")
    return Scope(center.id, center.name)


def chain(directory: CenterDirectory, region_code: str | None) -> frozenset[str]:
    """The centers of ``region_code`` and every region above it."""
    found: set[str] = set()
    current = region_code
    while current:
        region = directory.region(current)
        if region is None:
            break
        if region.center is not None:
            found.add(region.center.id)
        current = region.parent_code
    return frozenset(found)


def case_centers(directory: CenterDirectory, center_id: str) -> frozenset[str]:
    """The receiving center and the centers above it (a committee: its county's)."""
    center = directory.center(center_id)
    if center is None:
        return frozenset({center_id})
    return chain(directory, center.region_code) | {center_id}


def children(directory: CenterDirectory, scope: Scope) -> list[tuple[str, str]]:
    """The centers directly below the scope (the nearest center above them is it)."""
    found = []
    for center in sorted(directory.centers(), key=lambda c: (c.region_code, c.id)):
        if center.id == scope.center_id:
            continue
        region = directory.region(center.region_code)
        if region is None:
            continue
        committee = region.center is None or region.center.id != center.id
        start = region.code if committee else region.parent_code
        above = _nearest_center(directory, start)
        if above == scope.center_id:
            found.append((center.id, center.name))
    return found


def _nearest_center(directory: CenterDirectory, code: str | None) -> str | None:
    while code:
        region = directory.region(code)
        if region is None:
            return None
        if region.center is not None:
            return region.center.id
        code = region.parent_code
    return None


def _rate(count: int, of: int) -> dict[str, Any]:
    return {"count": count, "of": of, "rate": round(count / of, 4) if of else None}


def _received_by(case: dict[str, Any]) -> str:
    for e in case["events"]:
        if e["kind"] == "assigned":
            return str(e["detail"].get("center_id", ""))
    return ""


def _case_figures(cases: list[dict[str, Any]]) -> dict[str, Any]:
    online = [c for c in cases if c["channel"] != WALK_IN]
    waits: list[float] = []
    for c in online:
        replied = next((e["at"] for e in c["events"] if e["kind"] == "replied"), None)
        if replied is not None:
            waits.append((replied - c["created_at"]).total_seconds() / 60)
    quick = sum(w <= REPLY_WITHIN.total_seconds() / 60 for w in waits)
    resolved = within_7d = village = supervised = reopened = withdrawn = 0
    escalations = {lvl: {"auto": 0, "manual": 0} for lvl in LEVEL_KEYS}
    ratings: Counter[str] = Counter()
    for c in cases:
        level = ""
        closed_at_level: str | None = None
        first_resolved: datetime | None = None
        rating = None
        for e in c["events"]:
            kind, detail = e["kind"], e["detail"]
            if kind in ("assigned", "escalated", "transferred", "reopened") and "level" in detail:
                level = str(detail["level"])
            if kind == "resolved":
                closed_at_level = level
                first_resolved = first_resolved or e["at"]
            elif kind == "reopened":
                closed_at_level = None
            if kind == "escalated":
                way = "auto" if e["actor"] == "system" else "manual"
                escalations.setdefault(level, {"auto": 0, "manual": 0})[way] += 1
            supervised += kind == "supervised"
            if kind == "rated":
                rating = detail.get("rating")
        if closed_at_level is not None:
            resolved += 1
            village += closed_at_level == "village"
        if first_resolved is not None and first_resolved - c["created_at"] <= RESOLVED_WITHIN:
            within_7d += 1
        kinds = {e["kind"] for e in c["events"]}
        reopened += "reopened" in kinds
        withdrawn += "withdrawn" in kinds
        if rating in RATING_KEYS:
            ratings[str(rating)] += 1
    rated = sum(ratings.values())
    return {
        "received": len(cases),
        "by_channel": dict(sorted(Counter(c["channel"] for c in cases).items())),
        "by_category": dict(sorted(Counter(c["category"] for c in cases).items())),
        "reply_30min": _rate(quick, len(online)),
        "reply_median_minutes": round(statistics.median(waits), 1) if waits else None,
        "resolved": _rate(resolved, len(cases)),
        "resolved_7d": _rate(within_7d, len(cases)),
        "village_resolved": _rate(village, resolved),
        "escalations": {
            **escalations,
            "total": {way: sum(v[way] for v in escalations.values()) for way in ("auto", "manual")},
        },
        "supervised": supervised,
        "satisfaction": {"rated": rated, **{k: _rate(ratings[k], rated) for k in RATING_KEYS}},
        "reopened": reopened,
        "withdrawn": withdrawn,
    }


def self_served(question: dict[str, Any], reports: Iterable[datetime]) -> bool:
    """Answered (directly or through a picked suggestion), not followed within an
    hour by 没用 or a report by the same resident."""
    taps = question["feedback"]
    asked: datetime = question["asked_at"]
    answered = question["decision"] == "answer" or (
        question["decision"] == "suggest" and any(t["kind"] == "picked" for t in taps)
    )
    if not answered:
        return False
    if any(t["kind"] == "not_useful" and t["at"] - asked <= FAQ_WINDOW for t in taps):
        return False
    return not any(asked <= r <= asked + FAQ_WINDOW for r in reports)


def _faq_figure(
    questions: list[dict[str, Any]], reports: dict[tuple[str, str], list[datetime]]
) -> dict[str, Any]:
    served = sum(self_served(q, reports.get((q["channel"], q["user_id"]), ())) for q in questions)
    return _rate(served, len(questions))


def figures(
    cases: list[dict[str, Any]],
    questions: list[dict[str, Any]],
    reports: dict[tuple[str, str], list[datetime]],
) -> dict[str, Any]:
    return {**_case_figures(cases), "faq_self_service": _faq_figure(questions, reports)}


async def stats(
    rt: Runtime, reads: ConsoleReads, staff: Staff, params: dict[str, str]
) -> dict[str, Any]:
    """The figures of the chosen center (rolled up) and of each center right below it."""
    scope = scope_of(rt, staff, params.get("center", ""))
    period = period_of(params, rt.clock())
    directory = rt.centers
    cases = await reads.cases_received(period.since, period.until)
    questions = await reads.faq_questions(period.since, period.until)
    residents = sorted({(q["channel"], q["user_id"]) for q in questions})
    reports = await reads.reports_by(residents, period.since, period.until + FAQ_WINDOW)
    case_chain = {c["id"]: case_centers(directory, _received_by(c)) for c in cases}
    faq_chain = {q["id"]: chain(directory, q["region_code"]) for q in questions}

    def within(center_id: str | None) -> dict[str, Any]:
        if center_id is None:
            return figures(cases, questions, reports)
        return figures(
            [c for c in cases if center_id in case_chain[c["id"]]],
            [q for q in questions if center_id in faq_chain[q["id"]]],
            reports,
        )

    return {
        "period": period.json(),
        "scope": {"id": scope.center_id, "name": scope.name},
        "overall": within(scope.center_id),
        "sub_centers": [
            {"id": cid, "name": name, "figures": within(cid)}
            for cid, name in children(directory, scope)
        ],
        "categories": rt.faq.categories(),
        "definitions": DEFINITIONS,
    }
