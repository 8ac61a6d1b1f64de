"""Between channel adapters and the dialog engine."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from dialogs import Engine, Inbound, Outbound, Sent

from .channels.base import ChannelAdapter
from .storage import Store

__all__ = ["Dispatcher"]

log = logging.getLogger(__name__)


class Dispatcher:
    def __init__(self, engine: Engine, store: Store, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.store = store
        self.clock = clock
        self.adapters: dict[str, ChannelAdapter] = {}

    def register(self, adapter: ChannelAdapter) -> None:
        assert adapter.name not in self.adapters, f"channel {adapter.name!r} registered twice"
        self.adapters[adapter.name] = adapter

    async def receive(self, msg: Inbound) -> list[Sent]:
        """A resident's message: processed once, the replies returned to the adapter."""
        return await self.engine.handle(msg)

    async def push(self, channel: str, user_id: str, message: Outbound) -> Sent:
        """A message to a resident outside any request: stored first, then delivered."""
        async with self.store.transaction() as w:
            out_id = await w.add_outbound(channel, user_id, message, None, self.clock())
        sent = Sent(out_id, message)
        adapter = self.adapters.get(channel)
        if adapter is None:
            log.warning(
                "no adapter for channel %s; message %s stays in the outbox", channel, out_id
            )
        else:
            await adapter.deliver(user_id, [sent])
        return sent
