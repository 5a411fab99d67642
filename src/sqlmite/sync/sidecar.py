"""``sqlmite sync``: keep PostgreSQL equal to an application's live SQLite file.

The loop: wait for the file; install change capture; attach (decide from both sides' lineage
whether PostgreSQL continues, starts from a reload, or the two disagree); then, whenever
``PRAGMA data_version`` says another connection committed, run one step: open a read
transaction (the snapshot), reload if the schema changed, else apply every logged change up to
the snapshot's newest in one PostgreSQL transaction with its position; then trim the log.
Failures of PostgreSQL or of the file are counted by kind and retried with backoff: sync never
gives up on its own, and never loses a change (they stay in the file's log until applied).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import apsw
import psycopg

from sqlmite.backend import ConnectionManager, PoolStats, resolve_params
from sqlmite.config import Settings
from sqlmite.errors import (
    BackendError,
    FidelityError,
    LineageError,
    SourceError,
    SqlmiteError,
    UnsupportedSchemaError,
)
from sqlmite.mapping.ddl import default_pg_schema
from sqlmite.mapping.metadata import load_database_info
from sqlmite.migrate.state import migration_state
from sqlmite.observe.log import event
from sqlmite.observe.metrics import SyncMetrics
from sqlmite.sqlite.schema import read_master
from sqlmite.sync import capture
from sqlmite.sync.apply import Applied, Replica, UnmappedTable, apply_batch, read_extras
from sqlmite.sync.position import read_position
from sqlmite.sync.reload import Reloaded, reload

log = logging.getLogger("sqlmite.sync")
TRIM_INTERVAL = 1.0  # seconds between trims of the change log
TRIM_BACKLOG = 20_000  # ...unless this many applied entries wait to be trimmed


@dataclass
class SyncOptions:
    poll_interval: float = 0.005  # seconds between data_version checks (a cheap shared-memory read)
    file_wait: float = 1.0  # seconds between looks for a file that does not exist yet
    ready_lag: float = 30.0  # /readyz fails when the lag exceeds this many seconds
    max_backoff: float = 5.0  # longest wait between retries after a failure


@dataclass
class SyncStatus:
    """What ``/readyz``, ``/metrics`` and the logs report; updated by the loop only."""

    attached: bool = False
    applied_seq: int = 0
    backlog: int = 0
    pending_since: float | None = None  # monotonic time the oldest unapplied change was first seen
    last_error: str | None = None
    generation: uuid.UUID | None = None
    log_id: uuid.UUID | None = None
    counts: dict[str, int] = field(default_factory=lambda: {"batches": 0, "rows": 0, "changes": 0, "reloads": 0})

    def lag(self) -> float:
        return 0.0 if self.pending_since is None else time.monotonic() - self.pending_since


class Sidecar:
    """One database: the file at ``path``, its copy in PostgreSQL schema ``pg_schema``."""

    def __init__(self, path: str | Path, settings: Settings, *, pg_schema: str | None = None,
                 options: SyncOptions | None = None, metrics: SyncMetrics | None = None) -> None:
        self.path = Path(path)
        self.settings = settings
        self.pg_schema = pg_schema or settings.schema or default_pg_schema(path)
        self.options = options or SyncOptions()
        self.metrics = metrics
        self.status = SyncStatus()
        self.manager: ConnectionManager | None = None
        self.conn: apsw.Connection | None = None
        self.replica: Replica | None = None
        self._schema_version: int | None = None
        self._trimmed_at, self._trimmed_seq = 0.0, 0
        if metrics is not None:
            metrics.lag.set_function(self.status.lag)  # read at scrape time: it grows between steps

    def stats(self) -> PoolStats:
        """The pool's figures for /metrics (zeros before the pool exists)."""
        if self.manager is None:
            return PoolStats(0, 0, 0, 0, self.settings.pool_size, 0, 0)
        return self.manager.stats()

    # -- lifecycle ---------------------------------------------------------------------------

    def run(self, stop: threading.Event, on_attached: Callable[[], None] | None = None,
            grace: float = 20.0) -> bool:
        """Sync until ``stop`` is set, then apply what is left (the final flush, retried for at most
        ``grace`` seconds). Returns False when the final flush did not complete."""
        if not self._wait_for_file(stop):
            return True
        with ConnectionManager(self.settings, params=resolve_params(self.settings)) as manager:
            self.manager = manager
            self.conn = capture.open_live(self.path)
            try:
                self._retrying(stop, self._attach)
                if self.status.attached and on_attached is not None:
                    on_attached()
                last_version = None
                identity, checked = _identity(self.path), time.monotonic()
                while not stop.is_set():
                    version = self.conn.execute("PRAGMA data_version").fetchone()[0]
                    due = version != last_version or self.status.backlog
                    if due and self._retrying(stop, self.step, once=True):
                        last_version = version
                    if time.monotonic() - checked >= 1.0:
                        self._check_identity(identity)
                        checked = time.monotonic()
                    stop.wait(self.options.poll_interval)
                return self.flush(grace) if self.status.attached else True
            finally:
                self.conn.close()
                self.conn = None

    def _check_identity(self, identity: tuple[int, int] | None) -> None:
        """A file replaced underneath (a copy restored over it) is another database: sync's
        connection still reads the old one. Stop, and let the restart's lineage check decide."""
        if _identity(self.path) != identity:
            self.flush(5.0)
            raise SourceError(f"{str(self.path)!r} was replaced or removed while sync ran; restart sync "
                              "(it checks the new file's lineage before continuing)")

    def flush(self, grace: float) -> bool:
        """Apply everything logged so far, retrying failures for at most ``grace`` seconds."""
        deadline = time.monotonic() + grace
        give_up = threading.Event()
        timer = threading.Timer(grace, give_up.set)
        timer.start()
        try:
            while time.monotonic() < deadline:
                if self._retrying(give_up, self.step, once=True):
                    self._trim(self._conn(), self.status.applied_seq, force=True)
                    event(log, "final flush done", applied_seq=self.status.applied_seq)
                    return True
        finally:
            timer.cancel()
        event(log, "final flush did not complete; the changes stay in the file's log", logging.ERROR,
              backlog=self.status.backlog, error=self.status.last_error)
        return False

    def ready(self) -> tuple[bool, str]:
        s = self.status
        if not s.attached:
            return False, "not attached yet" + (f" (last error: {s.last_error})" if s.last_error else "")
        if s.lag() > self.options.ready_lag:
            return False, f"lag {s.lag():.1f} s exceeds {self.options.ready_lag:g} s" + (
                f" (last error: {s.last_error})" if s.last_error else "")
        return True, f"ok: applied through change {s.applied_seq}, backlog {s.backlog}"

    def _wait_for_file(self, stop: threading.Event) -> bool:
        announced = False
        while not self.path.exists():
            if not announced:
                event(log, "waiting for the database file to appear", path=str(self.path))
                announced = True
            if stop.wait(self.options.file_wait):
                return False
        return True

    def _retrying(self, stop: threading.Event, work: Callable[[], Any], once: bool = False) -> bool:
        """Run ``work`` until it succeeds (or once, with ``once``), counting and logging failures."""
        delay = 0.1
        while not stop.is_set():
            try:
                work()
                if self.status.last_error is not None:
                    event(log, "recovered", previous_error=self.status.last_error)
                    self.status.last_error = None
                return True
            except LineageError:
                raise
            except Exception as exc:  # noqa: BLE001 - every failure is counted, logged and retried
                kind = _kind(exc)
                message = _describe(exc)
                if self.metrics is not None:
                    self.metrics.errors.labels(kind).inc()
                if message != self.status.last_error:
                    event(log, "sync step failed; retrying", logging.WARNING, kind=kind, error=message)
                self.status.last_error = message
                self._end_read()
                if once:
                    stop.wait(delay)
                    return False
                stop.wait(delay)
                delay = min(delay * 2, self.options.max_backoff)
        return False

    # -- attaching: which side continues ----------------------------------------------------

    def _attach(self) -> None:
        conn, manager = self._conn(), self._manager()
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        if mode.lower() != "wal":
            raise SourceError(f"{str(self.path)!r} is in {mode} journal mode; sync needs WAL (PRAGMA "
                              "journal_mode=WAL), where its reads never block the application's writes")
        capture.install(conn)
        self._schema_version = None
        state = capture.file_state(conn)
        with manager.connection() as pg:
            info = load_database_info(pg, self.pg_schema) if _has_metadata(pg) else None
            position = read_position(pg, self.pg_schema)
            migration = migration_state(pg, self.pg_schema)
        if info is None:  # PostgreSQL holds nothing: it starts from the file (keeping its lineage, if any)
            self.status.generation = state.generation
            self._reload("initial", state.generation)
        else:
            check_lineage(self.path, self.pg_schema, state, info.generation, position)
            assert position is not None and state.log_id is not None
            with manager.connection() as pg:
                self.replica = Replica.read(pg, self.pg_schema)
            self.status.applied_seq = position.applied_seq
            self.status.generation, self.status.log_id = info.generation, state.log_id
            if state.generation is None:  # a reload committed, then the process stopped before the stamp
                capture.set_state(conn, generation=info.generation)
            if migration is not None and migration.status != "complete":
                self._reload("initial", info.generation)
        self.status.attached = True
        if self.metrics is not None:
            self.metrics.ready.set(1)
        event(log, "attached", path=str(self.path), schema=self.pg_schema, generation=str(self.status.generation),
              applied_seq=self.status.applied_seq)

    # -- one step -----------------------------------------------------------------------------

    def step(self) -> Applied | Reloaded | None:
        """Apply what the file's log holds now (or reload after a schema change); then trim."""
        conn = self._conn()
        conn.execute("BEGIN")
        result: Applied | Reloaded | None
        try:
            version = conn.execute("PRAGMA schema_version").fetchone()[0]
            changed = False
            if version != self._schema_version:
                changed = read_master(conn) != self._replica().master or not capture.triggers_current(conn)
                if not changed:
                    self._schema_version = version
            result = None if changed else self._apply(conn)
        finally:
            self._end_read()
        if changed:
            result = self._reload("schema", self.status.generation)
        if result is not None:
            self._trim(conn, result.applied_seq)
        return result

    def _trim(self, conn: apsw.Connection, applied_seq: int, force: bool = False) -> None:
        """Trim the applied log, at most about once a second unless much has piled up: each trim
        is a (short) write the application's own writes may have to wait for."""
        due = time.monotonic() - self._trimmed_at >= TRIM_INTERVAL or applied_seq - self._trimmed_seq >= TRIM_BACKLOG
        if force or due:
            capture.trim(conn, applied_seq)
            self._trimmed_at, self._trimmed_seq = time.monotonic(), applied_seq

    def _apply(self, conn: apsw.Connection) -> Applied | Reloaded | None:
        replica, log_id = self._replica(), self.status.log_id
        assert log_id is not None
        applied = self.status.applied_seq
        top = conn.execute(f"SELECT coalesce(max(seq), 0) FROM {capture.LOG_TABLE}").fetchone()[0]
        extras = read_extras(conn)
        self._note_backlog(top - applied)
        if top <= applied and extras == replica.extras:
            return None
        whole: set[str] = set()
        while True:
            try:
                with self._manager().connection() as pg:
                    result = apply_batch(conn, pg, replica, log_id, applied, top, extras, whole)
                break
            except psycopg.errors.UniqueViolation as exc:
                # A REPLACE removed a conflicting row without firing delete triggers (SQLite does
                # that unless recursive_triggers is on): copy that table whole in this batch.
                table = _table_of(exc, replica)
                if table is None or table in whole:
                    raise
                whole.add(table)
                event(log, "copying a table whole after a unique conflict (REPLACE without delete triggers)",
                      table=table)
            except (FidelityError, UnmappedTable) as exc:
                # A value no longer fits the columns chosen from earlier data, or the log names a
                # table the schema no longer has: plan again from this snapshot.
                event(log, "reloading", reason=str(exc))
                return self._reload_here(conn, "layout")
        self._done(result.applied_seq, result.changes, result.rows)
        return result

    def _reload(self, reason: str, generation: uuid.UUID | None) -> Reloaded:
        """Install capture for the current tables, then reload from a snapshot taken after that."""
        conn = self._conn()
        capture.install(conn)
        conn.execute("BEGIN")
        try:
            return self._reload_here(conn, reason, generation)
        finally:
            self._end_read()

    def _reload_here(self, conn: apsw.Connection, reason: str, generation: uuid.UUID | None = None) -> Reloaded:
        state = capture.file_state(conn)
        assert state.log_id is not None
        generation = generation or self.status.generation
        with self._manager().connection() as pg:
            result = reload(conn, pg, self.pg_schema, str(self.path), state.log_id, generation)
            self.replica = Replica.read(pg, self.pg_schema)
        self._schema_version = conn.execute("PRAGMA schema_version").fetchone()[0]
        self.status.generation, self.status.log_id = result.generation, state.log_id
        if state.generation != result.generation:
            self._end_read()
            capture.set_state(conn, generation=result.generation)
        self.status.counts["reloads"] += 1
        if self.metrics is not None:
            self.metrics.reloads.labels(reason).inc()
        event(log, "reloaded", reason=reason, rows=result.rows, tables=len(result.tables),
              seconds=round(result.seconds, 3), applied_seq=result.applied_seq)
        self._done(result.applied_seq, 0, result.rows)
        return result

    def _done(self, applied_seq: int, changes: int, rows: int) -> None:
        s = self.status
        s.applied_seq = applied_seq
        s.counts["batches"] += 1
        s.counts["rows"] += rows
        s.counts["changes"] += changes
        if self.metrics is not None:
            m = self.metrics
            m.batches.inc()
            m.rows.inc(rows)
            m.changes.inc(changes)
            m.last_apply.set(time.time())
        self._note_backlog(0)

    def _note_backlog(self, backlog: int) -> None:
        s = self.status
        s.backlog = max(backlog, 0)
        if s.backlog and s.pending_since is None:
            s.pending_since = time.monotonic()
        elif not s.backlog:
            s.pending_since = None
        if self.metrics is not None:
            self.metrics.backlog.set(s.backlog)

    def _end_read(self) -> None:
        if self.conn is not None and not self.conn.get_autocommit():
            self.conn.execute("ROLLBACK")

    def _conn(self) -> apsw.Connection:
        assert self.conn is not None
        return self.conn

    def _manager(self) -> ConnectionManager:
        assert self.manager is not None
        return self.manager

    def _replica(self) -> Replica:
        assert self.replica is not None
        return self.replica


def check_lineage(path: Path, pg_schema: str, state: capture.FileState, generation: uuid.UUID,
                  position: Any) -> None:
    """Refuse to continue when the file and PostgreSQL do not hold the same history."""
    advice = (f"run `sqlmite restore {path} --prefer postgres` to rebuild the file from PostgreSQL, or "
              f"`--prefer sqlite` to reload PostgreSQL from the file")
    if position is None:
        raise LineageError(f"PostgreSQL schema {pg_schema!r} holds a database that sync did not write (a one-shot "
                           f"migration?), so nothing proves {str(path)!r} is the same database; {advice}")
    if state.generation is not None and state.generation != generation:
        raise LineageError(f"{str(path)!r} (generation {state.generation}) and PostgreSQL schema {pg_schema!r} "
                           f"(generation {generation}) are different databases; {advice}")
    if state.log_id != position.log_id:
        raise LineageError(f"{str(path)!r} was not the file PostgreSQL schema {pg_schema!r} was last synced from "
                           f"(another copy, or synced before sqlmite); {advice}")
    if state.top < position.applied_seq:
        raise LineageError(f"{str(path)!r} is older than PostgreSQL schema {pg_schema!r} (its change log ends at "
                           f"{state.top}, PostgreSQL has applied {position.applied_seq}); {advice}")


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


def _has_metadata(pg: psycopg.Connection[Any]) -> bool:
    return pg.execute("SELECT to_regclass('sqlmite.databases')").fetchone()[0] is not None


def _table_of(exc: psycopg.Error, replica: Replica) -> str | None:
    pg_name = exc.diag.table_name
    return next((t.name for t in replica.tables.values() if t.pg_name == pg_name), None)


def _kind(exc: BaseException) -> str:
    if isinstance(exc, psycopg.errors.IntegrityError):
        return "constraint"
    if isinstance(exc, (psycopg.Error, BackendError)):
        return "backend"
    if isinstance(exc, (SourceError, apsw.Error)):
        return "source"
    if isinstance(exc, UnsupportedSchemaError):
        return "schema"
    if isinstance(exc, FidelityError):
        return "fidelity"
    return "internal"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, SqlmiteError):
        return str(exc)
    first = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__
