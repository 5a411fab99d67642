"""Reading a table's rows on either side, in the column order its ``TablePlan`` encodes.

One place builds these statements so that migrate, verify and export cannot disagree about
which columns a row has or in what order.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import apsw
import psycopg

from sqlmite.mapping.ddl import TablePlan
from sqlmite.mapping.expressions import quote_ident
from sqlmite.mapping.values import SqliteValue


def sqlite_select(plan: TablePlan) -> str:
    """``SELECT rowid?, "col", ... FROM "table"`` on the SQLite side."""
    return f"SELECT {source_list(plan)} FROM main.{quote_ident(plan.name)}"


def sqlite_insert(plan: TablePlan) -> str:
    """``INSERT INTO "table" (rowid?, "col", ...) VALUES (?, ...)`` to write rows back into SQLite."""
    marks = ", ".join("?" * len(plan.source_columns))
    return f"INSERT INTO main.{quote_ident(plan.name)} ({source_list(plan)}) VALUES ({marks})"


def source_list(plan: TablePlan) -> str:
    """The kept rowid unquoted (a quoted "rowid" would mean a column of that name), then the columns."""
    names = [quote_ident(c.name) for c in plan.columns]
    return ", ".join(([plan.rowid_name] if plan.keeps_rowid else []) + names)


def pg_table(pg_schema: str, plan: TablePlan) -> str:
    return f"{quote_ident(pg_schema)}.{quote_ident(plan.pg_name)}"


def pg_select(pg_schema: str, plan: TablePlan) -> str:
    """``SELECT <pg_columns> FROM schema.table`` on the PostgreSQL side (decode with ``plan.decode``)."""
    return f"SELECT {', '.join(quote_ident(c) for c in plan.pg_columns)} FROM {pg_table(pg_schema, plan)}"


def pg_copy(pg_schema: str, plan: TablePlan) -> str:
    """``COPY schema.table (<pg_columns>) FROM STDIN (FORMAT BINARY)`` for ``plan.encode`` rows."""
    cols = ", ".join(quote_ident(c) for c in plan.pg_columns)
    return f"COPY {pg_table(pg_schema, plan)} ({cols}) FROM STDIN (FORMAT BINARY)"


def pg_types(plan: TablePlan) -> list[str]:
    """Binary COPY needs each column's type: the native ones, bigint for a kept rowid, jsonb overflow."""
    return (["int8"] if plan.keeps_rowid else []) + [_copy_type(c.pg_type.base) for c in plan.columns] + ["jsonb"]


def _copy_type(base: str) -> str:
    return {"bigint": "int8", "double precision": "float8"}.get(base, base)


def sqlite_rows(conn: apsw.Connection, plan: TablePlan) -> Iterator[tuple[SqliteValue, ...]]:
    """Every row of a table as ``plan.source_columns``, from SQLite."""
    yield from conn.execute(sqlite_select(plan))


def pg_rows(conn: psycopg.Connection[Any], pg_schema: str, plan: TablePlan,
            batch: int = 10_000) -> Iterator[tuple[SqliteValue, ...]]:
    """Every row of a table decoded back to SQLite values, streamed with a server-side cursor."""
    with conn.cursor(name=f"sqlmite_rows_{plan.pg_name[:40]}", binary=True) as cur:
        cur.itersize = batch
        cur.execute(pg_select(pg_schema, plan))
        for row in cur:
            yield plan.decode(row)
