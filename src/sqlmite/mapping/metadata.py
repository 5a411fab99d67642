"""sqlmite's metadata schema in PostgreSQL: what it takes to rebuild the exact SQLite file.

``sqlmite.databases`` (one row per mapped SQLite database: its PostgreSQL schema, profile,
``user_version``, ``application_id``, journal mode, page size, encoding, a generation id),
``sqlmite.master`` (every ``sqlite_master`` row verbatim and in rowid order),
``sqlmite.columns`` (each column's declared type, PostgreSQL name and native type, NOT NULL
form and collation), ``sqlmite.tables`` (how each table is laid out in PostgreSQL),
``sqlmite.sequence`` (``sqlite_sequence``), ``sqlmite.stat1`` (``sqlite_stat1``, the planner's
statistics), ``sqlmite.migrations`` / ``sqlmite.loaded_tables`` (a migration's progress, so
an interrupted one resumes) and ``sqlmite.sync_state`` (the sync sidecar's high-water mark in the
file's change log, committed with each batch). Also ``sqlmite.next_rowid()``, SQLite's rowid rule as a default.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import psycopg

from sqlmite import __version__
from sqlmite.mapping.datetime_sql import DATETIME_FUNCTIONS
from sqlmite.mapping.ddl import ColumnPlan, SchemaPlan, Statement, TablePlan
from sqlmite.mapping.json_sql import JSON_FUNCTIONS
from sqlmite.mapping.printf_sql import PRINTF_FUNCTIONS
from sqlmite.mapping.scalar_sql import SCALAR_FUNCTIONS
from sqlmite.mapping.values import PgType
from sqlmite.sqlite.schema import MasterRow, SqliteSchema

METADATA_DDL: tuple[Statement, ...] = (
    Statement("CREATE SCHEMA IF NOT EXISTS sqlmite", "schema 'sqlmite'"),
    Statement("""CREATE TABLE IF NOT EXISTS sqlmite.databases (
  schema_name text PRIMARY KEY,
  source text,
  profile text NOT NULL,
  user_version bigint NOT NULL,
  application_id bigint NOT NULL,
  journal_mode text,
  page_size integer,
  encoding text,
  auto_vacuum integer,
  generation uuid NOT NULL,
  sqlmite_version text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
)""", "table sqlmite.databases"),
    Statement("""CREATE TABLE IF NOT EXISTS sqlmite.master (
  schema_name text NOT NULL REFERENCES sqlmite.databases ON DELETE CASCADE,
  seq integer NOT NULL,
  type text NOT NULL,
  name text NOT NULL,
  tbl_name text NOT NULL,
  sql text,
  PRIMARY KEY (schema_name, seq)
)""", "table sqlmite.master"),
    Statement("""CREATE TABLE IF NOT EXISTS sqlmite.tables (
  schema_name text NOT NULL REFERENCES sqlmite.databases ON DELETE CASCADE,
  table_name text NOT NULL,
  pg_name text NOT NULL,
  rowid_column text,
  keeps_rowid boolean NOT NULL,
  without_rowid boolean NOT NULL,
  primary_key text[] NOT NULL,
  position integer NOT NULL,
  PRIMARY KEY (schema_name, table_name)
)""", "table sqlmite.tables"),
    Statement("""CREATE TABLE IF NOT EXISTS sqlmite.columns (
  schema_name text NOT NULL,
  table_name text NOT NULL,
  cid integer NOT NULL,
  name text NOT NULL,
  declared_type text NOT NULL,
  pg_name text NOT NULL,
  pg_type text NOT NULL,
  not_null boolean NOT NULL,
  native_not_null boolean NOT NULL,
  collation_name text NOT NULL,
  PRIMARY KEY (schema_name, table_name, cid),
  FOREIGN KEY (schema_name, table_name) REFERENCES sqlmite.tables ON DELETE CASCADE
)""", "table sqlmite.columns"),
    Statement("""CREATE TABLE IF NOT EXISTS sqlmite.sequence (
  schema_name text NOT NULL REFERENCES sqlmite.databases ON DELETE CASCADE,
  name text NOT NULL,
  seq bigint NOT NULL,
  PRIMARY KEY (schema_name, name)
)""", "table sqlmite.sequence"),
    Statement("""CREATE TABLE IF NOT EXISTS sqlmite.stat1 (
  schema_name text NOT NULL REFERENCES sqlmite.databases ON DELETE CASCADE,
  tbl text,
  idx text,
  stat text
)""", "table sqlmite.stat1"),
    Statement("""CREATE TABLE IF NOT EXISTS sqlmite.migrations (
  schema_name text PRIMARY KEY REFERENCES sqlmite.databases ON DELETE CASCADE,
  source text NOT NULL,
  snapshot text,
  status text NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
)""", "table sqlmite.migrations"),
    Statement("""CREATE TABLE IF NOT EXISTS sqlmite.loaded_tables (
  schema_name text NOT NULL REFERENCES sqlmite.migrations ON DELETE CASCADE,
  table_name text NOT NULL,
  rows bigint NOT NULL,
  seconds double precision NOT NULL,
  keys_done boolean NOT NULL DEFAULT false,
  PRIMARY KEY (schema_name, table_name)
)""", "table sqlmite.loaded_tables"),
    Statement("ALTER TABLE sqlmite.loaded_tables ADD COLUMN IF NOT EXISTS keys_done boolean NOT NULL DEFAULT false",
              "table sqlmite.loaded_tables"),
    Statement("""CREATE TABLE IF NOT EXISTS sqlmite.sync_state (
  schema_name text PRIMARY KEY,
  log_id uuid NOT NULL,
  applied_seq bigint NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now(),
  batches bigint NOT NULL DEFAULT 0,
  rows bigint NOT NULL DEFAULT 0
)""", "table sqlmite.sync_state"),
    # What a trigger body changed, for total_changes(): added up over the statement's triggers.
    Statement("""CREATE OR REPLACE FUNCTION sqlmite.count_trigger_changes(changed bigint) RETURNS void
LANGUAGE sql AS $$
  SELECT set_config('sqlmite.trigger_changes',
                    (coalesce(nullif(current_setting('sqlmite.trigger_changes', true), ''), '0')::bigint
                     + changed)::text, true)
$$""", "function sqlmite.count_trigger_changes"),
    Statement("""CREATE OR REPLACE FUNCTION sqlmite.next_rowid(
  tbl regclass, col text, seq_schema text, seq_name text) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
-- SQLite's rowid rule: one past the largest rowid in the table, and under AUTOINCREMENT also
-- past the largest ever used (sqlite_sequence). A default computed this way never collides
-- with an explicitly inserted id.
DECLARE
  top bigint;
  used bigint;
BEGIN
  EXECUTE format('SELECT max(%I) FROM %s', col, tbl) INTO top;
  IF seq_name IS NOT NULL THEN
    SELECT s.seq INTO used FROM sqlmite.sequence s WHERE s.schema_name = seq_schema AND s.name = seq_name;
    top := greatest(top, used);
  END IF;
  IF top IS NULL THEN
    top := 0;
  END IF;
  IF top = 9223372036854775807 THEN
    RAISE EXCEPTION 'database or disk is full (no rowid left after 9223372036854775807 in %)', tbl
      USING ERRCODE = '54000';
  END IF;
  IF seq_name IS NOT NULL THEN
    INSERT INTO sqlmite.sequence AS s VALUES (seq_schema, seq_name, top + 1)
      ON CONFLICT (schema_name, name) DO UPDATE SET seq = excluded.seq;
  END IF;
  RETURN top + 1;
END
$$""", "function sqlmite.next_rowid"),
)


@dataclass(frozen=True)
class DatabaseInfo:
    """The ``sqlmite.databases`` row of one mapped SQLite database."""

    schema_name: str
    source: str | None
    profile: str
    user_version: int
    application_id: int
    journal_mode: str | None
    page_size: int | None
    encoding: str | None
    auto_vacuum: int | None
    generation: uuid.UUID


def metadata_statements() -> list[Statement]:
    return [*METADATA_DDL, *SCALAR_FUNCTIONS, *DATETIME_FUNCTIONS, *JSON_FUNCTIONS, *PRINTF_FUNCTIONS]


def save_metadata(conn: psycopg.Connection, schema: SqliteSchema, plan: SchemaPlan, source: str | None,
                  sequence: list[tuple[str, int]] | None = None, generation: uuid.UUID | None = None) -> DatabaseInfo:
    """Record everything needed to rebuild the SQLite schema, replacing earlier rows for the schema.

    Runs in the caller's transaction, so metadata and tables change together. ``generation``
    keeps a database's lineage when sync reloads it; by default a new lineage starts.
    """
    p = schema.pragmas
    info = DatabaseInfo(plan.pg_schema, source, plan.profile.value, int(p["user_version"]),
                        int(p["application_id"]), str(p["journal_mode"]), int(p["page_size"]),
                        str(p["encoding"]), int(p["auto_vacuum"]), generation or uuid.uuid4())
    with conn.cursor() as cur:
        cur.execute("DELETE FROM sqlmite.databases WHERE schema_name = %s", (plan.pg_schema,))
        cur.execute(
            "INSERT INTO sqlmite.databases (schema_name, source, profile, user_version, application_id, "
            "journal_mode, page_size, encoding, auto_vacuum, generation, sqlmite_version) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (info.schema_name, info.source, info.profile, info.user_version, info.application_id,
             info.journal_mode, info.page_size, info.encoding, info.auto_vacuum, info.generation, __version__),
        )
        cur.executemany(
            "INSERT INTO sqlmite.master (schema_name, seq, type, name, tbl_name, sql) VALUES (%s, %s, %s, %s, %s, %s)",
            [(plan.pg_schema, i, r.type, r.name, r.tbl_name, r.sql) for i, r in enumerate(schema.master)],
        )
        cur.executemany(
            "INSERT INTO sqlmite.tables VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            [(plan.pg_schema, t.name, t.pg_name, t.rowid_column, t.keeps_rowid, t.without_rowid, list(t.primary_key), i)
             for i, t in enumerate(plan.tables)],
        )
        cur.executemany(
            "INSERT INTO sqlmite.columns VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [(plan.pg_schema, t.name, cid, c.name, c.declared_type, c.pg_name, c.pg_type.value, c.not_null,
              c.native_not_null, c.collation) for t in plan.tables for cid, c in enumerate(t.columns)],
        )
        if sequence:
            cur.executemany("INSERT INTO sqlmite.sequence VALUES (%s, %s, %s)",
                            [(plan.pg_schema, name, seq) for name, seq in sequence])
    return info


def load_master(conn: psycopg.Connection, pg_schema: str) -> list[MasterRow]:
    """The saved ``sqlite_master`` rows of a database, in their original order."""
    rows = conn.execute(
        "SELECT type, name, tbl_name, sql FROM sqlmite.master WHERE schema_name = %s ORDER BY seq", (pg_schema,)
    ).fetchall()
    return [MasterRow(*r) for r in rows]


def load_database_info(conn: psycopg.Connection, pg_schema: str) -> DatabaseInfo | None:
    row = conn.execute(
        "SELECT schema_name, source, profile, user_version, application_id, journal_mode, page_size, encoding, "
        "auto_vacuum, generation FROM sqlmite.databases WHERE schema_name = %s", (pg_schema,)
    ).fetchone()
    return DatabaseInfo(*row) if row else None


def load_tables(conn: psycopg.Connection, pg_schema: str) -> list[TablePlan]:
    """The table plans a database was created with, as saved: what decoding its rows needs.

    Rebuilt from the metadata rather than re-planned, because the native types may have been
    chosen from data the planner no longer sees.
    """
    columns: dict[str, list[ColumnPlan]] = {}
    for table, name, declared, pg_name, pg_type, not_null, native_not_null, collation in conn.execute(
        "SELECT table_name, name, declared_type, pg_name, pg_type, not_null, native_not_null, collation_name "
        "FROM sqlmite.columns WHERE schema_name = %s ORDER BY table_name, cid", (pg_schema,)
    ):
        columns.setdefault(table, []).append(
            ColumnPlan(name, pg_name, declared, PgType(pg_type), not_null, native_not_null, collation))
    return [
        TablePlan(name, pg_name, columns.get(name, []), rowid_column, keeps_rowid, without_rowid, tuple(pk))
        for name, pg_name, rowid_column, keeps_rowid, without_rowid, pk in conn.execute(
            "SELECT table_name, pg_name, rowid_column, keeps_rowid, without_rowid, primary_key FROM sqlmite.tables "
            "WHERE schema_name = %s ORDER BY position", (pg_schema,)
        )
    ]
