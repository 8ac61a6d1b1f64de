"""The metrics port: what the domain counts, without knowing who collects it.

Domain code counts events and times handlers through ``Metrics``; the
service plugs in a Prometheus implementation (``bot.metrics``), tests and
tools use ``NO_METRICS``. Each metric is declared once here, with its
labels, so every count names a known metric and labels can be checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "DELIVERY_FAILURES",
    "DIALOG_SECONDS",
    "ESCALATIONS",
    "FAQ_DECISIONS",
    "HTTP_SECONDS",
    "LOOP_LAG",
    "MESSAGES_IN",
    "MESSAGES_OUT",
    "NO_METRICS",
    "RESENDS",
    "Counter",
    "Histogram",
    "Metrics",
    "NoMetrics",
]


# Compared and hashed by identity (``eq=False``): each metric is declared once, here,
# and an update looks its series up by it (hashing the fields cost more than the update).
@dataclass(frozen=True, eq=False)
class Counter:
    """A count that only goes up (``minshi_<name>_total`` in Prometheus)."""

    name: str
    help: str
    labels: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False)
class Histogram:
    """A distribution of durations in seconds."""

    name: str
    help: str
    labels: tuple[str, ...] = ()
    buckets: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


MESSAGES_IN = Counter(
    "messages_received", "Messages residents sent, stored once (repeats dropped)", ("channel",)
)
MESSAGES_OUT = Counter(
    "messages_sent",
    "Messages handed to a channel: replies in an HTTP response and outbox deliveries",
    ("channel",),
)
DELIVERY_FAILURES = Counter(
    "delivery_failures",
    "Outbox sends that failed: retry (tried again later) or undeliverable (given up)",
    ("channel", "outcome"),
)
RESENDS = Counter(
    "delivery_resends",
    "Outbox entries sent again because the process died between sending and recording",
    ("channel",),
)
FAQ_DECISIONS = Counter(
    "faq_decisions", "FAQ decisions shown to residents: answer, suggest or none", ("decision",)
)
ESCALATIONS = Counter(
    "escalations", "Cases moved up the ladder: by the deadline (system) or a mediator", ("by",)
)
DIALOG_SECONDS = Histogram(
    "dialog_seconds", "Time to store and process one resident message", ("channel",)
)
HTTP_SECONDS = Histogram(
    "http_request_seconds",
    "Time to answer an HTTP request (event streams excluded)",
    ("channel", "status"),
)

LOOP_LAG = Histogram(
    "event_loop_lag_seconds",
    "How late a timer of the event loop fired: how long a request arriving then waits"
    " before the service can start on it",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)


class Metrics(Protocol):
    def count(self, metric: Counter, amount: float = 1, **labels: str) -> None: ...
    def observe(self, metric: Histogram, seconds: float, **labels: str) -> None: ...


class NoMetrics:
    """Counts nothing: the default wherever no collector is plugged in."""

    def count(self, metric: Counter, amount: float = 1, **labels: str) -> None:
        return None

    def observe(self, metric: Histogram, seconds: float, **labels: str) -> None:
        return None


NO_METRICS: Metrics = NoMetrics()
