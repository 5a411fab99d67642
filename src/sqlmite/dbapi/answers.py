"""How PostgreSQL's answers become SQLite's: result values by their storage class, and errors as
SQLite reports them (``UNIQUE constraint failed: t.c`` with ``SQLITE_CONSTRAINT_UNIQUE``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import errors as pgerrors

from sqlmite.mapping.sqlstates import (
    NOT_SUPPORTED_STATE,
    RAISE_STATE,
    ROLLBACK_STATE,
    SQLITE_ERROR_STATE,
)
from sqlmite.mapping.values import PgType, SqliteValue, decode_stray, from_native
from sqlmite.translate.catalog import Catalog
from sqlmite.translate.errors import IntegrityError, NotSupportedError, OperationalError
from sqlmite.translate.query import Output


def reader(output: Output) -> tuple[Callable[[Sequence[Any]], SqliteValue], int]:
    """How to read one result column back from its PostgreSQL select-list entries."""
    if output.column is not None:
        mapped, name = output.column
        pg_type = next(c.pg_type for c in mapped.plan.columns if c.name == name)

        def column(values: Sequence[Any]) -> SqliteValue:
            native, stray = values[0], values[1] if len(values) > 1 else None
            if stray is not None:
                return decode_stray(stray)
            return from_native(pg_type, native) if native is not None else None

        return column, len(output.sql)
    if output.tagged:
        return (lambda values: None if values[0] is None else decode_stray(values[0])), 1
    if output.integer_sum:
        def total(values: Sequence[Any]) -> SqliteValue:
            value = computed(values[0])
            if isinstance(value, float):  # past 64 bits: SQLite's sum() of integers fails
                raise OperationalError("integer overflow")
            return value

        return total, 1
    return (lambda values: computed(values[0])), len(output.sql)


def row_reader(outputs: Sequence[Output]) -> Callable[[Sequence[Any]], tuple[SqliteValue, ...]]:
    """One function decoding a whole PostgreSQL row into SQLite's values, built once per query:
    a repeated SELECT's time goes mostly here and to psycopg."""
    parts: list[Callable[[Sequence[Any]], SqliteValue]] = []
    at = 0
    for output in outputs:
        read, width = reader(output)
        if output.column is not None and width == 2:
            mapped, name = output.column
            pg_type = next(c.pg_type for c in mapped.plan.columns if c.name == name)
            if pg_type in (PgType.BIGINT, PgType.DOUBLE, PgType.TEXT):  # psycopg gives SQLite's value
                parts.append(lambda row, a=at: row[a] if row[a + 1] is None else decode_stray(row[a + 1]))
                at += 2
                continue
        parts.append(lambda row, a=at, b=at + width, read=read: read(row[a:b]))
        at += width
    return lambda row: tuple([part(row) for part in parts])


def pg_value(value: Any) -> Any:
    """A bound value for PostgreSQL as the sentinel it replaces was typed (booleans are integers)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    return value


def computed(value: Any) -> SqliteValue:
    """A value PostgreSQL computed, as the SQLite storage class it stands for."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, Decimal):  # sum() of integers is numeric in PostgreSQL
        if value == value.to_integral_value() and -2**63 <= value < 2**63:
            return int(value)
        return float(value)
    if isinstance(value, memoryview):
        return bytes(value)
    return value


def sqlite_error(exc: psycopg.Error, catalog: Catalog) -> Exception:
    """A PostgreSQL error as the exception SQLite would raise (messages and codes as SQLite's), or
    NotSupportedError where PostgreSQL could not compute what SQLite would."""
    diag = exc.diag
    mapped = next((m for m in catalog.tables.values() if m.plan.pg_name == diag.table_name), None)
    table = mapped.table if mapped else None
    name = diag.constraint_name or ""
    if isinstance(exc, pgerrors.UniqueViolation) and table is not None:
        columns = _unique_columns(table, name)
        code = "SQLITE_CONSTRAINT_PRIMARYKEY" if name.endswith(("_sqlmite_pk", "_sqlmite_rowid")) else \
            "SQLITE_CONSTRAINT_UNIQUE"
        return IntegrityError("UNIQUE constraint failed: " + ", ".join(f"{table.name}.{c}" for c in columns), code)
    if isinstance(exc, pgerrors.NotNullViolation) and table is not None:
        column = next((c.name for c in mapped.plan.columns if c.pg_name == diag.column_name), diag.column_name)
        return IntegrityError(f"NOT NULL constraint failed: {table.name}.{column}", "SQLITE_CONSTRAINT_NOTNULL")
    if isinstance(exc, pgerrors.CheckViolation) and table is not None and "_sqlmite_nn" in name:
        column = table.columns[int(name.rsplit("_sqlmite_nn", 1)[1])].name
        return IntegrityError(f"NOT NULL constraint failed: {table.name}.{column}", "SQLITE_CONSTRAINT_NOTNULL")
    if isinstance(exc, pgerrors.CheckViolation) and table is not None:
        return IntegrityError(f"CHECK constraint failed: {_check_text(table, name)}", "SQLITE_CONSTRAINT_CHECK")
    if isinstance(exc, pgerrors.ForeignKeyViolation):
        return IntegrityError("FOREIGN KEY constraint failed", "SQLITE_CONSTRAINT_FOREIGNKEY")
    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    state = exc.sqlstate or ""
    if state == NOT_SUPPORTED_STATE:  # e.g. a trigger would have read a stray value
        return NotSupportedError(diag.message_primary or first)
    if state == SQLITE_ERROR_STATE:  # SQLite fails here too, with this message
        return OperationalError(diag.message_primary or first)
    if state in (RAISE_STATE, ROLLBACK_STATE):  # a trigger's RAISE(ABORT|ROLLBACK, message)
        error = IntegrityError(diag.message_primary or "", "SQLITE_CONSTRAINT_TRIGGER")
        error.ends_transaction = state == ROLLBACK_STATE  # type: ignore[attr-defined]
        return error
    if state == "22003" and "bigint out of range" in first:
        return NotSupportedError("integer overflow: SQLite would go on computing in floating point (REAL) here, "
                                 "which sqlmite cannot follow; not supported")
    if state.startswith("42") or state in ("22003", "22012", "22P02", "22P05", "2201E", "22023", "22021"):
        # PostgreSQL could not type or compute the translation as SQLite would (a value out of
        # range, a grouping SQLite allows): refuse rather than answer differently.
        return NotSupportedError(f"PostgreSQL cannot evaluate this statement as SQLite does: {first}")
    return OperationalError(f"PostgreSQL: {first}")


def _unique_columns(table: Any, constraint: str) -> list[str]:
    if constraint.endswith("_sqlmite_pk"):
        return [table.rowid_alias] if table.rowid_alias else list(table.primary_key)
    if "_sqlmite_uq" in constraint:
        n = int(constraint.rsplit("_sqlmite_uq", 1)[1])
        index = [i for i in table.constraint_indexes if i.origin == "u"][n - 1]
        return [k.column or "?" for k in index.keys]
    return list(table.primary_key) or ["rowid"]


def _check_text(table: Any, constraint: str) -> str:
    if "_sqlmite_ck" in constraint:
        check = table.checks[int(constraint.rsplit("_sqlmite_ck", 1)[1]) - 1]
        return check.name or check.expression
    return constraint
