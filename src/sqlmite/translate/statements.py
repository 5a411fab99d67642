"""SQLite UPDATE and DELETE on mapped tables → PostgreSQL (SELECT: ``query.py``; INSERT: the
engine, with rows SQLite itself computed).

==============================================  ==============================================
SQLite                                          PostgreSQL
==============================================  ==============================================
UPDATE t SET c = constant, ... [WHERE p]        values given the column's affinity by SQLite,
                                                encoded by the data mapper (overflow kept right)
UPDATE t SET c = expression                     where the expression's storage class is known and
                                                the column's affinity stores it exactly (INTEGER
                                                into bigint/float8/text, REAL, TEXT, BLOB as is)
UPDATE t SET ... FROM s, ... [WHERE p]          the same with FROM (a row matched twice takes
                                                either match, in both)
DELETE FROM t [WHERE p]                         the same
... RETURNING r                                 RETURNING r, read as SELECT results are
==============================================  ==============================================

``p`` is any condition ``query.QueryExpression`` takes; anything else raises
``NotSupportedError`` naming what is missing, never SQL that could answer differently.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from psycopg.types.json import Jsonb
from sqlglot import exp

from sqlmite.mapping.expressions import is_constant, quote_ident, sqlite_eval
from sqlmite.mapping.values import PgType, RowCodec, SqliteValue
from sqlmite.translate.catalog import Catalog, Mapped
from sqlmite.translate.errors import NotSupportedError
from sqlmite.translate.expression import QueryExpression, Source
from sqlmite.translate.query import Output, returning, sources_of

PARAM = "\x00param\x00"  # where a bound value goes, until the SQL is final


@dataclass
class Change:
    """An UPDATE or DELETE: one PostgreSQL statement with its parameters."""

    mapped: Mapped
    sql: str
    params: list[Any]
    checked: dict[str, tuple[Mapped, set[str]]] = field(default_factory=dict)  # columns that must hold no strays
    outputs: list[Output] = field(default_factory=list)  # RETURNING's results


def change(node: exp.Update | exp.Delete, catalog: Catalog,
           coerce: Callable[[str, SqliteValue], SqliteValue], extra_sources: Sequence[Source] = ()) -> Change:
    """UPDATE with constant values, or DELETE; ``coerce(declared_type, value)`` applies affinity;
    ``extra_sources`` are names the statement may read besides its table (a trigger's NEW and OLD)."""
    for key in ("order", "limit", "with_", "with"):
        if node.args.get(key):
            raise NotSupportedError(f"{type(node).__name__.upper()} with {key.rstrip('_').upper()}: not supported yet")
    if isinstance(node, exp.Update) and node.args.get("alternative"):
        raise NotSupportedError(f"UPDATE OR {node.args['alternative']}: not supported yet")
    target = node.this
    if not isinstance(target, exp.Table):
        raise NotSupportedError("a statement on anything but one table: not supported yet")
    mapped = catalog.get(target.name)
    expr = QueryExpression([Source(target.alias or target.name, mapped, "t0"), *extra_sources], catalog)
    from_sql = ""
    source = node.args.get("from_") or node.args.get("from")
    if source is not None:  # UPDATE ... FROM: PostgreSQL's own form (a row joined twice: either match)
        if any(j.args.get("on") or j.args.get("using") for j in node.args.get("joins") or []):
            raise NotSupportedError("UPDATE ... FROM with JOIN ... ON: not supported yet")
        listed = exp.Select(from_=source.copy(), joins=[j.copy() for j in node.args.get("joins") or []])
        sources, text, inner_checked = sources_of(listed, catalog, [1], catalog.views)
        expr = QueryExpression([*expr.sources, *sources], catalog)
        expr.used.update(inner_checked)
        from_sql = f" FROM {text}"
    where = " WHERE " + expr.condition(node.args["where"].this) if node.args.get("where") else ""
    outputs = returning(node, expr)
    tail = " RETURNING " + ", ".join(s for o in outputs for s in o.sql) if outputs else ""
    if isinstance(node, exp.Delete):
        return Change(mapped, f"DELETE FROM {mapped.qtable} AS t0{where}{tail}", [], expr.used, outputs)
    sets, params, cleared, strays = [], [], [], {}
    plans = {c.name.lower(): c for c in mapped.plan.columns}
    declared = {c.name.lower(): c.declared_type for c in mapped.table.columns}
    for assignment in node.expressions:
        column, value = assignment.this, assignment.expression
        name = column.name.lower()
        if name not in plans:
            raise NotSupportedError(f"assigning {column.name!r}: only columns (not the rowid) so far")
        col = plans[name]
        if not _is_constant(value):
            sets.append(f"{quote_ident(col.pg_name)} = {computed_value(expr, value, col.pg_type, column.name)}")
            cleared.append(col.name)
            continue
        stored = coerce(declared[name], sqlite_eval(value.sql(dialect="sqlite")))
        codec = RowCodec(mapped.plan.name, [c for c in mapped.plan.codec.columns if c.name == col.name])
        native, overflow = codec.encode([stored])
        sets.append(f"{quote_ident(col.pg_name)} = {PARAM}")
        params.append(native)
        cleared.append(col.name)
        if overflow is not None:
            strays.update(overflow.obj)
    sets.append('"_sqlmite_overflow" = nullif((coalesce(t0."_sqlmite_overflow", \'{}\') - ' + PARAM + "::text[]) "
                "|| " + PARAM + "::jsonb, '{}')")
    params.extend([cleared, Jsonb(strays)])
    text = f"UPDATE {mapped.qtable} AS t0 SET {', '.join(sets)}{from_sql}{where}{tail}"
    # With parameters psycopg reads % as a placeholder: the translated SQL's own (LIKE 'a%') are doubled.
    return Change(mapped, text.replace("%", "%%").replace(PARAM, "%s"), params, expr.used, outputs)


# What storing a value of a known class in a column of a native type does, in PostgreSQL terms:
# the affinity conversions that are exact (an integer into REAL, into TEXT); others are refused.
_STORE = {
    (PgType.BIGINT, "INTEGER"): "{}",
    (PgType.NUMERIC, "INTEGER"): "({})::numeric",  # a NUMERIC column holds integers natively
    (PgType.DOUBLE, "REAL"): "{}",
    (PgType.DOUBLE, "INTEGER"): "({})::float8",
    (PgType.TEXT, "TEXT"): "{}",
    (PgType.TEXT, "INTEGER"): "({})::text",
    (PgType.BYTEA, "BLOB"): "{}",
}


def computed_value(expr: QueryExpression, value: exp.Expression, pg_type: PgType, name: str) -> str:
    """``SET col = <expression>``: allowed where the value's class is known and the column's
    affinity turns it into its native type exactly."""
    kind = expr.sqlite_class(value)
    if kind == "NULL":
        return "NULL"
    form = _STORE.get((pg_type, kind or ""))
    if form is None:
        raise NotSupportedError(f"SET {name} = {value.sql(dialect='sqlite')}: a {kind or 'mixed'} value stored in a "
                                f"{pg_type.base} column is not supported yet")
    return form.format(expr.value_of(value))


def _is_constant(node: exp.Expression) -> bool:
    """A value SQLite computes alone (the schema mapper's test, and no column or subquery)."""
    return is_constant(node) and node.find(exp.Column, exp.Select, exp.Subquery) is None
