"""The case actions of the console, shared by the pages and the JSON API.

Each action checks who may do it (``access``), checks its input, and asks
the case service, which does the compare-and-set. Every refusal becomes an
``ActionError`` with the HTTP status and a sentence for the mediator; a
conflict names the mediator now holding the case.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.runtime import Runtime
from common.privacy import valid_mobile
from handoff import (
    WALK_IN,
    Case,
    CaseConflict,
    CaseDraft,
    CaseNotFound,
    CaseStatus,
    IllegalTransition,
    NoHigherCenter,
)

from .access import (
    CaseAccess,
    Staff,
    case_access,
    may_act,
    may_claim,
    may_reply,
    may_supervise,
)
from .words import STATUS_LABELS, outcome_labels

__all__ = ["ACTIONS", "ActionError", "run_action", "visible_case", "walk_in"]

MAX_TEXT = 2000
MAX_REASON = 500
ACTIONS = ("claim", "reply", "note", "supervise", "transfer", "escalate", "resolve")


@dataclass
class ActionError(Exception):
    status: int
    message: str
    extra: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message


async def visible_case(rt: Runtime, staff: Staff, number: str) -> tuple[Case, CaseAccess]:
    """The case if this user may see it; 404 otherwise, whether or not it exists."""
    case = await rt.store.case_by_number(number.strip().upper()) if number else None
    if case is None:
        raise ActionError(404, "没有这件事，或者它不归您的中心办理")
    access = case_access(staff, case, rt.clock())
    if access is CaseAccess.NONE:
        raise ActionError(404, "没有这件事，或者它不归您的中心办理")
    return case, access


def _text(fields: Mapping[str, Any], name: str, what: str, limit: int = MAX_TEXT) -> str:
    value = fields.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ActionError(400, f"请填写{what}")
    if len(value) > limit:
        raise ActionError(400, f"{what}太长了（最多 {limit} 字）")
    return value.strip()


def _seen(fields: Mapping[str, Any], case: Case) -> CaseStatus:
    """The status the mediator saw when they acted (a form's hidden field), else now's."""
    raw = fields.get("seen")
    if raw in (None, ""):
        return case.status
    try:
        return CaseStatus(str(raw))
    except ValueError as exc:
        raise ActionError(400, "'seen' is not a case status") from exc


async def _holder_name(rt: Runtime, username: str | None) -> str:
    if not username:
        return ""
    account = await rt.accounts.account(username)
    return account.name if account else username


async def _conflict(rt: Runtime, staff: Staff, exc: CaseConflict) -> ActionError:
    holder = exc.holder
    name = await _holder_name(rt, holder)
    status = STATUS_LABELS.get(exc.current.value, exc.current.value)
    if holder and holder != staff.username and exc.current.is_open:
        message = f"这件事已经由 {name} 认领（{status}），请刷新页面看最新情况"
    else:
        message = f"这件事现在是「{status}」，不能这样操作，请刷新页面看最新情况"
    extra = {"holder": holder, "holder_name": name or None, "status": exc.current.value}
    return ActionError(409, message, extra)


def _forbid(allowed: bool, message: str) -> None:
    if not allowed:
        raise ActionError(403, message)


async def run_action(
    rt: Runtime,
    staff: Staff,
    number: str,
    action: str,
    fields: Mapping[str, Any],
    *,
    origin: str | None = None,
) -> Case:
    """Do ``action`` on the case as ``staff``; the case as it is afterwards.
    ``origin``: where a reply or note was written, when not in the console."""
    if action not in ACTIONS:
        raise ActionError(404, "没有这个操作")
    case, access = await visible_case(rt, staff, number)
    try:
        return await _run(rt, staff, case, access, action, fields, origin)
    except CaseConflict as exc:
        raise await _conflict(rt, staff, exc) from exc
    except IllegalTransition as exc:
        current = STATUS_LABELS.get(exc.current.value, exc.current.value)
        raise ActionError(
            409, f"这件事现在是「{current}」，不能这样操作", {"status": exc.current.value}
        ) from exc
    except NoHigherCenter as exc:
        raise ActionError(409, "已经是最高一级的综治中心，不能再上交；可以转办或办结") from exc
    except CaseNotFound as exc:
        raise ActionError(404, "没有这件事，或者它不归您的中心办理") from exc


async def _run(
    rt: Runtime,
    staff: Staff,
    case: Case,
    access: CaseAccess,
    action: str,
    fields: Mapping[str, Any],
    origin: str | None = None,
) -> Case:
    cases = rt.cases
    if action == "claim":
        _forbid(access is CaseAccess.HANDLE, "只有本中心的调解员可以认领")
        if case.assignee is not None and case.assignee != staff.username:
            raise await _conflict(rt, staff, CaseConflict(case, CaseStatus.ASSIGNED))
        if case.assignee == staff.username:
            return case
        _forbid(may_claim(staff, case, access), "这件事不能认领")
        claimed = await cases.claim(case.number, staff.username, CaseStatus.ASSIGNED)
        return claimed
    if action == "reply":
        _forbid(may_reply(staff, case, access), "请先认领：只有认领这件事的调解员能回复居民")
        text = _text(fields, "text", "回复内容")
        replied = await cases.reply(case.number, staff.username, staff.name, text, origin=origin)
        return replied
    if action == "note":
        _forbid(access is CaseAccess.HANDLE, "只有本中心的人员可以写内部备注")
        text = _text(fields, "text", "备注内容")
        await cases.note(case.number, staff.actor, staff.name, text, origin=origin)
        return await _reload(rt, case)
    if action == "supervise":
        _forbid(may_supervise(staff, case, access), "只有上级综治中心可以督办")
        text = _text(fields, "text", "督办意见")
        center = staff.center.name if staff.center else staff.center_id
        await cases.supervise(case.number, staff.actor, f"{staff.name}（{center}）", text)
        return await _reload(rt, case)
    _forbid(may_act(staff, case, access), "这件事由别的调解员在办，只有他本人或中心管理员能操作")
    seen = _seen(fields, case)
    if action == "transfer":
        target = rt.centers.center(str(fields.get("to") or "").strip())
        if target is None or target.level == "province":
            raise ActionError(400, "请选择要转去的综治中心或调解委员会")
        if target.id == case.center_id:
            raise ActionError(400, "这件事已经在这个中心了")
        reason = _text(fields, "reason", "转办理由", MAX_REASON)
        transferred = await cases.transfer(case.number, seen, target.id, staff.actor, reason)
        return transferred
    if action == "escalate":
        reason = _text(fields, "reason", "上交理由", MAX_REASON)
        escalated = await cases.escalate(case.number, seen, actor=staff.actor, reason=reason)
        return escalated
    # resolve
    outcome = str(fields.get("outcome") or "")
    if outcome not in outcome_labels():
        raise ActionError(400, "请选择办理结果")
    # The reason is required for 不予受理; for the other outcomes a note is optional.
    given = str(fields.get("note") or "").strip()
    what = "不予受理的理由" if outcome == "not_accepted" else "办结说明"
    note = _text(fields, "note", what, MAX_TEXT) if given or outcome == "not_accepted" else ""
    resolved = await cases.resolve(case.number, seen, staff.actor, outcome, note)
    return resolved


async def _reload(rt: Runtime, case: Case) -> Case:
    latest = await rt.store.case_by_number(case.number)
    if latest is None:
        raise ActionError(404, "没有这件事")
    return latest


async def walk_in(rt: Runtime, staff: Staff, fields: Mapping[str, Any]) -> Case:
    """兜底受理: a matter brought in person or by phone, registered by the mediator."""
    if not staff.works_cases:
        raise ActionError(403, "只有调解员和管理员可以登记")
    categories = rt.faq.categories()
    category = str(fields.get("category") or "")
    if category not in categories:
        raise ActionError(400, "请选择事情的类型")
    description = _text(fields, "description", "事情经过")
    region = _place(rt, str(fields.get("place") or "").strip())
    raw_phone = str(fields.get("phone") or "").strip()
    phone = "".join(ch for ch in raw_phone if ch.isdigit()) or None
    if raw_phone and (phone is None or not (valid_mobile(phone) or 7 <= len(phone) <= 12)):
        raise ActionError(400, "电话号码不对，请检查")
    urgent = str(fields.get("urgent") or "").lower() in ("1", "true", "on", "yes")
    draft = CaseDraft(
        channel=WALK_IN,
        user_id="",  # the case service gives the resident an id
        category=category,
        description=description,
        region_code=region[0],
        location_text=rt.centers.full_name(region[0]),
        location_method=region[1],
        phone=phone,
        urgent=urgent,
    )
    # At the mediator's own center, which holds it; an admin's goes where the place routes it.
    center_id = None if staff.is_admin else staff.center_id
    try:
        registered = await rt.cases.register_walk_in(
            draft, staff.username, staff.name, center_id=center_id
        )
    except (LookupError, ValueError) as exc:
        raise ActionError(400, f"这个地方找不到负责的综治中心：{exc}") from exc
    return registered


def _place(rt: Runtime, text: str) -> tuple[str, str]:
    """A region code, as typed or picked, or the best match of a place name."""
    if not text:
        raise ActionError(400, "请填写地点（村、乡镇或区县）")
    if rt.centers.region(text) is not None:
        return text, "picker"
    found = rt.centers.search(text, limit=1)
    if not found:
        raise ActionError(400, f"没有找到「{text}」这个地方，请换个写法")
    return found[0].region.code, "search"
