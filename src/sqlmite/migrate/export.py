"""``sqlmite export``: rebuild the SQLite file from PostgreSQL, the way back from a migration.

The schema is replayed from ``sqlmite.master`` (``rebuild_schema``: same ``sqlite_master`` rows,
same order, same pragmas), then every table's rows are read with ``pg_rows`` (decoded by the
saved table plans, so every value comes back with its storage class) and inserted through SQLite
itself. Triggers are disabled while rows load (a restored row already holds whatever its
triggers did; firing them again would change it) and foreign keys are off (tables load in schema
order, not parent first). ``sqlite_sequence`` and ``sqlite_stat1`` are then restored from the
metadata, and last the source's journal mode (WAL persists in the file).

PostgreSQL is read in one REPEATABLE READ transaction, so the file is one consistent state even
while a sync keeps writing. The file is written beside ``out_path`` under a temporary name and
renamed into place only when complete: a failed export leaves nothing half-made. An existing
``out_path`` is refused (``OutputExistsError``, exit code 7) unless ``replace`` is given.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import apsw
import psycopg

from sqlmite.backend import ConnectionManager, resolve_params
from sqlmite.config import Settings, load_settings
from sqlmite.errors import BackendError, SqlmiteError
from sqlmite.mapping.ddl import TablePlan
from sqlmite.mapping.metadata import DatabaseInfo
from sqlmite.migrate.rows import pg_rows, sqlite_insert
from sqlmite.migrate.state import migration_state
from sqlmite.migrate.verify import UnknownDatabaseError, load_mapped, read_snapshot
from sqlmite.sqlite.rebuild import rebuild_schema, set_journal_mode
from sqlmite.sqlite.schema import MasterRow

SIDE_FILES = ("-wal", "-shm", "-journal")  # SQLite's companions of a database file
CACHE_KIB = 262_144  # page cache while loading: index pages stay in memory


class OutputExistsError(SqlmiteError):
    """The export's output file (or a journal of it) already exists and replace was not asked."""

    exit_code = 7


@dataclass
class ExportReport:
    path: str
    pg_schema: str
    target: str
    tables: dict[str, int] = field(default_factory=dict)  # SQLite table → rows written
    size_bytes: int = 0
    seconds: float = 0.0
    journal_mode: str | None = None

    @property
    def rows(self) -> int:
        return sum(self.tables.values())

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    @property
    def mb_per_second(self) -> float:
        """Megabytes of finished SQLite file per second."""
        return self.size_bytes / 1e6 / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path, "pg_schema": self.pg_schema, "target": self.target, "rows": self.rows,
            "size_bytes": self.size_bytes, "seconds": round(self.seconds, 3),
            "rows_per_second": round(self.rows_per_second), "mb_per_second": round(self.mb_per_second, 1),
            "journal_mode": self.journal_mode,
            "tables": [{"name": name, "rows": rows} for name, rows in self.tables.items()],
        }


def export(
    settings: Settings | None,
    out_path: str | Path,
    *,
    pg_schema: str,
    replace: bool = False,
    progress: Callable[[str], None] | None = None,
    prepare: Callable[[Path], None] | None = None,
) -> ExportReport:
    """Write the database kept in PostgreSQL schema ``pg_schema`` to the new SQLite file ``out_path``.

    ``progress`` is called with each table's name before its rows are written; ``prepare`` with
    the finished temporary file before it is moved into place (restore installs change capture
    there, so the file never exists without it).
    """
    settings = settings or load_settings()
    out = Path(out_path)
    _check_output(out, replace)
    started = time.monotonic()
    with ConnectionManager(settings, params=resolve_params(settings)) as manager:
        report = ExportReport(str(out), pg_schema, manager.target)
        fd, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".sqlmite-export", dir=out.parent)
        os.close(fd)
        temp = Path(name)
        try:
            with manager.connection() as pg:
                read_snapshot(pg)
                info, master, plans = load_mapped(pg, pg_schema)
                state = migration_state(pg, pg_schema)
                if state is not None and state.status != "complete":
                    raise UnknownDatabaseError(f"PostgreSQL schema {pg_schema!r} holds an unfinished migration "
                                               f"({state.status}); run sqlmite migrate again to finish it")
                report.journal_mode = info.journal_mode
                _write(temp, pg, pg_schema, info, master, plans, report, progress or (lambda table: None))
            if prepare is not None:
                prepare(temp)
            _fsync(temp)
            _check_output(out, replace)  # it may have appeared meanwhile
            _install(temp, out)
        except psycopg.Error as exc:
            _remove(temp)
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise BackendError(f"reading {manager.target} schema {pg_schema!r} failed: {first}") from None
        except apsw.Error as exc:
            _remove(temp)
            raise SqlmiteError(f"writing {str(out)!r} failed: {exc}") from None
        except BaseException:
            _remove(temp)
            raise
    report.size_bytes = out.stat().st_size
    report.seconds = time.monotonic() - started
    return report


def _check_output(out: Path, replace: bool) -> None:
    if not out.parent.is_dir():
        raise SqlmiteError(f"cannot write {str(out)!r}: directory {str(out.parent)!r} does not exist")
    if replace:
        if out.is_dir():
            raise OutputExistsError(f"{str(out)!r} is a directory")
        return
    existing = [p for p in (out, *(Path(f"{out}{s}") for s in SIDE_FILES)) if p.exists()]
    if existing:
        raise OutputExistsError(f"{str(existing[0])!r} already exists; use --replace to overwrite it")


def _write(path: Path, pg: psycopg.Connection[Any], pg_schema: str, info: DatabaseInfo, master: list[MasterRow],
           plans: list[TablePlan], report: ExportReport, progress: Callable[[str], None]) -> None:
    conn = apsw.Connection(str(path))
    try:
        # A failed export is deleted, never rolled back or recovered: no journal, no fsync until the end.
        conn.execute("PRAGMA journal_mode = OFF").fetchall()
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        rebuild_schema(conn, master, {"page_size": info.page_size, "auto_vacuum": info.auto_vacuum,
                                      "encoding": info.encoding, "user_version": info.user_version,
                                      "application_id": info.application_id})
        names = {row.name for row in master}
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.config(apsw.SQLITE_DBCONFIG_ENABLE_TRIGGER, 0)
        try:
            with conn:  # one transaction for every row
                for plan in plans:
                    progress(plan.name)
                    before = conn.total_changes()
                    conn.executemany(sqlite_insert(plan), pg_rows(pg, pg_schema, plan))
                    report.tables[plan.name] = conn.total_changes() - before
                _internal_tables(conn, pg, pg_schema, names)
        finally:
            conn.config(apsw.SQLITE_DBCONFIG_ENABLE_TRIGGER, 1)
        conn.execute("PRAGMA synchronous = FULL")
        set_journal_mode(conn, info.journal_mode)
    finally:
        conn.close()  # in WAL mode this checkpoints and removes the -wal file


def _internal_tables(conn: apsw.Connection, pg: psycopg.Connection[Any], pg_schema: str, names: set[str]) -> None:
    """``sqlite_sequence`` as saved (inserting explicit ids set it to max(id), which may be lower) and
    ``sqlite_stat1`` (the planner's statistics)."""
    if "sqlite_sequence" in names:
        conn.execute("DELETE FROM main.sqlite_sequence")
        conn.executemany("INSERT INTO main.sqlite_sequence (name, seq) VALUES (?, ?)", pg.execute(
            "SELECT name, seq FROM sqlmite.sequence WHERE schema_name = %s ORDER BY name", (pg_schema,)).fetchall())
    if "sqlite_stat1" in names:
        conn.execute("DELETE FROM main.sqlite_stat1")
        conn.executemany("INSERT INTO main.sqlite_stat1 (tbl, idx, stat) VALUES (?, ?, ?)", pg.execute(
            "SELECT tbl, idx, stat FROM sqlmite.stat1 WHERE schema_name = %s", (pg_schema,)).fetchall())


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _install(temp: Path, out: Path) -> None:
    """Move the finished file into place. Stale journals of a replaced file go first: SQLite would
    otherwise replay an old ``-wal`` into the new file."""
    for suffix in SIDE_FILES:
        Path(f"{out}{suffix}").unlink(missing_ok=True)
    os.replace(temp, out)
    try:
        fd = os.open(out.parent, os.O_RDONLY)
    except OSError:
        return  # a directory that cannot be opened (some platforms): the rename is done anyway
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove(temp: Path) -> None:
    for suffix in ("", *SIDE_FILES):
        Path(f"{temp}{suffix}").unlink(missing_ok=True)
