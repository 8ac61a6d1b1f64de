"""Prometheus metrics of one running service: counters, histograms, database gauges.

``PrometheusMetrics`` implements the ``common.metrics`` port on its own
``CollectorRegistry`` (one per runtime: tests run many services in one
process). Counters and histograms are fed by the domain as things happen;
the outbox backlog and the cases per status are read from the database
when ``/metrics`` is scraped, so they are right after a restart and agree
with what the console shows.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client import Counter as PromCounter
from prometheus_client import Histogram as PromHistogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from common import metrics as spec
from common.metrics import Counter, Histogram

from .storage._ops import OpsStore, OutboxBacklog

__all__ = ["CONTENT_TYPE", "PrometheusMetrics"]

log = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_LATEST
_PREFIX = "minshi_"


class _Snapshot(Collector):
    """The gauges read from the database at the last scrape."""

    def __init__(self) -> None:
        self.backlog: list[OutboxBacklog] = []
        self.cases: dict[str, int] = {}
        self.now: datetime | None = None
        self.readable = True

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily(
            _PREFIX + "database_readable", "1 when the gauges below could be read at this scrape"
        )
        up.add_metric([], 1.0 if self.readable else 0.0)
        yield up
        waiting = GaugeMetricFamily(
            _PREFIX + "outbox_waiting",
            "Outbox entries waiting to be sent (pending or retrying), per destination kind",
            labels=["channel"],
        )
        oldest = GaugeMetricFamily(
            _PREFIX + "outbox_oldest_waiting_seconds",
            "Age of the oldest outbox entry waiting to be sent, per destination kind",
            labels=["channel"],
        )
        given_up = GaugeMetricFamily(
            _PREFIX + "outbox_undeliverable",
            "Outbox entries given up (blocked, unreachable, too many attempts)",
            labels=["channel"],
        )
        for b in self.backlog:
            waiting.add_metric([b.channel], b.waiting)
            given_up.add_metric([b.channel], b.undeliverable)
            age = 0.0
            if b.oldest_waiting is not None and self.now is not None:
                age = max((self.now - b.oldest_waiting).total_seconds(), 0.0)
            oldest.add_metric([b.channel], age)
        yield waiting
        yield oldest
        yield given_up
        cases = GaugeMetricFamily(
            _PREFIX + "cases", "Cases by status (archived included)", labels=["status"]
        )
        for status, count in sorted(self.cases.items()):
            cases.add_metric([status], count)
        yield cases


class PrometheusMetrics:
    """The ``common.metrics.Metrics`` port on a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._counters: dict[Counter, PromCounter] = {}
        self._histograms: dict[Histogram, PromHistogram] = {}
        self._children: dict[tuple[Any, ...], Any] = {}
        for value in vars(spec).values():
            if isinstance(value, Counter):
                self._counters[value] = PromCounter(
                    _PREFIX + value.name, value.help, value.labels, registry=self.registry
                )
            elif isinstance(value, Histogram):
                self._histograms[value] = PromHistogram(
                    _PREFIX + value.name,
                    value.help,
                    value.labels,
                    buckets=value.buckets,
                    registry=self.registry,
                )
        self._snapshot = _Snapshot()
        self.registry.register(self._snapshot)

    def count(self, metric: Counter, amount: float = 1, **labels: str) -> None:
        self._child(self._counters[metric], labels).inc(amount)

    def observe(self, metric: Histogram, seconds: float, **labels: str) -> None:
        self._child(self._histograms[metric], labels).observe(seconds)

    def _child(self, metric: Any, labels: dict[str, str]) -> Any:
        """The labelled series, looked up once: prometheus-client checks the labels
        and takes a lock on every ``labels()``, a tenth of a message's bookkeeping."""
        if not labels:
            return metric
        key = (id(metric), *labels.items())
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(**labels)
        return child

    async def render(self, store: OpsStore, now: datetime) -> bytes:
        """The text exposition, with the database gauges read now. A database that
        cannot be read leaves them out and says so (``minshi_database_readable 0``)."""
        snapshot = self._snapshot
        try:
            snapshot.backlog = await store.outbox_backlog()
            snapshot.cases = await store.case_counts()
            snapshot.now, snapshot.readable = now, True
        except Exception:
            log.exception("metrics: the database gauges could not be read")
            snapshot.backlog, snapshot.cases, snapshot.readable = [], {}, False
        return generate_latest(self.registry)
