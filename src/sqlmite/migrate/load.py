"""Loading tables: binary COPY streamed from SQLite, one PostgreSQL transaction per table.

Each table is loaded in one transaction together with its row in ``sqlmite.loaded_tables``, so
an interrupted migration has, per table, either all its rows and the mark, or neither: running
the same command again skips the marked tables and never duplicates a row.

The hot loop stays in C as much as it can: SQLite evaluates, per row, whether any value is a
stray for its native type (``typeof`` tests in the SELECT, only for columns the scan found mixed),
and rows without strays go to psycopg's binary COPY as SQLite returned them. Only rows with
strays go through ``RowCodec``.
Memory stays flat: rows stream from the cursor into the COPY buffer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Set
from dataclasses import dataclass
from typing import Any

import apsw
import psycopg

from sqlmite.errors import FidelityError
from sqlmite.mapping.ddl import TablePlan
from sqlmite.mapping.expressions import quote_ident
from sqlmite.mapping.values import PgType
from sqlmite.migrate.rows import pg_copy, pg_table, pg_types, source_list

PROGRESS_EVERY = 20_000  # rows between progress reports

# Per native type: the SQLite condition under which a value needs the codec (a stray, or a REAL
# that numeric's binary dumper cannot take as a float).
_NEEDS_CODEC = {
    PgType.BIGINT: "typeof({c}) NOT IN ('integer', 'null')",
    PgType.DOUBLE: "typeof({c}) NOT IN ('real', 'null')",
    PgType.NUMERIC: "typeof({c}) NOT IN ('integer', 'null')",
    PgType.TEXT: "(typeof({c}) NOT IN ('text', 'null') OR instr({c}, char(0)) > 0)",
    PgType.BYTEA: "typeof({c}) NOT IN ('blob', 'null')",
}


def fast_select(plan: TablePlan, clean: Set[str] = frozenset()) -> str:
    """``sqlite_select`` plus a last column that is 1 when the row needs the codec.

    ``clean`` names columns the scan of this same snapshot proved to need no codec: they are
    not checked row by row (text holding U+0000 is the exception PostgreSQL reports itself).
    """
    checks = [_NEEDS_CODEC[c.pg_type].format(c=quote_ident(c.name)) for c in plan.columns if c.name not in clean]
    flag = " OR ".join(checks) if checks else "0"
    return f"SELECT {source_list(plan)}, ({flag}) FROM main.{quote_ident(plan.name)}"


def invalid_text(sqlite: apsw.Connection, plan: TablePlan) -> FidelityError:
    """Find the value SQLite stores as TEXT that is not UTF-8 (PostgreSQL cannot hold it as text)."""
    # In a WITHOUT ROWID table the key may be the invalid text itself: read text keys as blobs.
    key_expr = "rowid" if not plan.without_rowid else ", ".join(
        f"CASE WHEN typeof({quote_ident(c)}) = 'text' THEN CAST({quote_ident(c)} AS BLOB) ELSE {quote_ident(c)} END"
        for c in plan.primary_key)
    for col in plan.columns:
        q = quote_ident(col.name)
        query = (f"SELECT CAST({q} AS BLOB), {key_expr} FROM main.{quote_ident(plan.name)} "
                 f"WHERE typeof({q}) = 'text'")
        for raw, *key in sqlite.execute(query):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                key = [k.decode("utf-8", "backslashreplace") if isinstance(k, bytes) and plan.without_rowid else k
                       for k in key]
                return FidelityError(plan.name, col.name, key[0] if len(key) == 1 else tuple(key), "TEXT",
                                     f"is not valid UTF-8 (bytes {raw[:16].hex()}...)")
    return FidelityError(plan.name, "?", None, "TEXT", "is not valid UTF-8")


@dataclass(frozen=True)
class TableLoaded:
    name: str
    rows: int
    seconds: float


def load_table(sqlite: apsw.Connection, pg: psycopg.Connection[Any], pg_schema: str, plan: TablePlan,
               progress: Callable[[str, int], None] | None = None, clean: Set[str] = frozenset()) -> TableLoaded:
    """COPY one table from ``sqlite`` into its (empty) PostgreSQL table and mark it loaded, atomically."""
    try:
        return _load(sqlite, pg, pg_schema, plan, progress, clean)
    except psycopg.errors.CharacterNotInRepertoire:
        if not clean:
            raise
        # A text value holds U+0000 (the scan does not look inside text): check every row.
        return _load(sqlite, pg, pg_schema, plan, progress, frozenset())


def _load(sqlite: apsw.Connection, pg: psycopg.Connection[Any], pg_schema: str, plan: TablePlan,
          progress: Callable[[str, int], None] | None, clean: Set[str]) -> TableLoaded:
    started = time.monotonic()
    with pg.transaction():
        pg.execute(f"TRUNCATE {pg_table(pg_schema, plan)}")  # a stale partial load cannot survive
        rows = copy_rows(sqlite, pg, pg_schema, plan, clean=clean, progress=progress)
        seconds = time.monotonic() - started
        pg.execute(
            "INSERT INTO sqlmite.loaded_tables (schema_name, table_name, rows, seconds) VALUES (%s, %s, %s, %s)",
            (pg_schema, plan.name, rows, seconds),
        )
    if progress is not None:
        progress(plan.name, rows % PROGRESS_EVERY)
    return TableLoaded(plan.name, rows, seconds)


def copy_rows(sqlite: apsw.Connection, pg: psycopg.Connection[Any], pg_schema: str, plan: TablePlan, *,
              where: str = "", params: tuple[Any, ...] = (), clean: Set[str] = frozenset(),
              progress: Callable[[str, int], None] | None = None) -> int:
    """COPY the table's rows (those matching the SQLite condition ``where``, if given) into PostgreSQL."""
    rows = 0
    encode = plan.encode
    query = fast_select(plan, clean) + (f" WHERE {where}" if where else "")
    with pg.cursor().copy(pg_copy(pg_schema, plan)) as copy:
        copy.set_types(pg_types(plan))
        write = copy.write_row
        try:
            for row in sqlite.execute(query, params):
                if row[-1]:
                    write(encode(row[:-1]))
                else:
                    write((*row[:-1], None))
                rows += 1
                if progress is not None and rows % PROGRESS_EVERY == 0:
                    progress(plan.name, PROGRESS_EVERY)
        except UnicodeDecodeError:
            raise invalid_text(sqlite, plan) from None
    return rows
