"""The cyclic garbage collector in ``minshi serve``: tuned for many short requests.

Almost everything a request creates is freed by reference counting as soon as
the request ends; the cyclic collector finds next to nothing under load (a few
dozen objects a second). With CPython's first threshold of 700 it still ran
about 150 times a second at 1,000 messages/s, and each run moved what the
requests in flight held into the older generations, so a full collection
followed every second or two: in one load.py run, 3.4 s of the event loop's
time and pauses of up to 85 ms. With 20,000 it was 0.3 s, the longest pause
47 ms (benchmarks/README.md). The cyclic garbage that waits for a collection
is bounded by the threshold: a few megabytes at most.

What start-up built (the FAQ, dictionaries, centers, the place index) lives as
long as the process, so it is frozen: no collection scans it again. A replaced
FAQ is freed by reference counting all the same (it holds no cycles).
"""

from __future__ import annotations

import gc

__all__ = ["FIRST_THRESHOLD", "keep_what_startup_built"]

FIRST_THRESHOLD = 20_000


def keep_what_startup_built() -> None:
    """Called once start-up is done (and again after work it left to a thread)."""
    _, second, third = gc.get_threshold()
    gc.set_threshold(FIRST_THRESHOLD, second, third)
    gc.freeze()
