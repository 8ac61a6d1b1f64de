"""Server-sent events for the console: "something changed, fetch again".

A stream waits on notification topics (a center's cases, one case, the
resident's chat) and says ``changed``; the page then fetches its fragment.
Events carry no data, so a missed one loses nothing. Between events the
stream looks again at a cheap fingerprint (is the session still live, did
a delivery state change) — often while a mediator's message is still on
its way, rarely otherwise — and ends with ``gone`` when the session ends
or the case left the user's reach.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Sequence
from contextlib import ExitStack

from starlette.responses import StreamingResponse

from common.notify import Notifier, Subscription

__all__ = ["Fingerprint", "event_stream"]

IDLE_SECONDS = 15.0
BUSY_SECONDS = 2.0

# None: stop the stream; otherwise (value, busy): busy asks to look again soon.
Fingerprint = Callable[[], Awaitable[tuple[Hashable, bool] | None]]


async def _wait_any(subscriptions: Sequence[Subscription], timeout: float) -> bool:
    waits = [asyncio.ensure_future(s.wait(timeout)) for s in subscriptions]
    done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    return any(task.result() for task in done)


def event_stream(notifier: Notifier, topics: Sequence[str], look: Fingerprint) -> StreamingResponse:
    async def stream() -> AsyncIterator[str]:
        with ExitStack() as stack:
            subscriptions = [stack.enter_context(notifier.subscribe(t)) for t in topics]
            yield "retry: 3000\n\n"
            seen = await look()
            while seen is not None:
                timeout = BUSY_SECONDS if seen[1] else IDLE_SECONDS
                woke = await _wait_any(subscriptions, timeout)
                latest = await look()
                if latest is None:
                    yield "event: gone\ndata: {}\n\n"
                    return
                if woke or latest[0] != seen[0]:
                    yield "event: changed\ndata: {}\n\n"
                elif not latest[1]:
                    yield ": keep-alive\n\n"
                seen = latest

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
