"""``minshi wechat menu [FILE]`` and ``minshi wechat qrcode --region CODE [--permanent]``.

Both call the WeChat API with the account's settings (MINSHI_WECHAT_*). The
menu file is YAML (default: ``wechat_menu.yaml`` beside this file); every
problem in it is reported as ``file:line: message`` before anything is sent.
A place QR code carries the region code as its scene: a resident who scans it
starts with that place filled in.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

from common.yamlsource import Problem, YamlSourceError, line_of, load_yaml

__all__ = ["DEFAULT_MENU", "menu_body", "register"]

DEFAULT_MENU = Path(__file__).with_name("wechat_menu.yaml")
_MENU_KEYS = ("menu:ask", "menu:report", "menu:cases", "menu:human", "menu:card")
_LEGACY_KEYS = ("MENU_ASK", "MENU_REPORT", "MENU_CASES", "MENU_HUMAN", "MENU_CARD")
_TEMPORARY_MAX_DAYS = 30
_SHOW_QRCODE = "https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket="


def register(commands: Any) -> None:
    """Add ``wechat`` (with ``menu`` and ``qrcode``) to the ``minshi`` sub-commands."""
    wechat = commands.add_parser(
        "wechat", help="WeChat Official Account: set the custom menu, make place QR codes"
    )
    wechat.set_defaults(run=lambda args: _usage(wechat))
    actions = wechat.add_subparsers(dest="wechat_action", metavar="ACTION")
    menu = actions.add_parser(
        "menu",
        help="create the account's custom menu from a YAML file",
        description="Checks the file (problems as file:line: message), then replaces the menu.",
    )
    menu.add_argument("file", nargs="?", type=Path, help="menu YAML (default: the shipped menu)")
    menu.set_defaults(run=_run_menu)
    qrcode = actions.add_parser(
        "qrcode",
        help="a parametric QR code that opens the chat with a place filled in",
        description="Prints the QR code's content URL and the address of its image.",
    )
    qrcode.add_argument("--region", required=True, help="region code from the centers file")
    qrcode.add_argument(
        "--permanent", action="store_true", help="a permanent code (at most 100,000 per account)"
    )
    qrcode.add_argument(
        "--days",
        type=int,
        default=_TEMPORARY_MAX_DAYS,
        help=f"days a temporary code works (1-{_TEMPORARY_MAX_DAYS}, the default)",
    )
    qrcode.set_defaults(run=_run_qrcode)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


# -- menu ------------------------------------------------------------------------


def menu_body(path: Path) -> dict[str, Any]:
    """The menu/create body of a menu file; YamlSourceError listing every problem."""
    doc = load_yaml(path)
    problems: list[Problem] = []
    file = str(path)

    def problem(container: Any, key: str | int | None, message: str) -> None:
        problems.append(Problem(file, line_of(container, key), message))

    buttons = doc.get("button") if isinstance(doc, dict) else doc
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
        problem(doc, "button" if isinstance(doc, dict) else None, "need 1 to 3 buttons")
        raise YamlSourceError(problems)
    out = []
    for index, button in enumerate(buttons):
        out.append(_button(button, buttons, index, 16, problem))
        subs = button.get("sub_button") if isinstance(button, dict) else None
        if subs is None:
            continue
        if not isinstance(subs, list) or not 1 <= len(subs) <= 5:
            problem(button, "sub_button", "need 1 to 5 sub-buttons")
            continue
        out[-1]["sub_button"] = [
            _button(sub, subs, i, 60, problem, sub=True) for i, sub in enumerate(subs)
        ]
    if problems:
        raise YamlSourceError(problems)
    return {"button": out}


def _button(
    button: Any, parent: Any, index: int, name_bytes: int, problem: Any, *, sub: bool = False
) -> dict[str, Any]:
    if not isinstance(button, dict):
        problem(parent, index, "a button needs a name and a key, url or sub_button")
        return {}
    name = button.get("name")
    if not isinstance(name, str) or not name.strip():
        problem(button, None, "button without a name")
    elif len(name.encode("utf-8")) > name_bytes:
        problem(button, "name", f"'{name}' is longer than {name_bytes} bytes")
    out: dict[str, Any] = {"name": name}
    if not sub and "sub_button" in button:
        return out
    key, url = button.get("key"), button.get("url")
    kind = button.get("type") or ("view" if url else "click")
    out["type"] = kind
    if kind == "view":
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            problem(button, "url", "a view button needs an http(s) url")
        out["url"] = url
    elif not isinstance(key, str) or not key:
        problem(button, None, f"a {kind} button needs a key")
    else:
        if kind == "click" and key not in _MENU_KEYS + _LEGACY_KEYS:
            problem(button, "key", f"unknown key '{key}'; use one of {', '.join(_MENU_KEYS)}")
        if len(key.encode("utf-8")) > 128:
            problem(button, "key", "a key is at most 128 bytes")
        out["key"] = key
    return out


def _run_menu(args: argparse.Namespace) -> int:
    body = menu_body(args.file or DEFAULT_MENU)
    _call(lambda api: api.create_menu(body))
    print(f"菜单已更新：{'、'.join(b['name'] for b in body['button'])}")
    return 0


# -- QR codes ----------------------------------------------------------------------


def _run_qrcode(args: argparse.Namespace) -> int:
    from handoff import load_centers

    from ..config import Settings

    code = args.region.strip()
    centers = load_centers(Settings().centers_file)  # type: ignore[call-arg]
    if centers.region(code) is None:
        print(f"minshi: no region with code {code} in the centers file", file=sys.stderr)
        return 1
    if not args.permanent and not 1 <= args.days <= _TEMPORARY_MAX_DAYS:
        print(f"minshi: --days must be 1-{_TEMPORARY_MAX_DAYS}", file=sys.stderr)
        return 1
    answer = _call(
        lambda api: api.create_qrcode(
            code, permanent=args.permanent, expire_seconds=args.days * 86400
        )
    )
    ticket = str(answer.get("ticket", ""))
    print(f"地点：{centers.full_name(code)}（{code}）")
    print(f"二维码内容：{answer.get('url', '')}")
    print(f"二维码图片：{_SHOW_QRCODE}{quote(ticket, safe='')}")
    print("有效期：永久" if args.permanent else f"有效期：{args.days} 天")
    return 0


def _call(action: Any) -> Any:
    from ..config import Settings
    from ._wechat_api import WeChatApi, WeChatApiError

    settings = Settings()  # type: ignore[call-arg]
    if not settings.wechat_enabled:
        print(
            "minshi: set MINSHI_WECHAT_APP_ID, MINSHI_WECHAT_APP_SECRET and MINSHI_WECHAT_TOKEN",
            file=sys.stderr,
        )
        raise SystemExit(1)
    app_id, secret = settings.wechat_app_id or "", settings.wechat_app_secret or ""

    async def run() -> Any:
        from common.clock import utc_now

        from ..storage import SqlStore, migrate, open_database

        database = open_database(
            settings.database, synchronous=settings.db_synchronous, pool_size=2
        )
        async with database as db:
            await migrate(db)
            # The token the running service keeps in the database: fetching another
            # would cut the service's short (WeChat honours only the newest for long).
            api = WeChatApi(settings.wechat_api_url, app_id, secret, utc_now, tokens=SqlStore(db))
            try:
                return await action(api)
            finally:
                await api.aclose()

    try:
        return asyncio.run(run())
    except WeChatApiError as exc:
        print(f"minshi: WeChat refused: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
