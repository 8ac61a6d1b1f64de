"""First start without accounts: a demo admin and a demo mediator, printed once.

Only ``minshi serve`` does this, and only while no account exists: the
passwords are random, shown once on the terminal and stored only as hashes.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from bot.runtime import Runtime

from .passwords import hash_password

__all__ = ["DEMO_CENTER", "DemoLogin", "create_demo_accounts", "demo_notice"]

DEMO_CENTER = "620702103203"  # 寺儿沟村综治中心, the village of the QR-code demo


@dataclass(frozen=True)
class DemoLogin:
    role: str
    username: str
    password: str
    center: str


def _password() -> str:
    """Readable aloud and typeable on a phone: three groups of four."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(3))


async def create_demo_accounts(rt: Runtime) -> list[DemoLogin]:
    """The demo accounts, if there are no accounts at all yet; else nothing."""
    if await rt.accounts.count_accounts():
        return []
    village = rt.centers.center(DEMO_CENTER)
    tops = [c for c in rt.centers.centers() if c.level == "province"]
    mediator_center = village or next(iter(rt.centers.centers()), None)
    if mediator_center is None:
        return []
    admin_center = tops[0] if tops else mediator_center
    now = rt.clock()
    created = []
    for role, username, name, center in (
        ("admin", "admin", "系统管理员（示例）", admin_center),
        ("mediator", "siergou", "寺儿沟村调解员（示例）", mediator_center),
    ):
        password = _password()
        await rt.accounts.add_account(
            username, name, center.id, role, await hash_password(password), now
        )
        created.append(DemoLogin(role, username, password, center.name))
    return created


def demo_notice(created: list[DemoLogin], base_url: str) -> str:
    lines = [f"调解台 {base_url}/console 已建好示例账号（密码只显示这一次，请记下）："]
    for login in created:
        role = "系统管理员" if login.role == "admin" else "调解员"
        lines.append(f"  {role}（{login.center}）用户名 {login.username}  密码 {login.password}")
    lines.append("  改密码：minshi mediator passwd 用户名；加调解员：minshi mediator add --help")
    return "\n".join(lines)
