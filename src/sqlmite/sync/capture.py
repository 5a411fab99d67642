"""Change capture inside the application's SQLite file: a change log and three triggers per table.

The triggers run in the application's own connection, with its SQLite build and settings, so
they are plain SQL: no function calls at all (valid with ``trusted_schema=OFF`` and on any
build), no ``pragma_*`` table-valued functions, nothing that can fail where the application's
own write would not. Each records *which* row changed (table name, rowid), never the row: the
sidecar reads the row's state from a snapshot when it applies the change. A table without rowid
records NULL, meaning "this whole table" (see docs/sync.md for what that costs).

The log's ``seq`` is an ``INTEGER PRIMARY KEY``: SQLite gives each new row max + 1, so the
order of ``seq`` is commit order. Trimming always keeps the newest applied row, so ``seq`` never
goes back to a number already applied.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import apsw

from sqlmite.errors import SourceError
from sqlmite.mapping.expressions import quote_ident, quote_literal
from sqlmite.sqlite.schema import SQLMITE_PREFIX
from sqlmite.sqlite.source import BUSY_TIMEOUT_MS, open_source

LOG_TABLE = "_sqlmite_changes"
STATE_TABLE = "_sqlmite_state"
TRIM_CHUNK = 5_000  # rows per trimming write: each one a short transaction
ROWID_NAMES = ("rowid", "_rowid_", "oid")

_LOG_DDL = f"CREATE TABLE IF NOT EXISTS {LOG_TABLE} (seq INTEGER PRIMARY KEY, tbl TEXT NOT NULL, rid INTEGER)"
_STATE_DDL = f"CREATE TABLE IF NOT EXISTS {STATE_TABLE} (key TEXT PRIMARY KEY, value TEXT NOT NULL)"


@dataclass(frozen=True)
class FileState:
    """What the file says about its lineage: set by sqlmite, kept in ``_sqlmite_state``."""

    log_id: uuid.UUID | None  # this change log's identity; a new log means a new sequence of seq
    generation: uuid.UUID | None  # the lineage shared with PostgreSQL (sqlmite.databases.generation)
    top: int  # the largest seq in the log (0 when empty)


def open_live(path: str | Path) -> apsw.Connection:
    """The sidecar's connection to the application's file: read-write (for the log), and never the
    one that checkpoints on close or removes the ``-wal`` file."""
    conn = open_source(path, readonly=False)
    conn.config(apsw.SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1)
    return conn


def trigger_sql(table: str, without_rowid: bool, columns: list[str]) -> dict[str, str]:
    """The three capture triggers of ``table``, by name, exactly as ``sqlite_master`` stores them."""
    taken = {c.lower() for c in columns}
    rowid = None if without_rowid else next((n for n in ROWID_NAMES if n not in taken), None)
    name = quote_literal(table)
    log = f"INSERT INTO {LOG_TABLE} (tbl, rid) VALUES ({name}, "
    if rowid is None:  # no rowid to name the row by: the table is copied whole
        bodies = {"i": f"{log}NULL);", "u": f"{log}NULL);", "d": f"{log}NULL);"}
    else:
        bodies = {
            "i": f"{log}NEW.{rowid});",
            # An UPDATE may change the rowid itself: then both rows changed.
            "u": f"{log}OLD.{rowid}); INSERT INTO {LOG_TABLE} (tbl, rid) SELECT {name}, NEW.{rowid} "
                 f"WHERE NEW.{rowid} IS NOT OLD.{rowid};",
            "d": f"{log}OLD.{rowid});",
        }
    events = {"i": "INSERT", "u": "UPDATE", "d": "DELETE"}
    out = {}
    for kind, body in bodies.items():
        trigger = f"{SQLMITE_PREFIX}{table}_{kind}"
        out[trigger] = (f"CREATE TRIGGER {quote_ident(trigger)} AFTER {events[kind]} ON {quote_ident(table)} "
                        f"BEGIN {body} END")
    return out


def _wanted_triggers(conn: apsw.Connection) -> dict[str, str]:
    wanted: dict[str, str] = {}
    for schema, name, kind, _, without_rowid, _ in conn.execute("PRAGMA main.table_list"):
        if schema != "main" or kind != "table" or name.lower().startswith(("sqlite_", SQLMITE_PREFIX)):
            continue  # virtual tables (kind "virtual") and shadow tables are skipped
        columns = [row[1] for row in conn.execute(f"PRAGMA main.table_xinfo({quote_ident(name)})")]
        wanted.update(trigger_sql(name, bool(without_rowid), columns))
    return wanted


def _have_triggers(conn: apsw.Connection) -> dict[str, str]:
    return {name: sql for name, sql in conn.execute(
        "SELECT name, sql FROM main.sqlite_master WHERE type = 'trigger' AND name LIKE ? ESCAPE '\\'",
        (SQLMITE_PREFIX.replace("_", "\\_") + "%",))}


def triggers_current(conn: apsw.Connection) -> bool:
    """True when the log exists and every table has exactly its capture triggers (a read only)."""
    return has_log(conn) and _have_triggers(conn) == _wanted_triggers(conn)


def install(conn: apsw.Connection) -> bool:
    """Create the log and state tables, and make the capture triggers match the current tables.

    Writes only when something is missing, in one short write transaction. Stale triggers (a
    table renamed: its trigger still names the old table) are replaced. Returns True when
    anything changed.
    """
    if triggers_current(conn):
        return False
    try:
        with write_transaction(conn):
            for ddl in (_LOG_DDL, _STATE_DDL):
                conn.execute(ddl)
            if _state(conn, "log_id") is None:
                conn.execute(f"INSERT INTO {STATE_TABLE} VALUES ('log_id', ?)", (str(uuid.uuid4()),))
            have, wanted = _have_triggers(conn), _wanted_triggers(conn)
            for name, sql in have.items():
                if wanted.get(name) != sql:
                    conn.execute(f"DROP TRIGGER {quote_ident(name)}")
            for name, sql in wanted.items():
                if have.get(name) != sql:
                    conn.execute(sql)
    except apsw.BusyError:
        raise SourceError("the application held its write lock too long to install change capture; "
                          "will retry") from None
    return True


@contextmanager
def write_transaction(conn: apsw.Connection) -> Iterator[None]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``: takes the write lock first (waiting at most the busy
    timeout), so the transaction cannot fail half-way on a lock it had to upgrade."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _state(conn: apsw.Connection, key: str) -> str | None:
    row = conn.execute(f"SELECT value FROM {STATE_TABLE} WHERE key = ?", (key,)).fetchone()
    return row[0] if row else None


def has_log(conn: apsw.Connection) -> bool:
    return conn.execute("SELECT count(*) FROM main.sqlite_master WHERE type = 'table' AND name IN (?, ?)",
                        (STATE_TABLE, LOG_TABLE)).fetchone()[0] == 2


def file_state(conn: apsw.Connection) -> FileState:
    """The file's lineage and log position (all None/0 for a file sync has never touched)."""
    if not has_log(conn):
        return FileState(None, None, 0)
    log_id, generation = _state(conn, "log_id"), _state(conn, "generation")
    top = conn.execute(f"SELECT coalesce(max(seq), 0) FROM {LOG_TABLE}").fetchone()[0]
    return FileState(uuid.UUID(log_id) if log_id else None, uuid.UUID(generation) if generation else None, top)


def set_state(conn: apsw.Connection, *, generation: uuid.UUID | None = None, log_id: uuid.UUID | None = None) -> None:
    """Record lineage facts in the file (one short write)."""
    with write_transaction(conn):
        for key, value in (("generation", generation), ("log_id", log_id)):
            if value is not None:
                conn.execute(f"INSERT OR REPLACE INTO {STATE_TABLE} VALUES (?, ?)", (key, str(value)))


def backlog(conn: apsw.Connection, applied: int) -> int:
    """Changes logged after ``applied`` (a row changed twice counts twice)."""
    return conn.execute(f"SELECT count(*) FROM {LOG_TABLE} WHERE seq > ?", (applied,)).fetchone()[0]


def trim(conn: apsw.Connection, applied: int) -> int:
    """Delete applied changes, keeping the newest applied one (so ``seq`` never restarts).

    Works in chunks, each its own short write transaction; gives up quietly when the
    application holds the write lock (the next trim catches up). Returns the rows removed.
    """
    removed = 0
    conn.set_busy_timeout(0)  # never wait for the application's lock: trimming can always wait
    try:
        while True:
            with write_transaction(conn):
                conn.execute(f"DELETE FROM {LOG_TABLE} WHERE seq IN (SELECT seq FROM {LOG_TABLE} WHERE seq < ? "
                             f"ORDER BY seq LIMIT {TRIM_CHUNK})", (applied,))
                n = conn.changes()
            removed += n
            if n < TRIM_CHUNK:
                return removed
    except apsw.BusyError:
        return removed
    finally:
        conn.set_busy_timeout(BUSY_TIMEOUT_MS)

