"""``minshi mediator …``: console accounts from the shell.

``add`` (the password is asked twice on a terminal, or read as the first
line of stdin when piped), ``list``, ``disable`` and ``passwd``. Disabling
an account or setting a new password logs it out everywhere.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.storage import AccountExists, SqlAccounts, migrate, open_database
from common.clock import utc_now
from handoff import CenterDirectory, load_centers

from .access import ROLE_LABELS, ROLES
from .passwords import hash_password_now, password_problem
from .staffing import USERNAME

__all__ = ["register"]


def register(commands: Any) -> None:
    """Add ``mediator`` (add, list, disable, passwd) to the ``minshi`` sub-commands."""
    mediator = commands.add_parser("mediator", help="mediator console accounts")
    mediator.set_defaults(run=lambda args: _usage(mediator))
    actions = mediator.add_subparsers(dest="mediator_action", metavar="ACTION")

    add = actions.add_parser("add", help="add an account (password from a prompt or stdin)")
    add.add_argument("--center", required=True, help="center or committee id, e.g. 620702103203")
    add.add_argument("--name", required=True, help="the person's name, e.g. 张三")
    add.add_argument("--role", choices=ROLES, default="mediator", help="default: mediator")
    add.add_argument("--username", help="login name (default: the name in pinyin)")
    add.set_defaults(run=_add)

    listing = actions.add_parser("list", help="list every account")
    listing.set_defaults(run=_list)

    disable = actions.add_parser("disable", help="disable an account and end its sessions")
    disable.add_argument("username")
    disable.set_defaults(run=_disable)

    passwd = actions.add_parser("passwd", help="set a new password (ends the account's sessions)")
    passwd.add_argument("username")
    passwd.set_defaults(run=_passwd)

    link = actions.add_parser(
        "link-telegram", help="send this mediator's alerts to their Telegram account"
    )
    link.add_argument("username")
    link.add_argument("telegram_user_id", help="the numeric Telegram user id")
    link.set_defaults(run=_link_telegram)

    for sub in (add, listing, disable, passwd, link):
        sub.add_argument("--db", type=Path, help="SQLite database file (default data/minshi.db)")


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {"db": args.db} if args.db is not None else {}
    return Settings(**overrides)


def _with_accounts(args: argparse.Namespace, work: Callable[[SqlAccounts], Awaitable[int]]) -> int:
    settings = _settings(args)

    async def run() -> int:
        async with open_database(settings.database) as db:
            await migrate(db)
            return await work(SqlAccounts(db))

    return asyncio.run(run())


def _fail(message: str) -> int:
    print(f"minshi mediator: {message}", file=sys.stderr)
    return 1


def _read_password() -> str | None:
    """Asked twice on a terminal; the first line of stdin otherwise."""
    if sys.stdin.isatty():
        first = getpass.getpass("密码：")
        if getpass.getpass("再输一遍：") != first:
            print("minshi mediator: 两次输入的密码不一样", file=sys.stderr)
            return None
        return first
    return sys.stdin.readline().rstrip("\r\n")


def _centers(settings: Settings) -> CenterDirectory:
    return load_centers(settings.centers_file)


def _pinyin_username(name: str) -> str:
    from pypinyin import lazy_pinyin

    letters = "".join(lazy_pinyin(name)).lower()
    return "".join(ch for ch in letters if ch.isascii() and ch.isalnum()) or "mediator"


def _add(args: argparse.Namespace) -> int:
    settings = _settings(args)
    center = _centers(settings).center(args.center)
    if center is None:
        return _fail(f"没有编号为 {args.center} 的综治中心（见 minshi centers check）")
    name = args.name.strip()
    if not name:
        return _fail("请用 --name 写姓名")
    if args.username and not USERNAME.fullmatch(args.username):
        return _fail("用户名用 2–32 位小写字母、数字、点、横线或下划线")
    password = _read_password()
    if password is None:
        return 1
    problem = password_problem(password)
    if problem:
        return _fail(problem)
    hashed = hash_password_now(password)

    async def work(accounts: SqlAccounts) -> int:
        base = args.username or _pinyin_username(name)
        candidates = [base] if args.username else [base, *(f"{base}{n}" for n in range(2, 100))]
        for username in candidates:
            try:
                await accounts.add_account(username, name, center.id, args.role, hashed, utc_now())
            except AccountExists:
                continue
            role = ROLE_LABELS[args.role]
            print(f"已添加{role} {name}：用户名 {username}，{center.name}")
            return 0
        return _fail(f"用户名 {base} 已经有人用了，请用 --username 另起一个")

    return _with_accounts(args, work)


def _list(args: argparse.Namespace) -> int:
    directory = _centers(_settings(args))

    async def work(accounts: SqlAccounts) -> int:
        found = await accounts.accounts()
        if not found:
            print("还没有账号。minshi mediator add --help 看怎么添加。")
            return 0
        print("用户名\t姓名\t角色\t中心\t状态")
        for a in found:
            center = directory.center(a.center_id)
            print(
                f"{a.username}\t{a.name}\t{ROLE_LABELS.get(a.role, a.role)}\t"
                f"{center.name if center else a.center_id}\t{'在用' if a.active else '已停用'}"
            )
        return 0

    return _with_accounts(args, work)


def _disable(args: argparse.Namespace) -> int:
    return _change(args, "已停用 {name}（{username}），登录也已失效", active=False)


def _change(
    args: argparse.Namespace,
    done: str,
    *,
    password_hash: str | None = None,
    active: bool | None = None,
    telegram_id: str | None = None,
    end_sessions: bool = True,
) -> int:
    """Change one account; its sessions end (unless told not to), so the change holds at once."""

    async def work(accounts: SqlAccounts) -> int:
        now = utc_now()
        account = await accounts.update_account(
            args.username, now, password_hash=password_hash, active=active, telegram_id=telegram_id
        )
        if account is None:
            return _fail(f"没有用户名为 {args.username} 的账号")
        if end_sessions:
            await accounts.end_sessions_of(account.id, now)
        print(done.format(name=account.name, username=account.username))
        return 0

    return _with_accounts(args, work)


def _link_telegram(args: argparse.Namespace) -> int:
    if not args.telegram_user_id.isdigit():
        return _fail("Telegram 用户编号是一串数字（可以问 @userinfobot）")
    telegram_id = args.telegram_user_id

    async def work(accounts: SqlAccounts) -> int:
        account = await accounts.account(args.username)
        if account is None:
            return _fail(f"没有用户名为 {args.username} 的账号")
        # One Telegram user is one mediator: another account it was linked to loses it.
        linked = await accounts.link_telegram(account.id, telegram_id, utc_now())
        if linked is None:
            return _fail(f"账号 {args.username} 已停用，不能关联")
        print(f"已把 {linked.name}（{linked.username}）的提醒发到 Telegram {telegram_id}")
        return 0

    return _with_accounts(args, work)


def _passwd(args: argparse.Namespace) -> int:
    password = _read_password()
    if password is None:
        return 1
    problem = password_problem(password)
    if problem:
        return _fail(problem)
    hashed = hash_password_now(password)
    return _change(
        args, "已给 {name}（{username}）设好新密码，之前的登录已失效", password_hash=hashed
    )
