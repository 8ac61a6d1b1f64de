"""Alerts for mediators who are not looking at the console, on their own Telegram.

An open console already notifies in the browser; a mediator away from it
learns on Telegram (when that channel is configured and the account is
linked with ``minshi mediator link-telegram``) of a new case of their
center, an urgent one, and a deadline less than two hours away, with a
link to the case: its console page and, when the center has a Telegram
group, its topic there. Each alert is sent once per mediator, case and
reason, through the outbox like every message the service sends.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from bot.runtime import Runtime
from bot.storage import Account, ConsoleReads, SqlForumStore
from common.messages import Outbound
from common.outbox import Destination
from handoff import Case, CaseStatus

__all__ = ["send_alerts"]

DUE_SOON = timedelta(hours=2)
_WORDS = {
    "new": "新事项，还没有人认领",
    "urgent": "紧急事项",
    "due_soon": "快到期了（不到 2 小时）",
}
_ALERTED_ROLES = ("mediator", "center-admin")


def _reasons(case: Case, person: Account, now: datetime) -> list[str]:
    """Why this mediator should hear of this case now."""
    reasons = []
    if case.status is CaseStatus.ASSIGNED:
        reasons.append("new")
    if case.urgent and case.assignee in (None, person.username):
        reasons.append("urgent")
    if case.due_at - now <= DUE_SOON and case.assignee in (None, person.username):
        reasons.append("due_soon")
    return reasons


def _text(rt: Runtime, case: Case, reason: str, now: datetime, topic: str) -> str:
    left = case.due_at - now
    hours = max(int(left.total_seconds() // 3600), 0)
    link = f"{rt.settings.public_url or ''}/console/cases/{case.number}"
    in_group = f"\n在本中心 Telegram 群的话题里办理：{topic}" if topic else ""
    return (
        f"【民事直说·调解台】{_WORDS[reason]}：{case.number}\n"
        f"{case.location_text}（{case.center_name}）\n"
        f"{'已超时' if left.total_seconds() < 0 else f'还剩约 {hours} 小时'}\n"
        f"打开调解台处理：{link}{in_group}"
    )


async def _topic_link(rt: Runtime, topics: SqlForumStore, case: Case) -> str:
    """The case's topic in its center's Telegram group, if it has one open."""
    center = rt.centers.center(case.center_id)
    group = center.telegram_group if center else None
    if group is None:
        return ""
    for topic in await topics.topics_of_case(case.id):
        if topic.chat_id == group and topic.state == "open":
            return topic.link
    return ""


async def send_alerts(rt: Runtime, reads: ConsoleReads) -> int:
    """One pass: queue the alerts not sent yet; how many were queued."""
    if not rt.settings.telegram_token:
        return 0
    people: dict[str, list[Account]] = defaultdict(list)
    for account in await rt.accounts.accounts():
        if account.active and account.telegram_id and account.role in _ALERTED_ROLES:
            people[account.center_id].append(account)
    now = rt.clock()
    queued = 0
    topics = SqlForumStore(rt.db)
    for center_id, staff in people.items():
        for case in await reads.open_cases([center_id]):
            link: str | None = None
            for person in staff:
                for reason in _reasons(case, person, now):
                    if not await rt.store.first_alert(person.id, case.id, reason, now):
                        continue
                    if link is None:
                        link = await _topic_link(rt, topics, case)
                    destination = Destination("telegram", str(person.telegram_id))
                    await rt.push(destination, Outbound(_text(rt, case, reason, now, link)))
                    queued += 1
    return queued
