"""A migration's progress, kept in PostgreSQL next to the data it describes.

``sqlmite.migrations`` says which snapshot a migration reads and whether it completed;
``sqlmite.loaded_tables`` gets a row in the same transaction as each table's data. An
interrupted migration can resume only when its snapshot (the backup file) still exists: reading
anything else could mix two states of the source.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg


@dataclass(frozen=True)
class MigrationState:
    schema_name: str
    source: str
    snapshot: str | None
    status: str  # "loading" or "complete"

    @property
    def resumable(self) -> bool:
        return self.status == "loading" and self.snapshot is not None and Path(self.snapshot).is_file()


def migration_state(conn: psycopg.Connection[Any], pg_schema: str) -> MigrationState | None:
    if conn.execute("SELECT to_regclass('sqlmite.migrations')").fetchone()[0] is None:
        return None
    row = conn.execute("SELECT schema_name, source, snapshot, status FROM sqlmite.migrations WHERE schema_name = %s",
                       (pg_schema,)).fetchone()
    return MigrationState(*row) if row else None


def start_migration(conn: psycopg.Connection[Any], pg_schema: str, source: str, snapshot: str | None,
                    stat1: list[tuple[str | None, str | None, str | None]]) -> None:
    conn.execute("INSERT INTO sqlmite.migrations (schema_name, source, snapshot, status) VALUES (%s, %s, %s, 'loading')",
                 (pg_schema, source, snapshot))
    if stat1:
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO sqlmite.stat1 VALUES (%s, %s, %s, %s)", [(pg_schema, *row) for row in stat1])


def loaded_tables(conn: psycopg.Connection[Any], pg_schema: str) -> set[str]:
    rows = conn.execute("SELECT table_name FROM sqlmite.loaded_tables WHERE schema_name = %s", (pg_schema,))
    return {r[0] for r in rows}


def finish_migration(conn: psycopg.Connection[Any], pg_schema: str) -> None:
    conn.execute("UPDATE sqlmite.migrations SET status = 'complete', finished_at = now() WHERE schema_name = %s",
                 (pg_schema,))


def keys_done(conn: psycopg.Connection[Any], pg_schema: str) -> set[str]:
    """Tables whose keys, indexes and statistics an earlier, interrupted finish already made."""
    rows = conn.execute("SELECT table_name FROM sqlmite.loaded_tables WHERE schema_name = %s AND keys_done",
                        (pg_schema,))
    return {r[0] for r in rows}


def mark_keys_done(conn: psycopg.Connection[Any], pg_schema: str, table: str) -> None:
    conn.execute("UPDATE sqlmite.loaded_tables SET keys_done = true WHERE schema_name = %s AND table_name = %s",
                 (pg_schema, table))
