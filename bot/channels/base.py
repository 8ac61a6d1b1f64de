"""The port every channel adapter plugs into.

An adapter is built from the settings when the app is created (its HTTP
routes, if any, are part of the app), started with the runtime in the
application's lifespan and stopped at shutdown. It turns platform updates
into ``Inbound`` messages for ``runtime.engine.handle`` and renders
``Outbound`` messages its own way. Messages that answer no request (a
mediator's reply, replies finished after a crash) come from the outbox
through ``send``, which reports a typed result, never a platform exception.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, ClassVar

from starlette.routing import BaseRoute

from common.outbox import DeliveryResult, OutboxEntry

if TYPE_CHECKING:
    from bot.runtime import Runtime

__all__ = ["ChannelAdapter"]


class ChannelAdapter(ABC):
    name: ClassVar[str]

    def routes(self) -> list[BaseRoute]:
        """HTTP endpoints this channel serves (an API, a webhook)."""
        return []

    async def start(self, runtime: Runtime) -> None:  # noqa: B027 - optional hook
        """Connect to the platform (polling, webhook registration…)."""

    async def stop(self) -> None:  # noqa: B027 - optional hook
        """Release what ``start`` opened."""

    @abstractmethod
    async def send(self, entry: OutboxEntry) -> DeliveryResult:
        """Deliver one outbox entry addressed to this channel."""
