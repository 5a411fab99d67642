"""``sqlmite restore``: make the file and PostgreSQL agree before the application starts.

It decides from the state of both sides and never guesses:

========================================  =====================================================
PostgreSQL has the database, no file      rebuild the file from PostgreSQL (``rebuilt``)
PostgreSQL empty, file exists             load the file into PostgreSQL (``loaded``)
both, same lineage and change log         keep the file: it is current or ahead (``kept``);
                                          its log ends before PostgreSQL's position: the file
                                          is an older copy, rebuild it (``rebuilt``)
both, anything else                       refuse (exit 8) unless ``--prefer postgres|sqlite``
neither                                   nothing to do; the application creates it (``none``)
========================================  =====================================================

A rebuilt file carries change capture and its lineage from the start, so no write the
application makes before the sidecar attaches is missed. A file replaced on ``--prefer
postgres`` is kept beside it (``FILE.sqlmite-replaced-<time>``), never deleted.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import apsw
import psycopg

from sqlmite.backend import ConnectionManager, resolve_params
from sqlmite.config import Settings, load_settings
from sqlmite.errors import LineageError, SourceError
from sqlmite.mapping.ddl import default_pg_schema
from sqlmite.mapping.metadata import DatabaseInfo, load_database_info
from sqlmite.migrate.export import SIDE_FILES, export
from sqlmite.migrate.state import migration_state
from sqlmite.sqlite.source import check_integrity
from sqlmite.sync import capture
from sqlmite.sync.position import read_position, write_position
from sqlmite.sync.reload import reload
from sqlmite.sync.sidecar import check_lineage

Prefer = Literal["postgres", "sqlite"]


@dataclass
class RestoreResult:
    action: str  # rebuilt, loaded, kept, none
    path: str
    pg_schema: str
    reason: str
    generation: str | None = None
    rows: int | None = None
    replaced: str | None = None  # where a replaced file was moved
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def restore(path: str | Path, settings: Settings | None = None, *, pg_schema: str | None = None,
            prefer: Prefer | None = None) -> RestoreResult:
    settings = settings or load_settings()
    path = Path(path)
    name = pg_schema or settings.schema or default_pg_schema(path)
    started = time.monotonic()
    with ConnectionManager(settings, params=resolve_params(settings)) as manager:
        with manager.connection() as pg:
            info = _complete_database(pg, name)
            position = read_position(pg, name)
        if not path.exists():
            stale = [f"{path}{s}" for s in SIDE_FILES if Path(f"{path}{s}").exists()]
            if stale:
                raise SourceError(f"{str(path)!r} is missing but {stale[0]!r} exists: SQLite would replay it into "
                                  "a new file; move it away if it is not needed")
            if info is None:
                result = RestoreResult("none", str(path), name, "neither the file nor PostgreSQL holds the database; "
                                       "the application will create it and sync attaches when it appears")
            else:
                result = _rebuild(manager, path, name, info, "the file is missing")
        elif info is None:
            result = _load(manager, path, name, None, "PostgreSQL holds no copy of this database")
        else:
            result = _both(manager, path, name, info, position, prefer)
    result.seconds = time.monotonic() - started
    return result


def _complete_database(pg: psycopg.Connection[Any], name: str) -> DatabaseInfo | None:
    if pg.execute("SELECT to_regclass('sqlmite.databases')").fetchone()[0] is None:
        return None
    info = load_database_info(pg, name)
    state = migration_state(pg, name)
    if info is not None and state is not None and state.status != "complete":
        return None  # an interrupted load holds nothing to restore from: load again
    return info


def _both(manager: ConnectionManager, path: Path, name: str, info: DatabaseInfo, position: Any,
          prefer: Prefer | None) -> RestoreResult:
    conn = capture.open_live(path)
    try:
        check_integrity(conn, path)
        state = capture.file_state(conn)
    finally:
        conn.close()
    try:
        check_lineage(path, name, state, info.generation, position)
        return RestoreResult("kept", str(path), name, "the file and PostgreSQL share lineage and the file is "
                             "current (or ahead: sync applies the rest)", str(info.generation))
    except LineageError:
        same_history = (state.generation == info.generation and position is not None
                        and state.log_id == position.log_id)
        if same_history:  # the file is an older copy of the same history: PostgreSQL has all it has
            return _rebuild(manager, path, name, info, "the file is older than PostgreSQL", replace=True)
        if prefer == "postgres":
            return _rebuild(manager, path, name, info, "--prefer postgres", replace=True)
        if prefer == "sqlite":
            return _load(manager, path, name, state.generation, "--prefer sqlite")
        raise


def _rebuild(manager: ConnectionManager, path: Path, name: str, info: DatabaseInfo, reason: str,
             replace: bool = False) -> RestoreResult:
    """Export PostgreSQL into a new file with capture installed; record its new log in PostgreSQL."""
    log_id = uuid.uuid4()

    def prepare(temp: Path) -> None:
        # A plain connection: closing it checkpoints the WAL into the file, which is moved alone.
        conn = apsw.Connection(str(temp))
        try:
            capture.install(conn)
            capture.set_state(conn, generation=info.generation, log_id=log_id)
        finally:
            conn.close()
        with manager.connection() as pg, pg.transaction():
            write_position(pg, name, log_id, 0, batch=False)

    replaced = _move_aside(path) if replace else None
    report = export(manager.settings, path, pg_schema=name, prepare=prepare)
    return RestoreResult("rebuilt", str(path), name, reason, str(info.generation), sum(report.tables.values()),
                         replaced)


def _load(manager: ConnectionManager, path: Path, name: str, generation: uuid.UUID | None,
          reason: str) -> RestoreResult:
    """Install capture in the file, then load one snapshot of it into PostgreSQL."""
    conn = capture.open_live(path)
    try:
        check_integrity(conn, path)
        capture.install(conn)
        state = capture.file_state(conn)
        assert state.log_id is not None
        conn.execute("BEGIN")
        try:
            with manager.connection() as pg:
                result = reload(conn, pg, name, str(path), state.log_id, generation or state.generation)
        finally:
            conn.execute("ROLLBACK")
        capture.set_state(conn, generation=result.generation)
    finally:
        conn.close()
    return RestoreResult("loaded", str(path), name, reason, str(result.generation), result.rows)


def _move_aside(path: Path) -> str:
    """Keep a replaced file (with its journals, which belong to it) under a new name."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    target = Path(f"{path}.sqlmite-replaced-{stamp}")
    for suffix in ("", *SIDE_FILES):
        source = Path(f"{path}{suffix}")
        if source.exists():
            source.rename(f"{target}{suffix}")
    return str(target)
