"""``sqlmite status``: where sync stands, read from both sides without changing either."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlmite.backend import ConnectionManager, resolve_params
from sqlmite.config import Settings, load_settings
from sqlmite.mapping.ddl import default_pg_schema
from sqlmite.mapping.metadata import load_database_info, load_master
from sqlmite.sqlite.schema import read_master
from sqlmite.sqlite.source import open_source
from sqlmite.sync import capture
from sqlmite.sync.position import read_position


@dataclass
class SyncReport:
    path: str
    pg_schema: str
    lineage: str  # same, different, file-only, postgres-only, none
    file_generation: str | None
    postgres_generation: str | None
    log_id: str | None
    log_top: int | None  # newest change in the file's log
    applied_seq: int | None  # newest change PostgreSQL holds
    backlog: int | None  # changes not yet in PostgreSQL (None when the logs differ)
    schema_current: bool | None  # PostgreSQL holds the file's schema (False: a reload is due)
    last_apply: str | None  # ISO time of the last batch or reload
    lag_seconds: float | None  # time since the last apply while changes wait; 0 when caught up

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def sync_status(path: str | Path, settings: Settings | None = None, *, pg_schema: str | None = None) -> SyncReport:
    settings = settings or load_settings()
    name = pg_schema or settings.schema or default_pg_schema(path)
    state = None
    if Path(path).exists():
        conn = open_source(path)
        try:
            with conn:  # one snapshot
                state = capture.file_state(conn)
                position_top = state.top
                master = read_master(conn)
        finally:
            conn.close()
    with ConnectionManager(settings, params=resolve_params(settings)) as manager, manager.connection() as pg:
        has_metadata = pg.execute("SELECT to_regclass('sqlmite.databases')").fetchone()[0] is not None
        info = load_database_info(pg, name) if has_metadata else None
        position = read_position(pg, name)
        saved = tuple(load_master(pg, name)) if info is not None else None
    backlog = lag = None
    if state is not None and position is not None and state.log_id == position.log_id:
        conn = open_source(path)
        try:
            backlog = capture.backlog(conn, position.applied_seq)
        finally:
            conn.close()
        since = (dt.datetime.now(dt.UTC) - position.applied_at).total_seconds()
        lag = round(since, 3) if backlog else 0.0
    if state is None:
        lineage = "postgres-only" if info else "none"
    elif info is None:
        lineage = "file-only"
    else:
        lineage = "same" if state.generation == info.generation else "different"
    return SyncReport(
        str(path), name, lineage,
        str(state.generation) if state and state.generation else None,
        str(info.generation) if info else None,
        str(state.log_id) if state and state.log_id else None,
        position_top if state is not None else None,
        position.applied_seq if position else None,
        backlog,
        master == saved if state is not None and saved is not None else None,
        position.applied_at.isoformat() if position else None,
        lag,
    )
