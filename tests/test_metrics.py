"""Pool figures reach Prometheus as they are at scrape time."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from sqlmite.backend import ConnectionManager
from sqlmite.config import load_settings
from sqlmite.observe.metrics import register_pool


def test_pool_figures_are_exported(pg_dsn: str) -> None:
    settings = load_settings(env={"SQLMITE_DATABASE_URL": pg_dsn, "SQLMITE_POOL_SIZE": "3"})
    registry = CollectorRegistry()
    with ConnectionManager(settings) as manager:
        register_pool(manager, registry)
        with manager.connection():
            text = generate_latest(registry).decode()
            assert 'sqlmite_pool_connections_in_use{pool="sqlmite"} 1.0' in text
            assert 'sqlmite_pool_max_connections{pool="sqlmite"} 3.0' in text
        text = generate_latest(registry).decode()
        assert 'sqlmite_pool_connections_in_use{pool="sqlmite"} 0.0' in text
        assert "sqlmite_pool_connection_errors_total" in text
