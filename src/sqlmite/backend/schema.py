"""Putting a schema plan into PostgreSQL, and finding out what is already there.

The plan comes from the schema mapper; this module only executes it (each statement audited)
inside the caller's transaction, so a failure leaves nothing half-made.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import psycopg

from sqlmite.backend.ddl import execute_ddl
from sqlmite.errors import SqlmiteError
from sqlmite.mapping.ddl import SchemaPlan
from sqlmite.mapping.expressions import quote_ident, quote_literal
from sqlmite.mapping.metadata import DatabaseInfo, metadata_statements, save_metadata
from sqlmite.sqlite.schema import SqliteSchema


class TargetNotEmptyError(SqlmiteError):
    """The PostgreSQL schema already holds sqlmite data (or other tables) and replace was not asked."""

    exit_code = 7


def install_metadata(conn: psycopg.Connection[Any]) -> None:
    """Create (or upgrade in place) the ``sqlmite`` metadata schema and its functions.

    Installed once per version: the schema's comment names a digest of the statements, and a
    match skips them. Replacing functions on every connect would also wait for any open
    transaction whose tables depend on them (a column DEFAULT calling ``sqlmite.next_rowid``)."""
    statements = metadata_statements()
    marker = "sqlmite metadata " + hashlib.sha256("\n".join(s.sql for s in statements).encode()).hexdigest()[:16]
    if _installed(conn) == marker:
        return
    # Two first runs at once would race on CREATE ... IF NOT EXISTS; serialise them.
    conn.execute("SELECT pg_advisory_xact_lock(hashtext('sqlmite.metadata'))")
    if _installed(conn) == marker:
        return
    for statement in statements:
        execute_ddl(conn, statement.sql, obj=statement.obj)
    conn.execute(f"COMMENT ON SCHEMA sqlmite IS {quote_literal(marker)}")


def _installed(conn: psycopg.Connection[Any]) -> str | None:
    row = conn.execute("SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = 'sqlmite'"
                       ).fetchone()
    return row[0] if row else None


def schema_in_use(conn: psycopg.Connection[Any], pg_schema: str) -> bool:
    """True when ``pg_schema`` exists and holds any relation."""
    row = conn.execute(
        "SELECT count(c.oid) FROM pg_namespace n LEFT JOIN pg_class c ON c.relnamespace = n.oid "
        "WHERE n.nspname = %s GROUP BY n.oid", (pg_schema,)
    ).fetchone()
    return bool(row and row[0])


def drop_schema(conn: psycopg.Connection[Any], pg_schema: str) -> None:
    execute_ddl(conn, f"DROP SCHEMA IF EXISTS {quote_ident(pg_schema)} CASCADE", obj=f"schema {pg_schema!r}")
    if conn.execute("SELECT to_regclass('sqlmite.databases')").fetchone()[0] is not None:
        conn.execute("DELETE FROM sqlmite.databases WHERE schema_name = %s", (pg_schema,))
        if conn.execute("SELECT to_regclass('sqlmite.sync_state')").fetchone()[0] is not None:
            conn.execute("DELETE FROM sqlmite.sync_state WHERE schema_name = %s", (pg_schema,))


def create_tables(conn: psycopg.Connection[Any], schema: SqliteSchema, plan: SchemaPlan, source: str | None,
                  *, replace: bool = False, sequence: list[tuple[str, int]] | None = None,
                  generation: uuid.UUID | None = None) -> DatabaseInfo:
    """Metadata, schema and empty tables (no keys or indexes yet: load data, then ``finish_tables``)."""
    if schema_in_use(conn, plan.pg_schema):
        if not replace:
            raise TargetNotEmptyError(
                f"PostgreSQL schema {plan.pg_schema!r} already holds tables; use --replace to drop and recreate it"
            )
        drop_schema(conn, plan.pg_schema)
    install_metadata(conn)
    for statement in plan.pre_data:
        execute_ddl(conn, statement.sql, obj=statement.obj)
    return save_metadata(conn, schema, plan, source, sequence, generation)


def finish_tables(conn: psycopg.Connection[Any], plan: SchemaPlan) -> None:
    """Primary keys, unique constraints, CHECKs, indexes and foreign keys, after the data."""
    for statement in plan.post_data:
        execute_ddl(conn, statement.sql, obj=statement.obj)


def install_schema(conn: psycopg.Connection[Any], schema: SqliteSchema, plan: SchemaPlan, source: str | None,
                   *, replace: bool = False) -> DatabaseInfo:
    """The whole schema with no data, in one transaction."""
    with conn.transaction():
        info = create_tables(conn, schema, plan, source, replace=replace)
        finish_tables(conn, plan)
    return info
