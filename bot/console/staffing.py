"""Managing accounts from the console, and the counts leaders see.

Center admins add, disable and reset the passwords of their own center's
mediators; system admins manage every account. Disabling an account or
setting a new password ends that account's sessions at once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bot.runtime import Runtime
from bot.storage import Account, AccountExists, ConsoleReads
from handoff import CaseStatus

from .access import ROLE_LABELS, ROLES, Staff, may_manage
from .actions import ActionError
from .passwords import hash_password, password_problem
from .words import STATUS_LABELS

__all__ = [
    "USERNAME",
    "account_json",
    "add_account",
    "change_account",
    "counts",
    "listed_accounts",
]

USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,31}")


def account_json(rt: Runtime, account: Account) -> dict[str, Any]:
    center = rt.centers.center(account.center_id)
    return {
        "username": account.username,
        "name": account.name,
        "role": account.role,
        "role_label": ROLE_LABELS.get(account.role, account.role),
        "center_id": account.center_id,
        "center_name": center.name if center else account.center_id,
        "active": account.active,
        "telegram_linked": account.telegram_id is not None,
    }


def _require_manager(staff: Staff) -> None:
    if staff.role not in ("center-admin", "admin"):
        raise ActionError(403, "只有中心管理员和系统管理员可以管理账号")


async def listed_accounts(rt: Runtime, staff: Staff) -> list[Account]:
    _require_manager(staff)
    if staff.is_admin:
        return await rt.accounts.accounts()
    return await rt.accounts.accounts(staff.center_id)


async def add_account(rt: Runtime, staff: Staff, fields: Mapping[str, Any]) -> Account:
    _require_manager(staff)
    username = str(fields.get("username") or "").strip().lower()
    name = str(fields.get("name") or "").strip()
    password = str(fields.get("password") or "")
    role = str(fields.get("role") or "mediator")
    center_id = str(fields.get("center_id") or staff.center_id).strip()
    if not USERNAME.fullmatch(username):
        raise ActionError(400, "用户名用 2–32 位小写字母、数字、点、横线或下划线")
    if not name or len(name) > 40:
        raise ActionError(400, "请填写姓名（最多 40 字）")
    if role not in ROLES:
        raise ActionError(400, "角色只能是调解员、中心管理员、领导或系统管理员")
    center = rt.centers.center(center_id)
    if center is None:
        raise ActionError(400, f"没有编号为 {center_id} 的综治中心")
    if not staff.is_admin and (center_id != staff.center_id or role not in ("mediator",)):
        raise ActionError(403, "中心管理员只能给本中心添加调解员")
    problem = password_problem(password)
    if problem:
        raise ActionError(400, problem)
    try:
        return await rt.accounts.add_account(
            username, name, center_id, role, await hash_password(password), rt.clock()
        )
    except AccountExists as exc:
        raise ActionError(409, f"用户名 {username} 已经有人用了") from exc


async def change_account(
    rt: Runtime, staff: Staff, username: str, change: str, fields: Mapping[str, Any]
) -> Account:
    """``change``: disable, enable or password."""
    _require_manager(staff)
    account = await rt.accounts.account(username)
    if account is None or not may_manage(staff, account):
        raise ActionError(404, "没有这个账号，或者它不归您管理")
    now = rt.clock()
    if change in ("disable", "enable"):
        if account.id == staff.account.id:
            raise ActionError(400, "不能停用自己的账号")
        updated = await rt.accounts.update_account(username, now, active=change == "enable")
    elif change == "password":
        password = str(fields.get("password") or "")
        problem = password_problem(password)
        if problem:
            raise ActionError(400, problem)
        updated = await rt.accounts.update_account(
            username, now, password_hash=await hash_password(password)
        )
    else:
        raise ActionError(404, "没有这个操作")
    if change != "enable":
        await rt.accounts.end_sessions_of(account.id, now)
    assert updated is not None
    return updated


async def counts(rt: Runtime, reads: ConsoleReads, staff: Staff) -> dict[str, Any]:
    """Cases by status for the user's area: no transcripts, no phone numbers."""
    if not staff.sees_counts:
        raise ActionError(403, "只有领导和管理员可以看统计")
    area = None if staff.is_admin else sorted({staff.center_id, *staff.below})
    found = await reads.status_counts(area)
    statuses = [s.value for s in CaseStatus]
    total = {s: sum(c.get(s, 0) for c in found.values()) for s in statuses}
    centers = []
    for center_id, by_status in sorted(found.items()):
        center = rt.centers.center(center_id)
        centers.append(
            {
                "id": center_id,
                "name": center.name if center else center_id,
                "counts": {s: by_status.get(s, 0) for s in statuses},
                "total": sum(by_status.values()),
            }
        )
    area_name = "全部地区" if staff.is_admin else (staff.center.name if staff.center else "")
    return {
        "area": area_name,
        "statuses": [{"status": s, "label": STATUS_LABELS[s]} for s in statuses],
        "total": total,
        "all": sum(total.values()),
        "centers": centers,
    }
