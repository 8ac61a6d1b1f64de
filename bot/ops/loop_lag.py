"""How long work waits for the event loop: the ``event_loop_lag_seconds`` histogram.

Every request, turn and reply of a process runs on its one event loop. While
the loop is busy, a request that has arrived waits before anything is done
with it, and the service's own timings (``http_request_seconds``, which start
once the app has the request) do not show that wait. A timer due every
``INTERVAL`` seconds fires late by about as long as such a request waits;
each lateness is observed. A loop late by tens of milliseconds most of the
time is near its limit: the replies' tail latency grows with it.
"""

from __future__ import annotations

import asyncio

from common.jobs import heartbeat
from common.metrics import LOOP_LAG, Metrics

__all__ = ["INTERVAL", "watch_loop_lag"]

INTERVAL = 0.1  # seconds between two looks: ten timers a second cost the loop nothing
_STALLED = 60.0  # a loop this late is stuck (/healthz names the job)


async def watch_loop_lag(metrics: Metrics, stop: asyncio.Event) -> None:
    """Until ``stop`` is set, observe how late a timer every ``INTERVAL`` seconds fires."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        heartbeat(within=_STALLED)
        due = loop.time() + INTERVAL
        await asyncio.sleep(INTERVAL)
        metrics.observe(LOOP_LAG, max(loop.time() - due, 0.0))
