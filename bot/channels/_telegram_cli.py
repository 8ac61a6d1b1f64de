"""``minshi telegram set-webhook | delete-webhook | info``.

Registered by ``bot.cli``; python-telegram-bot is imported only when one of
these commands runs, so other commands start as fast as before.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from telegram import Bot

    from ..config import Settings

__all__ = ["register"]


def register(commands: Any) -> None:
    """Add ``telegram`` and its actions to the ``minshi`` subcommands."""
    telegram = commands.add_parser("telegram", help="the Telegram bot: webhook and status")
    actions = telegram.add_subparsers(dest="telegram_action", required=True, metavar="ACTION")

    set_hook = actions.add_parser(
        "set-webhook", help="have Telegram post updates to this service (needs the secret)"
    )
    set_hook.add_argument("--url", help="the public webhook address (default: from the settings)")
    set_hook.add_argument(
        "--drop-pending", action="store_true", help="discard updates not fetched yet"
    )
    set_hook.set_defaults(run=_run_set_webhook)

    delete_hook = actions.add_parser(
        "delete-webhook", help="stop webhook delivery (the service then uses long polling)"
    )
    delete_hook.add_argument(
        "--drop-pending", action="store_true", help="discard updates not fetched yet"
    )
    delete_hook.set_defaults(run=_run_delete_webhook)

    info = actions.add_parser("info", help="the bot, its webhook and a deep link example")
    info.set_defaults(run=_run_info)


def _settings() -> Settings | None:
    from ..config import Settings

    settings = Settings()  # type: ignore[call-arg]  # from the environment and .env
    if not settings.telegram_token:
        print(
            "minshi: 请先设置 MINSHI_TELEGRAM_TOKEN（从 @BotFather 得到的机器人令牌）",
            file=sys.stderr,
        )
        return None
    return settings


def _call(settings: Settings, action: Any) -> int:
    """Run ``action(bot)`` with an initialised bot; 1 with a message when Telegram refuses."""
    from telegram.error import TelegramError

    from .telegram import make_bot

    async def session() -> None:
        bot = make_bot(settings)
        async with bot:
            await action(bot)

    try:
        asyncio.run(session())
    except TelegramError as exc:
        message = str(exc).replace(settings.telegram_token or "<none>", "<token>")
        print(f"minshi: Telegram 请求失败：{message}", file=sys.stderr)
        return 1
    return 0


def _run_set_webhook(args: argparse.Namespace) -> int:
    from .telegram import ALLOWED_UPDATES, webhook_url

    settings = _settings()
    if settings is None:
        return 1
    secret = settings.telegram_webhook_secret
    url = args.url or webhook_url(settings)
    if not secret:
        print("minshi: 请先设置 MINSHI_TELEGRAM_WEBHOOK_SECRET", file=sys.stderr)
        return 1
    if not url:
        print(
            "minshi: 请设置 MINSHI_PUBLIC_URL 或 MINSHI_TELEGRAM_WEBHOOK_URL，或者用 --url",
            file=sys.stderr,
        )
        return 1

    async def action(bot: Bot) -> None:
        await bot.set_webhook(
            url,
            secret_token=secret,
            allowed_updates=ALLOWED_UPDATES,
            drop_pending_updates=args.drop_pending,
        )
        print(f"已设置 webhook：{url}（Telegram 每次都带上密钥）")

    return _call(settings, action)


def _run_delete_webhook(args: argparse.Namespace) -> int:
    settings = _settings()
    if settings is None:
        return 1

    async def action(bot: Bot) -> None:
        await bot.delete_webhook(drop_pending_updates=args.drop_pending)
        print("已删除 webhook：服务启动后用长轮询接收消息。")

    return _call(settings, action)


def _run_info(args: argparse.Namespace) -> int:
    from .telegram import webhook_url

    settings = _settings()
    if settings is None:
        return 1

    async def action(bot: Bot) -> None:
        info = await bot.get_webhook_info()
        configured = webhook_url(settings)
        print(f"机器人：@{bot.username}（id {bot.id}）")
        print(f"服务的接收方式：{'webhook ' + configured if configured else '长轮询'}")
        print(f"Telegram 记录的 webhook：{info.url or '（未设置）'}")
        print(f"等待接收的消息：{info.pending_update_count}")
        if info.last_error_message:
            when = info.last_error_date.isoformat() if info.last_error_date else ""
            print(f"最近一次错误：{info.last_error_message} {when}".rstrip())
        print(f"二维码链接示例：https://t.me/{bot.username}?start=<地区代码>")

    return _call(settings, action)
