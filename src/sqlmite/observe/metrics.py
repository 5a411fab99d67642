"""Prometheus metrics: pool figures read at scrape time, never cached.

A custom collector (rather than gauges updated by the pool) means a scrape always sees the
pool as it is, and the pool does no metrics work on its hot path.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from prometheus_client import Counter, Gauge
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from sqlmite.backend.pool import PoolStats


class HasStats(Protocol):
    def stats(self) -> PoolStats: ...


class PoolCollector(Collector):
    """``sqlmite_pool_*`` metrics for one connection manager."""

    def __init__(self, manager: HasStats, pool: str = "sqlmite") -> None:
        self.manager = manager
        self.pool = pool

    def collect(self) -> Iterator[Metric]:
        s = self.manager.stats()
        gauges = {
            "sqlmite_pool_connections": ("Connections open or being opened.", s.size),
            "sqlmite_pool_connections_in_use": ("Connections checked out.", s.in_use),
            "sqlmite_pool_connections_idle": ("Connections ready in the pool.", s.idle),
            "sqlmite_pool_waiting": ("Callers waiting for a connection.", s.waiting),
            "sqlmite_pool_max_connections": ("Configured largest pool size.", s.max_size),
        }
        for name, (help_text, value) in gauges.items():
            gauge = GaugeMetricFamily(name, help_text, labels=["pool"])
            gauge.add_metric([self.pool], value)
            yield gauge
        counters = {
            "sqlmite_pool_connection_errors": ("Failed connection attempts.", s.errors),
            "sqlmite_pool_connections_lost": ("Connections found broken.", s.connections_lost),
        }
        for name, (help_text, value) in counters.items():
            counter = CounterMetricFamily(name, help_text, labels=["pool"])
            counter.add_metric([self.pool], value)
            yield counter


def register_pool(manager: HasStats, registry: CollectorRegistry, pool: str = "sqlmite") -> PoolCollector:
    collector = PoolCollector(manager, pool)
    registry.register(collector)
    return collector


class SyncMetrics:
    """The sync sidecar's figures (``sqlmite_sync_*``), in a registry of their own."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.lag = Gauge("sqlmite_sync_lag_seconds",
                         "Seconds since the oldest change not yet in PostgreSQL was seen (0 when caught up).",
                         registry=registry)
        self.backlog = Gauge("sqlmite_sync_backlog_changes", "Logged changes not yet applied.", registry=registry)
        self.rows = Counter("sqlmite_sync_rows_applied", "Rows written to PostgreSQL by batches.", registry=registry)
        self.changes = Counter("sqlmite_sync_changes_applied", "Change-log entries applied.", registry=registry)
        self.batches = Counter("sqlmite_sync_batches_applied", "Batches committed to PostgreSQL.", registry=registry)
        self.reloads = Counter("sqlmite_sync_reloads", "Whole-database reloads, by reason.", ["reason"],
                               registry=registry)
        self.errors = Counter("sqlmite_sync_errors", "Failed attempts, by kind.", ["kind"], registry=registry)
        self.last_apply = Gauge("sqlmite_sync_last_apply_timestamp_seconds",
                                "Unix time of the last successful apply (batch or reload).", registry=registry)
        self.ready = Gauge("sqlmite_sync_ready", "1 when /readyz answers 200.", registry=registry)
        for kind in ERROR_KINDS:
            self.errors.labels(kind)
        for reason in RELOAD_REASONS:
            self.reloads.labels(reason)


ERROR_KINDS = ("backend", "source", "schema", "constraint", "fidelity", "internal")
RELOAD_REASONS = ("initial", "schema", "layout", "lineage")
