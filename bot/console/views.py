"""What the console shows, as plain dicts: the same data for the pages and the API.

The queue of a center (urgent and overdue first, time left in words), and
a case with its whole transcript, delivery state of each mediator message,
center chain and audit trail. Phone numbers are masked here, once, unless
the viewer holds the case.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.runtime import Runtime
from bot.storage import ConsoleReads
from common.outbox import OutboxRecord, OutboxState
from common.privacy import mask_phone, mask_sensitive
from dialogs import StoredMessage
from handoff import WALK_IN, Case, CaseEvent, CaseMessage, CaseStatus

from .access import (
    CaseAccess,
    Staff,
    may_act,
    may_claim,
    may_reply,
    may_supervise,
    sees_phone,
)
from .words import EVENT_LABELS, STATUS_LABELS, clock_time, outcome_labels, time_left

__all__ = ["Views", "file_ref", "file_url"]

DUE_SOON = timedelta(hours=2)  # the console warns about deadlines this close
SLOW_DELIVERY = timedelta(minutes=30)  # a message not out by then: call the resident
_TRANSCRIPT_LIMIT = 400
_LEVEL_LABELS = {"village": "村", "township": "乡镇", "county": "区县", "city": "市"}
_ATTACHMENT_LABELS = {"photo": "📷 照片", "voice": "🎤 语音", "video": "🎬 视频", "file": "📎 文件"}


def file_url(number: str, ref: str) -> str:
    return f"/console/cases/{number}/files/{ref}"


def file_ref(url: str) -> str:
    """The file reference in a ``file_url``."""
    return url.rsplit("/files/", 1)[-1]


def _actor_username(actor: str) -> str | None:
    return actor.removeprefix("mediator:") if actor.startswith("mediator:") else None


@dataclass
class Views:
    rt: Runtime
    reads: ConsoleReads

    # -- helpers --------------------------------------------------------------------

    async def names(self, usernames: Iterable[str | None]) -> dict[str, str]:
        found: dict[str, str] = {}
        for username in {u for u in usernames if u}:
            account = await self.rt.accounts.account(username)
            found[username] = account.name if account else username
        return found

    def category_label(self, category: str) -> str:
        return self.rt.faq.categories().get(category, category)

    def center_name(self, center_id: str | None) -> str:
        if not center_id:
            return ""
        center = self.rt.centers.center(center_id)
        return center.name if center else center_id

    def _actor(self, actor: str, names: dict[str, str]) -> str:
        if actor == "resident":
            return "居民"
        if actor == "system":
            return "系统"
        username = _actor_username(actor)
        return names.get(username, username) if username else actor

    # -- queue ------------------------------------------------------------------------

    def _queue_item(
        self,
        case: Case,
        staff: Staff,
        now: datetime,
        names: dict[str, str],
        moved: CaseEvent | None = None,
    ) -> dict[str, Any]:
        moved_in = moved.kind if moved and moved.detail.get("center_id") == case.center_id else None
        return {
            "number": case.number,
            "category": case.category,
            "category_label": self.category_label(case.category),
            "status": case.status.value,
            "status_label": STATUS_LABELS.get(case.status.value, case.status.value),
            "urgent": case.urgent,
            "new": case.status is CaseStatus.ASSIGNED,
            "mine": case.assignee is not None and case.assignee == staff.username,
            "overdue": case.status.is_open and case.due_at <= now,
            "due_soon": case.status.is_open and now < case.due_at <= now + DUE_SOON,
            "time_left": time_left(case.due_at, now) if case.status.is_open else "",
            "due_at": case.due_at.isoformat(),
            "due_clock": clock_time(case.due_at),
            "created": clock_time(case.created_at),
            "assignee": case.assignee,
            "assignee_name": names.get(case.assignee, case.assignee) if case.assignee else None,
            "moved_in": moved_in,
            "moved_label": {"escalated": "上交来的", "transferred": "转来的"}.get(moved_in or ""),
            "summary": mask_sensitive(case.description)[:80],
            "location": case.location_text,
            "center_id": case.center_id,
            "center_name": case.center_name,
        }

    async def queue(self, staff: Staff, center_id: str) -> dict[str, Any]:
        now = self.rt.clock()
        cases = await self.reads.open_cases([center_id])
        moves = await self.reads.latest_moves([c.id for c in cases])
        below = await self.reads.overdue_cases(sorted(staff.below), now) if staff.below else []
        closed = await self.reads.closed_cases(center_id, 10)
        names = await self.names(c.assignee for c in [*cases, *below, *closed])
        items = [self._queue_item(c, staff, now, names, moves.get(c.id)) for c in cases]
        items.sort(key=lambda i: (not i["urgent"], not i["overdue"], i["due_at"]))
        center = self.rt.centers.center(center_id)
        return {
            "center": {
                "id": center_id,
                "name": center.name if center else center_id,
                "phone": center.phone if center else "",
            },
            "cases": items,
            "counts": {
                "all": len(items),
                "new": sum(i["new"] for i in items),
                "mine": sum(i["mine"] for i in items),
                "overdue": sum(i["overdue"] for i in items),
                "moved_in": sum(bool(i["moved_in"]) for i in items),
            },
            "below_overdue": [self._queue_item(c, staff, now, names) for c in below],
            "recent_closed": [self._queue_item(c, staff, now, names) for c in closed],
            "now": now.isoformat(),
        }

    # -- one case ---------------------------------------------------------------------

    def chain(self, case: Case) -> list[dict[str, str]]:
        """The centers on the way up from the case's place: who is next if it escalates."""
        found: list[dict[str, str]] = []
        code: str | None = case.region_code
        while code is not None:
            region = self.rt.centers.region(code)
            if region is None:
                break
            if region.center is not None and region.level in _LEVEL_LABELS:
                found.append(
                    {
                        "id": region.center.id,
                        "level": _LEVEL_LABELS[region.level],
                        "name": region.center.name,
                        "phone": region.center.phone,
                        "current": str(region.center.id == case.center_id),
                    }
                )
            code = region.parent_code
        return found

    async def case(self, staff: Staff, case: Case, access: CaseAccess) -> dict[str, Any]:
        now = self.rt.clock()
        full_phone = sees_phone(staff, case)
        messages = await self.rt.store.case_messages(case.id)
        events = await self.rt.store.case_events(case.id)
        outbox = await self.reads.outbox_entries([m.outbox_id for m in messages if m.outbox_id])
        names = await self.names(
            [case.assignee, *(_actor_username(e.actor) for e in events)]
            + [_actor_username(m.author) for m in messages]
        )
        phone = (case.phone or "") if full_phone else mask_phone(case.phone)
        transcript = await self._transcript(case, messages, outbox, now, phone, full_phone)
        outcomes = outcome_labels()
        center = self.rt.centers.center(case.center_id)
        supervision = [
            self._message_item(case, m, None, now, phone, full_phone)
            for m in messages
            if m.kind == "supervision"
        ]
        return {
            "number": case.number,
            "status": case.status.value,
            "status_label": STATUS_LABELS.get(case.status.value, case.status.value),
            "category": case.category,
            "category_label": self.category_label(case.category),
            "description": case.description if full_phone else mask_sensitive(case.description),
            "urgent": case.urgent,
            "open": case.status.is_open,
            "center": {
                "id": case.center_id,
                "name": case.center_name,
                "phone": center.phone if center else "",
            },
            "level": case.level,
            "chain": self.chain(case),
            "location": case.location_text,
            "region_code": case.region_code,
            "location_method": case.location_method,
            "lat": case.lat,
            "lon": case.lon,
            "channel": case.channel,
            "phone": phone,
            "phone_full": full_phone and bool(case.phone),
            "assignee": case.assignee,
            "assignee_name": names.get(case.assignee) if case.assignee else None,
            "created": clock_time(case.created_at),
            "due_clock": clock_time(case.due_at),
            "time_left": time_left(case.due_at, now) if case.status.is_open else "",
            "overdue": case.status.is_open and case.due_at <= now,
            "outcome": case.outcome,
            "outcome_label": outcomes.get(case.outcome or "", case.outcome or ""),
            "supervision": supervision,
            "transcript": transcript,
            "trail": [self._event_item(e, names) for e in events],
            "access": "handle" if access is CaseAccess.HANDLE else "supervise",
            "can": {
                "claim": may_claim(staff, case, access) and case.status is CaseStatus.ASSIGNED,
                "reply": may_reply(staff, case, access) and case.status.is_open,
                "note": access is CaseAccess.HANDLE,
                "transfer": may_act(staff, case, access) and case.status.is_open,
                "escalate": may_act(staff, case, access) and case.status.is_open,
                "resolve": may_act(staff, case, access) and case.status.is_open,
                "supervise": may_supervise(staff, case, access),
            },
            "state": f"{case.status.value}|{case.assignee or ''}|{case.center_id}",
        }

    async def shared_transcript(self, case: Case) -> list[dict[str, Any]]:
        """The transcript as the whole center sees it before anyone holds the case
        (numbers masked): for the case's topic in the center's Telegram group."""
        messages = await self.rt.store.case_messages(case.id)
        outbox = await self.reads.outbox_entries([m.outbox_id for m in messages if m.outbox_id])
        phone = mask_phone(case.phone)
        return await self._transcript(case, messages, outbox, self.rt.clock(), phone, False)

    def _event_item(self, event: CaseEvent, names: dict[str, str]) -> dict[str, Any]:
        detail = event.detail
        parts: list[str] = []
        if event.kind in ("assigned", "escalated", "transferred") and detail.get("center_id"):
            parts.append(self.center_name(str(detail["center_id"])))
        if detail.get("outcome"):
            outcome = str(detail["outcome"])
            parts.append(outcome_labels().get(outcome, outcome))
        for key in ("reason", "note", "rating", "comment"):
            if detail.get(key):
                parts.append(str(detail[key]))
        return {
            "kind": event.kind,
            "label": EVENT_LABELS.get(event.kind, event.kind),
            "actor": self._actor(event.actor, names),
            "detail": "：".join(parts[:1])
            + ("（" + "；".join(parts[1:]) + "）" if parts[1:] else ""),
            "status_label": STATUS_LABELS.get(event.to_status.value, "") if event.to_status else "",
            "at": clock_time(event.at),
        }

    # -- transcript ------------------------------------------------------------------

    async def _transcript(
        self,
        case: Case,
        messages: Sequence[CaseMessage],
        outbox: dict[int, OutboxRecord],
        now: datetime,
        phone: str,
        full_phone: bool,
    ) -> list[dict[str, Any]]:
        """The resident's chat since the report began (what they said, the bot's
        replies), with the mediators' messages, notes and 督办 in their places.
        A case without a chat (兜底受理) shows its case messages instead."""
        chat: list[StoredMessage] = []
        if case.transcript_from is not None:
            chat = await self.rt.store.transcript(case.channel, case.user_id, case.transcript_from)
            chat = chat[-_TRANSCRIPT_LIMIT:]
        by_outbox = {m.outbox_id: m for m in messages if m.outbox_id is not None}
        placed: set[int] = set()
        items: list[tuple[datetime, dict[str, Any]]] = []
        bot_bodies: list[dict[str, Any]] = []
        for stored in chat:
            if stored.direction == "out":
                mediator = by_outbox.get(stored.id)
                if mediator is not None:
                    placed.add(mediator.id)
                    item = self._message_item(
                        case, mediator, outbox.get(stored.id), now, phone, full_phone
                    )
                else:
                    bot_bodies.append(stored.body)
                    item = {
                        "who": "bot",
                        "label": "机器人",
                        "text": self._shown(stored.body.get("text", ""), full_phone),
                        "at": clock_time(stored.at),
                        "attachments": [],
                        "delivery": None,
                    }
                items.append((stored.at, item))
            elif stored.body.get("kind") != "start":
                items.append((stored.at, self._resident_item(case, stored, bot_bodies, full_phone)))
        others = [
            m
            for m in messages
            if m.id not in placed
            and (m.author != "resident" or case.transcript_from is None)
            and m.kind != "supervision"
        ]
        merged: list[dict[str, Any]] = []
        pending = sorted(others, key=lambda m: (m.at, m.id))
        for at, item in items:
            while pending and pending[0].at < at:
                m = pending.pop(0)
                merged.append(
                    self._message_item(
                        case, m, outbox.get(m.outbox_id or 0), now, phone, full_phone
                    )
                )
            merged.append(item)
        for m in pending:
            merged.append(
                self._message_item(case, m, outbox.get(m.outbox_id or 0), now, phone, full_phone)
            )
        return merged

    @staticmethod
    def _delivery(
        case: Case,
        message: CaseMessage,
        who: str,
        record: OutboxRecord | None,
        now: datetime,
        phone: str,
    ) -> dict[str, Any] | None:
        if who != "mediator":
            return None
        if case.channel == WALK_IN:
            return {
                "state": "offline",
                "label": "兜底受理的事项：居民在线上收不到这条消息",
                "problem": True,
                "call": _call(phone),
            }
        if message.outbox_id is None:
            return None
        return _delivery(message, record, now, phone)

    @staticmethod
    def _shown(text: str, full_phone: bool) -> str:
        return text if full_phone else mask_sensitive(text)

    def _attachments(
        self, case: Case, attachments: Iterable[dict[str, Any]]
    ) -> list[dict[str, str]]:
        return [
            {
                "kind": str(a.get("kind", "file")),
                "url": file_url(case.number, str(a.get("ref", ""))),
                "label": _ATTACHMENT_LABELS.get(str(a.get("kind")), "📎 文件"),
            }
            for a in attachments
            if a.get("ref")
        ]

    def _resident_item(
        self,
        case: Case,
        stored: StoredMessage,
        bot_bodies: list[dict[str, Any]],
        full_phone: bool,
    ) -> dict[str, Any]:
        body = stored.body
        kind = body.get("kind")
        text = str(body.get("text", ""))
        if kind == "choice":
            text = _tapped_label(str(body.get("payload", "")), bot_bodies)
        elif kind == "location" and isinstance(body.get("location"), dict):
            loc = body["location"]
            text = f"📍 位置 {loc.get('lat')}, {loc.get('lon')}"
        return {
            "who": "resident",
            "label": "居民",
            "text": self._shown(text, full_phone),
            "at": clock_time(stored.at),
            "attachments": self._attachments(case, body.get("attachments") or ()),
            "delivery": None,
        }

    def _message_item(
        self,
        case: Case,
        message: CaseMessage,
        record: OutboxRecord | None,
        now: datetime,
        phone: str,
        full_phone: bool,
    ) -> dict[str, Any]:
        name = message.author_name or _actor_username(message.author) or message.author
        if message.author == "resident":
            who, label = "resident", "居民"
        elif message.kind == "note":
            who, label = "note", f"内部备注 · {name}"
        elif message.kind == "supervision":
            who, label = "supervision", f"督办 · {name}"
        elif message.author == "system":
            who, label = "bot", "系统"
        else:
            who, label = "mediator", f"调解员 {name}"
        return {
            "who": who,
            "label": label,
            "text": self._shown(message.body, full_phone),
            "at": clock_time(message.at),
            "attachments": self._attachments(case, message.attachments),
            "delivery": self._delivery(case, message, who, record, now, phone),
        }


def _joined(parts: list[str]) -> str:
    """转去 X（理由；说明）: the first part, the rest in brackets."""
    if not parts:
        return ""
    return parts[0] + (f"（{'；'.join(parts[1:])}）" if parts[1:] else "")


def _tapped_label(payload: str, bot_bodies: list[dict[str, Any]]) -> str:
    for bot in reversed(bot_bodies):
        for choice in bot.get("choices", ()):
            if choice.get("payload") == payload:
                return f"（点了）{choice.get('label', '')}"
    return "（点了一个按钮）"


def _call(phone: str) -> str:
    return f"请打电话告诉居民：{phone}" if phone else "居民没有留电话，请通过村里联系"


def _delivery(
    message: CaseMessage, record: OutboxRecord | None, now: datetime, phone: str
) -> dict[str, Any]:
    """Whether a mediator's message reached the resident; if not, the number to call."""
    late = now - message.at > SLOW_DELIVERY
    if record is None:
        state, label, problem = "unknown", "发送状态不明", late
    elif record.state is OutboxState.DELIVERED:
        when = clock_time(record.delivered_at) if record.delivered_at else ""
        state, label, problem = "delivered", f"已送达 {when}".strip(), False
    elif record.state is OutboxState.UNDELIVERABLE:
        why = f"（{record.last_error}）" if record.last_error else ""
        state, label, problem = "undeliverable", f"没有送达{why}", True
    elif record.state is OutboxState.RETRYING:
        state, label, problem = "retrying", f"发送失败，正在重试（已试 {record.attempts} 次）", late
    else:
        state, label, problem = "pending", "正在发送", late
    call = ""
    if problem:
        call = _call(phone)
        if state in ("pending", "retrying"):
            label = f"{label}，超过 {int(SLOW_DELIVERY.total_seconds() // 60)} 分钟还没送到"
    return {"state": state, "label": label, "problem": problem, "call": call}
