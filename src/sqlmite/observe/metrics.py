"""Prometheus metrics: pool figures read at scrape time, never cached.

A custom collector (rather than gauges updated by the pool) means a scrape always sees the
pool as it is, and the pool does no metrics work on its hot path.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

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
