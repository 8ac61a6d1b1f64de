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
import threading
from bisect import bisect_left
from collections.abc import Iterator
from datetime import datetime
from itertools import accumulate
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

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


class _Series(Collector):
    """The counters and histograms in the exposition format, read at each scrape."""

    def __init__(
        self,
        by_metric: dict[Counter | Histogram, dict[tuple[str, ...], list[float]]],
        lock: threading.Lock,
    ) -> None:
        self._by_metric = by_metric
        self._lock = lock

    def collect(self) -> Iterator[CounterMetricFamily | HistogramMetricFamily]:
        with self._lock:
            snapshot = {m: {v: list(s) for v, s in by.items()} for m, by in self._by_metric.items()}
        for metric, series in snapshot.items():
            name, labels = _PREFIX + metric.name, list(metric.labels)
            if isinstance(metric, Counter):
                total = CounterMetricFamily(name, metric.help, labels=labels)
                for values, (value,) in series.items():
                    total.add_metric(list(values), value)
                yield total
                continue
            family = HistogramMetricFamily(name, metric.help, labels=labels)
            bounds = [*map(floatToGoString, metric.buckets), "+Inf"]
            for values, numbers in series.items():
                cumulative = list(accumulate(numbers[:-1]))
                family.add_metric(
                    list(values), list(zip(bounds, cumulative, strict=True)), numbers[-1]
                )
            yield family


_DECLARED = tuple(v for v in vars(spec).values() if isinstance(v, Counter | Histogram))


class PrometheusMetrics:
    """The ``common.metrics`` port on a registry of its own.

    Counters and histograms are plain numbers until a scrape reads them
    (``_Series``). prometheus-client's own ``Counter`` and ``Histogram`` take a
    lock per value and walk the buckets in Python on every update, behind a
    label lookup; a message makes four updates, and each Python call on that path
    counts (benchmarks/README.md). Here an update is a dictionary lookup and an
    addition under one lock.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._lock = threading.Lock()
        # (metric, label values as the caller gave them) -> the series' numbers: a
        # counter's [total]; a histogram's count per bucket (+Inf last), then the sum.
        self._series: dict[tuple[Any, ...], list[float]] = {}
        # metric -> label values in the metric's order -> the same lists, for scrapes.
        self._by_metric: dict[Counter | Histogram, dict[tuple[str, ...], list[float]]] = {
            metric: {} for metric in _DECLARED
        }
        for metric in _DECLARED:
            if not metric.labels:  # shown from the start, as a zero
                self._new_series(metric, (metric,), {})
        self.registry.register(_Series(self._by_metric, self._lock))
        self._snapshot = _Snapshot()
        self.registry.register(self._snapshot)

    def count(self, metric: Counter, amount: float = 1, **labels: str) -> None:
        key = (metric, *labels.values())
        series = self._series.get(key) or self._new_series(metric, key, labels)
        with self._lock:
            series[0] += amount

    def observe(self, metric: Histogram, seconds: float, **labels: str) -> None:
        key = (metric, *labels.values())
        series = self._series.get(key) or self._new_series(metric, key, labels)
        bucket = bisect_left(metric.buckets, seconds)  # the first bound >= seconds
        with self._lock:
            series[bucket] += 1
            series[-1] += seconds

    def _new_series(
        self, metric: Counter | Histogram, key: tuple[Any, ...], labels: dict[str, str]
    ) -> list[float]:
        """The series of a label set seen for the first time (in any order of names)."""
        if sorted(labels) != sorted(metric.labels):
            msg = f"{metric.name} takes the labels {metric.labels}, not {tuple(labels)}"
            raise ValueError(msg)
        values = tuple(labels[name] for name in metric.labels)
        size = 1 if isinstance(metric, Counter) else len(metric.buckets) + 2
        with self._lock:
            series = self._by_metric[metric].setdefault(values, [0.0] * size)
            self._series[key] = series
        return series

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
