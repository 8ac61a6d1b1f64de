"""Channel adapters, and which of them the settings switch on."""

from __future__ import annotations

from ..config import Settings
from .base import ChannelAdapter
from .web import WebChannel
from .webhook import WebhookChannel

__all__ = ["ChannelAdapter", "build_adapters"]


def build_adapters(settings: Settings) -> list[ChannelAdapter]:
    """Every channel the settings enable; the web chat always runs."""
    adapters: list[ChannelAdapter] = [WebChannel(), WebhookChannel()]  # webhook: see centers
    if settings.wechat_enabled:
        from .wechat import WeChatChannel  # wechatpy is imported only when configured

        adapters.append(WeChatChannel(settings))
    if settings.telegram_token:
        from .telegram import TelegramChannel  # python-telegram-bot only when configured

        telegram = TelegramChannel(settings)
        adapters.extend([telegram, telegram.forum])  # the forum: topics of the centers' groups
    return adapters
