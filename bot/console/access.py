"""Who may see and do what in the console.

Every route asks these functions, never the role names directly. A
mediator works on the cases now at their own center (their own, or
escalated or transferred to it); a center above sees the overdue cases of
the centers below it and may send a 督办 note; a leader sees counts only;
a system admin sees everything. A case the user may not see does not
exist for them (404), so guessing numbers reveals nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from bot.storage import Account
from handoff import Case, Center, CenterDirectory

__all__ = [
    "ROLES",
    "ROLE_LABELS",
    "CaseAccess",
    "Staff",
    "area_of",
    "case_access",
    "may_act",
    "may_claim",
    "may_manage",
    "may_reply",
    "may_supervise",
    "sees_phone",
    "staff_for",
]

ROLE_LABELS = {
    "mediator": "调解员",
    "center-admin": "中心管理员",
    "leader": "领导",
    "admin": "系统管理员",
}
ROLES = tuple(ROLE_LABELS)


@dataclass(frozen=True)
class Staff:
    """A logged-in console user with their center and the centers below it."""

    account: Account
    center: Center | None  # None when the account's center left the directory
    below: frozenset[str]  # ids of the centers inside this center's region

    @property
    def username(self) -> str:
        return self.account.username

    @property
    def name(self) -> str:
        return self.account.name

    @property
    def role(self) -> str:
        return self.account.role

    @property
    def center_id(self) -> str:
        return self.account.center_id

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def works_cases(self) -> bool:
        """Sees a queue and case pages (everyone but a leader)."""
        return self.role in ("mediator", "center-admin", "admin")

    @property
    def sees_counts(self) -> bool:
        return self.role in ("leader", "center-admin", "admin")

    @property
    def actor(self) -> str:
        """How the audit trail names this user."""
        return f"mediator:{self.username}"


def _inside(directory: CenterDirectory, code: str, ancestor: str) -> bool:
    """Whether region ``code`` is ``ancestor`` or lies below it."""
    current: str | None = code
    while current is not None:
        if current == ancestor:
            return True
        region = directory.region(current)
        current = region.parent_code if region else None
    return False


def area_of(directory: CenterDirectory, center: Center) -> frozenset[str]:
    """The centers and committees inside ``center``'s region, itself excluded."""
    return frozenset(
        other.id
        for other in directory.centers()
        if other.id != center.id and _inside(directory, other.region_code, center.region_code)
    )


def staff_for(account: Account, directory: CenterDirectory) -> Staff:
    center = directory.center(account.center_id)
    below = area_of(directory, center) if center is not None else frozenset()
    return Staff(account, center, below)


class CaseAccess(Enum):
    NONE = 0  # the case does not exist for this user
    SUPERVISE = 1  # a center above: may read it (phone masked) and send 督办
    HANDLE = 2  # the case is at the user's center: may read it and act on it


def case_access(staff: Staff, case: Case, now: datetime) -> CaseAccess:
    if staff.is_admin:
        return CaseAccess.HANDLE
    if not staff.works_cases:
        return CaseAccess.NONE
    if case.center_id == staff.center_id:
        return CaseAccess.HANDLE
    if case.center_id in staff.below and case.status.is_open and case.due_at <= now:
        return CaseAccess.SUPERVISE
    return CaseAccess.NONE


def may_claim(staff: Staff, case: Case, access: CaseAccess) -> bool:
    return access is CaseAccess.HANDLE and case.assignee is None


def may_reply(staff: Staff, case: Case, access: CaseAccess) -> bool:
    """Only the mediator holding the case talks to the resident."""
    return access is CaseAccess.HANDLE and case.assignee == staff.username


def may_act(staff: Staff, case: Case, access: CaseAccess) -> bool:
    """Transfer, escalate, resolve: the holder, anyone of the center while nobody
    holds it, or a center admin (a colleague is away)."""
    if access is not CaseAccess.HANDLE:
        return False
    return case.assignee in (None, staff.username) or staff.role in ("center-admin", "admin")


def may_supervise(staff: Staff, case: Case, access: CaseAccess) -> bool:
    if not case.status.is_open:
        return False
    return access is CaseAccess.SUPERVISE or (staff.is_admin and access is CaseAccess.HANDLE)


def sees_phone(staff: Staff, case: Case) -> bool:
    """The full number only for the mediator who claimed the case."""
    return case.assignee is not None and case.assignee == staff.username


def may_manage(staff: Staff, account: Account) -> bool:
    """Center admins manage their own center's mediators; system admins everyone."""
    if staff.is_admin:
        return True
    return (
        staff.role == "center-admin"
        and account.center_id == staff.center_id
        and account.role == "mediator"
    )
