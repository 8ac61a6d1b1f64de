"""The port every channel adapter plugs into.

An adapter turns platform updates into ``dialogs.Inbound`` and hands them to
``Dispatcher.receive``; it renders the ``Outbound`` replies its own way. Replies
that arise later (a mediator's answer) reach it through ``deliver``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar

from dialogs import Sent

__all__ = ["ChannelAdapter"]


class ChannelAdapter(ABC):
    name: ClassVar[str]

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Connect to the platform (polling, webhook registration…)."""

    async def stop(self) -> None:  # noqa: B027 - optional hook
        """Release what ``start`` opened."""

    @abstractmethod
    async def deliver(self, user_id: str, messages: Sequence[Sent]) -> None:
        """Send messages that were not a direct reply to the resident's request."""
