"""The PostgreSQL side: which server, the pool of connections to it, retries and DDL auditing."""

from __future__ import annotations

import logging
from typing import Any

from sqlmite.backend.ddl import execute_ddl
from sqlmite.backend.embedded import EmbeddedServer
from sqlmite.backend.pool import ConnectionManager, PoolStats, connection_target, display_params
from sqlmite.backend.retry import is_transient, retry
from sqlmite.config import Settings, connection_params, describe_target
from sqlmite.observe.log import event

log = logging.getLogger(__name__)


def resolve_params(settings: Settings, embedded: EmbeddedServer | None = None) -> dict[str, Any]:
    """libpq parameters for the configured backend, starting the embedded server if that is it.

    Logs one line saying which PostgreSQL is used, so an operator never has to guess whether
    data went to the embedded server or to the configured one.
    """
    if settings.backend == "embedded":
        server = embedded if embedded is not None else EmbeddedServer(settings.data_dir)
        params = connection_params(settings, server.start())
        event(log, f"using embedded PostgreSQL in {server.data_dir}", backend="embedded")
        return params
    params = connection_params(settings)
    source = "from the PG* environment " if settings.backend == "libpq-env" else ""
    event(log, f"using PostgreSQL {source}{describe_target(display_params(params))}", backend=settings.backend)
    return params


__all__ = [
    "ConnectionManager",
    "EmbeddedServer",
    "PoolStats",
    "connection_target",
    "execute_ddl",
    "is_transient",
    "resolve_params",
    "retry",
]
