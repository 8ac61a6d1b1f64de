"""The flood gate holds back a resident typing faster than any person, and only them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dialogs._flood import FloodGate


class _Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def test_a_fast_sender_is_held_until_they_slow_down() -> None:
    clock = _Clock()
    gate = FloodGate(clock, limit=3, seconds=60)
    resident = ("web", "fast")
    assert [gate.arrive(resident) for _ in range(4)] == [False, False, False, True]
    assert not gate.calm(resident)
    clock.advance(61)
    assert gate.calm(resident)
    assert gate.arrive(resident) is False


def test_many_residents_at_once_are_counted_each_on_their_own() -> None:
    """More residents in one window than the gate keeps before forgetting the quiet
    ones: none of them is held for the others' messages, the fast one still is, and
    once they all go quiet they are forgotten (the fast one may write again)."""
    clock = _Clock()
    gate = FloodGate(clock, limit=3, seconds=60)
    fast = ("web", "fast")
    for n in range(25_000):
        assert gate.arrive(("web", f"resident-{n}")) is False
        if n % 5_000 == 0:
            gate.arrive(fast)
        clock.advance(0.001)
    assert gate.arrive(fast) is True  # the sixth within a minute
    clock.advance(61)
    assert gate.arrive(("web", "someone-new")) is False
    assert gate.calm(fast)
    assert gate.arrive(fast) is False
