"""``sqlmite migrate``: a SQLite file into PostgreSQL, fast, resumable, nothing lost.

Order of work: check the source (quick_check), back it up online (the backup is the snapshot
the loaders read), scan it (what chooses native types or NOT NULL forms; sqlite_sequence,
sqlite_stat1), plan the schema from what the data holds, create tables without keys, COPY every
table (in parallel processes, largest first), then keys, indexes and ANALYZE per table (in
parallel sessions), foreign keys, and mark the migration complete (``finish``). Progress is kept
in PostgreSQL so the same command resumes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import os
import queue
import signal
import sys
import time
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import apsw
import psycopg

from sqlmite.backend import ConnectionManager, resolve_params
from sqlmite.backend.schema import TargetNotEmptyError, create_tables, drop_schema, schema_in_use
from sqlmite.config import Settings, load_settings
from sqlmite.errors import BackendError
from sqlmite.mapping.ddl import Profile, SchemaPlan, TablePlan, default_pg_schema, plan_schema
from sqlmite.migrate.finish import finish
from sqlmite.migrate.load import TableLoaded, load_table
from sqlmite.migrate.scan import ScanResult, clean_columns, scan
from sqlmite.sqlite.source import backup, check_integrity, open_source
from sqlmite.migrate.state import MigrationState, loaded_tables, migration_state, start_migration
from sqlmite.sqlite.schema import read_schema


PR_SET_PDEATHSIG = 1  # linux/prctl.h


class Progress(Protocol):
    """What the CLI shows while tables load (a no-op by default)."""

    def start(self, tables: list[tuple[str, int]]) -> None: ...
    def advance(self, table: str, rows: int) -> None: ...
    def done(self, loaded: TableLoaded) -> None: ...
    def note(self, message: str) -> None: ...


class _Quiet:
    def start(self, tables: list[tuple[str, int]]) -> None:
        pass

    def advance(self, table: str, rows: int) -> None:
        pass

    def done(self, loaded: TableLoaded) -> None:
        pass

    def note(self, message: str) -> None:
        pass


@dataclass
class MigrateResult:
    source: str
    pg_schema: str
    target: str | None
    backup: str | None
    plan: SchemaPlan
    scan: ScanResult
    loaded: list[TableLoaded] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # already loaded by an interrupted run
    seconds: float = 0.0
    resumed: bool = False

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.loaded)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source, "pg_schema": self.pg_schema, "target": self.target, "backup": self.backup,
            "resumed": self.resumed, "seconds": round(self.seconds, 3), "rows": self.rows,
            "rows_per_second": round(self.rows / self.seconds) if self.seconds else None,
            "tables": [{"name": t.name, "rows": t.rows, "seconds": round(t.seconds, 3)} for t in self.loaded],
            "skipped": self.skipped, "notes": self.plan.notes,
        }


def _default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def migrate(
    source: str | Path,
    settings: Settings | None = None,
    *,
    pg_schema: str | None = None,
    profile: Profile = Profile.REPLICA,
    backup_dir: Path | None = None,
    make_backup: bool = True,
    jobs: int | None = None,
    replace: bool = False,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> MigrateResult:
    """Migrate ``source`` into PostgreSQL; see the module docstring for the order of work.

    With ``jobs`` > 1 the loaders are separate processes (spawned), so, as with any
    multiprocessing code, a script calling this must do so under ``if __name__ == "__main__":``.
    """
    settings = settings or load_settings()
    progress = progress or _Quiet()
    started = time.monotonic()
    name = pg_schema or settings.schema or default_pg_schema(source)
    conn = open_source(source)
    check_integrity(conn, source)
    journal_mode = conn.execute("PRAGMA journal_mode").fetchall()[0][0]
    if dry_run:  # the full type report, and foreign_key_check instead of trying to validate
        with conn:
            schema = read_schema(conn)
            found = scan(conn, schema, full=True)
        plan = plan_schema(schema, name, profile, observed=found.observed, unchecked_fks=found.violated_foreign_keys)
        return MigrateResult(str(source), name, None, None, plan, found)

    with ConnectionManager(settings, params=resolve_params(settings)) as manager:
        with manager.connection() as pg:
            state = migration_state(pg, name)
            _check_target(pg, name, state, replace, progress)
        # With --replace, _check_target has just dropped an interrupted migration: start afresh.
        resume = state is not None and state.resumable and not replace
        if resume:
            assert state is not None and state.snapshot is not None
            read_path, backup_path = Path(state.snapshot), state.snapshot
            progress.note(f"resuming the interrupted migration from its snapshot {read_path}")
        elif make_backup:
            read_path = backup(conn, source, backup_dir or settings.data_dir / "backups")
            backup_path = str(read_path)
            progress.note(f"backup written to {read_path}")
        else:
            read_path, backup_path = Path(source), None
        reader = conn if read_path == Path(source) else open_source(read_path)
        with reader:  # one read transaction: the snapshot, when there is no backup file to read
            schema = read_schema(reader)
            schema.pragmas["journal_mode"] = journal_mode
            workers = min(jobs or _default_jobs(), len(schema.tables) or 1) if backup_path else 1
            found = scan(reader, schema, full=False, reader=lambda: open_source(read_path), workers=workers)
            plan = plan_schema(schema, name, profile, observed=found.observed, validate_fks=False,
                               strays=found.strays)
            clean = clean_columns(plan, found)
            result = MigrateResult(str(source), name, manager.target, backup_path, plan, found, resumed=resume)
            with manager.connection() as pg:
                if not resume:
                    with pg.transaction():
                        create_tables(pg, schema, plan, str(source), replace=replace, sequence=found.sequence)
                        start_migration(pg, name, str(source), backup_path, found.stat1)
                done = loaded_tables(pg, name)
            todo = [t for t in plan.tables if t.name not in done]
            result.skipped = [t.name for t in plan.tables if t.name in done]
            todo.sort(key=lambda t: found.table(t.name).rows, reverse=True)
            progress.start([(t.name, found.table(t.name).rows) for t in todo])
            workers = min(workers, len(todo))
            if workers > 1:
                result.loaded = _load_parallel(str(read_path), manager.params, name, todo, workers, progress, clean)
            else:
                result.loaded = _load_here(reader, manager, name, todo, progress, clean)
        result.plan.notes.extend(finish(manager, plan, jobs or _default_jobs(), _lost))
    result.seconds = time.monotonic() - started
    return result


def _check_target(pg: psycopg.Connection[Any], name: str, state: MigrationState | None, replace: bool,
                  progress: Progress) -> None:
    """Refuse a target holding data unless ``replace``; clear what cannot be resumed."""
    if state is not None and state.resumable and not replace:
        return
    if state is not None and state.status == "complete" and not replace:
        raise TargetNotEmptyError(f"PostgreSQL schema {name!r} already holds a completed migration of "
                                  f"{state.source!r}; use --replace to drop it and migrate again")
    if state is None and schema_in_use(pg, name) and not replace:
        raise TargetNotEmptyError(f"PostgreSQL schema {name!r} already holds tables; use --replace to drop "
                                  "and recreate it")
    if state is not None or schema_in_use(pg, name):
        if state is not None and state.status == "loading" and not replace:
            progress.note("the interrupted migration cannot resume (its snapshot is gone): starting over")
        with pg.transaction():
            drop_schema(pg, name)


def _load_here(reader: apsw.Connection, manager: ConnectionManager, name: str, todo: Iterable[TablePlan],
               progress: Progress, clean: dict[str, frozenset[str]]) -> list[TableLoaded]:
    loaded = []
    with manager.connection() as pg:  # nothing runs before the first table: each commits on its own
        for plan in todo:
            try:
                table = load_table(reader, pg, name, plan, progress.advance, clean[plan.name])
            except psycopg.OperationalError as exc:
                raise _lost(exc, plan.name) from None
            progress.done(table)
            loaded.append(table)
    return loaded


def _lost(exc: psycopg.Error, step: str) -> BackendError:
    """``step`` is a table name, or "keys and indexes" for the last step."""
    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if getattr(exc, "sqlstate", None) == "53100":
        first = f"PostgreSQL ran out of disk space ({first})"
    what = step if step == "keys and indexes" else f"table {step!r}"
    return BackendError(f"loading {what} failed: {first}. Tables loaded so far are kept; "
                        "run the same command again to resume")


_updates: Any = None  # in a worker process: the queue progress goes back through


def _worker_start(updates: Any) -> None:
    """Each worker dies with the migrate process (a killed parent must not leave loaders running)."""
    global _updates
    _updates = updates
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() == 1:  # the parent died before prctl took effect
            os._exit(1)


def _worker(read_path: str, params: dict[str, Any], name: str, plan: TablePlan, clean: frozenset[str]) -> TableLoaded:
    """One table in a worker process: its own SQLite reader (the snapshot file) and connection."""
    sqlite = open_source(read_path)
    try:
        with psycopg.connect(**params) as pg, sqlite:
            return load_table(sqlite, pg, name, plan, lambda table, rows: _updates.put((table, rows)), clean)
    except psycopg.OperationalError as exc:
        raise _lost(exc, plan.name) from None
    except psycopg.Error as exc:
        raise BackendError(f"loading table {plan.name!r} failed: {str(exc).splitlines()[0]}") from None
    finally:
        sqlite.close()


def _load_parallel(read_path: str, params: dict[str, Any], name: str, todo: list[TablePlan], workers: int,
                   progress: Progress, clean: dict[str, frozenset[str]]) -> list[TableLoaded]:
    """Tables in ``workers`` processes (SQLite decoding and COPY encoding need the CPU, not threads)."""
    context = multiprocessing.get_context("spawn")
    loaded: list[TableLoaded] = []
    updates = context.Queue()
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_worker_start, initargs=(updates,)) as pool:
        pending: set[Future[TableLoaded]] = {pool.submit(_worker, read_path, params, name, t, clean[t.name])
                                             for t in todo}
        try:
            while pending:
                finished, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                _drain(updates, progress)
                for future in finished:
                    table = future.result()
                    progress.done(table)
                    loaded.append(table)
        except BaseException:
            for future in pending:
                future.cancel()
            raise
        _drain(updates, progress)
    return loaded


def _drain(updates: Any, progress: Progress) -> None:
    while True:
        try:
            table, rows = updates.get_nowait()
        except queue.Empty:
            return
        progress.advance(table, rows)
