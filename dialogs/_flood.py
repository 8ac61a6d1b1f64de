"""Residents who send faster than any person types.

Their messages are kept, not dropped: the engine holds back what arrives
over the limit and processes it, in order, once the resident slows down
(``calm``). The window runs on the injected clock, so tests move time
instead of sleeping.
"""

from __future__ import annotations

from collections import deque

from common.clock import Clock

__all__ = ["FloodGate"]

Key = tuple[str, str]
_MANY = 10_000  # residents remembered before the quiet ones are forgotten


class FloodGate:
    def __init__(self, clock: Clock, limit: int, seconds: float) -> None:
        self.clock = clock
        self.limit = limit
        self.seconds = seconds
        self._arrivals: dict[Key, deque[float]] = {}
        self._forgot_at = float("-inf")
        self.held: set[Key] = set()  # residents with messages held back, not yet processed

    def arrive(self, key: Key) -> bool:
        """Count one message; True when it is over the limit (hold it back)."""
        window = self._window(key)
        window.append(self.clock().timestamp())
        if len(window) > self.limit:
            self.held.add(key)
            return True
        return False

    def calm(self, key: Key) -> bool:
        """True when this resident's recent messages are within the limit again."""
        return len(self._window(key)) < self.limit

    def _window(self, key: Key) -> deque[float]:
        moment = self.clock().timestamp()
        # Forget residents who went quiet, once a window at most: with more than _MANY
        # residents active in one window, doing it at every message would cost each
        # message a pass over all of them.
        if len(self._arrivals) > _MANY and moment - self._forgot_at > self.seconds:
            self._forgot_at = moment
            horizon = moment - self.seconds
            self._arrivals = {k: w for k, w in self._arrivals.items() if w and w[-1] > horizon}
        window = self._arrivals.setdefault(key, deque())
        while window and moment - window[0] > self.seconds:
            window.popleft()
        return window
