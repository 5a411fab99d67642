"""Rebuilding a SQLite file's exact schema from saved ``sqlite_master`` rows.

The statements are replayed in their original order, so every ``sqlite_master`` row comes back
with the same type, name, table and SQL text, in the same order. Two rows cannot be replayed as
text: automatic indexes (SQLite makes them with their tables), ``sqlite_sequence`` (SQLite
makes it with the first AUTOINCREMENT table: a placeholder AUTOINCREMENT table is created at the
right moment and dropped at the end, so the row lands where it was) and the ``sqlite_stat``
tables (made by ``ANALYZE`` at the right moment).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import apsw

from sqlmite.errors import SqlmiteError
from sqlmite.sqlite.schema import MasterRow

SEQUENCE_SEED = "sqlmite_sequence_seed"
# Must be set before the first table exists; the rest are set afterwards.
PRE_SCHEMA_PRAGMAS = ("page_size", "auto_vacuum", "encoding")
POST_SCHEMA_PRAGMAS = ("user_version", "application_id")


def rebuild_schema(conn: apsw.Connection, master: Sequence[MasterRow], pragmas: Mapping[str, object]) -> None:
    """Create ``master``'s schema in the empty database ``conn``, then check it came back exactly."""
    if conn.execute("SELECT count(*) FROM sqlite_master").fetchall()[0][0]:
        raise SqlmiteError("the target SQLite database is not empty")
    for name in PRE_SCHEMA_PRAGMAS:
        if pragmas.get(name) is not None:
            value = pragmas[name]
            conn.execute(f"PRAGMA {name} = '{value}'" if name == "encoding" else f"PRAGMA {name} = {int(value)}")
    names = {row.name for row in master}
    with conn:
        for row in master:
            if row.name == "sqlite_sequence":
                conn.execute(f"CREATE TABLE {SEQUENCE_SEED}(x INTEGER PRIMARY KEY AUTOINCREMENT)")
            elif row.name == "sqlite_stat1":
                conn.execute("ANALYZE sqlite_schema")  # creates the statistics tables, empty
            elif row.name.startswith("sqlite_stat"):
                continue  # made together with sqlite_stat1
            elif row.sql is not None:
                conn.execute(row.sql)
        if "sqlite_sequence" in names:
            conn.execute(f"DROP TABLE {SEQUENCE_SEED}")
        if "sqlite_stat1" in names and "sqlite_stat4" not in names:
            # This SQLite keeps STAT4 tables; the source's did not.
            conn.execute("DROP TABLE IF EXISTS sqlite_stat4")
        for name in POST_SCHEMA_PRAGMAS:
            if pragmas.get(name) is not None:
                conn.execute(f"PRAGMA {name} = {int(pragmas[name])}")  # type: ignore[call-overload]
    rebuilt = [MasterRow(*r) for r in conn.execute(
        "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY rowid")]
    if rebuilt != list(master):
        first = next(i for i, (a, b) in enumerate(zip([*rebuilt, None], [*master, None])) if a != b)
        raise SqlmiteError(f"rebuilt schema differs from the saved one at sqlite_master row {first}")


def set_journal_mode(conn: apsw.Connection, mode: str | None) -> None:
    """Restore the source's journal mode (WAL is persistent in the file; others are per connection)."""
    if mode and mode.lower() in ("wal", "delete", "truncate", "persist"):
        conn.execute(f"PRAGMA journal_mode = {mode}").fetchall()
