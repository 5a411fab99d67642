"""Which SQLite storage class a query expression's values have, known before running.

PostgreSQL reads a computed result back by its type, so a result, an operand of a comparison or
an argument of a function runs only when every non-NULL value it can take has one storage class
(``INTEGER``, ``REAL``, ``TEXT``, ``BLOB``, or ``NULL`` for a value always NULL); ``None`` means
it varies per row or is not known, and the caller refuses or tags it (``json.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlglot import exp

from sqlmite.mapping.expressions import PREDICATES, sqlite_eval
from sqlmite.mapping.values import AFFINITY_DEFAULT, PgType
from sqlmite.translate.aggregates import aggregate_class, is_total
from sqlmite.translate.datetime import datetime_class
from sqlmite.translate.functions import cast_class, function_class
from sqlmite.translate.json import call_of as json_call
from sqlmite.translate.json import json_class

if TYPE_CHECKING:
    from sqlmite.translate.expression import QueryExpression


def storage_class(expr: QueryExpression, node: exp.Expression) -> str | None:
    """The one storage class (or NULL) every non-NULL value of ``node`` has, or None."""
    if isinstance(node, exp.Subquery):
        return expr._nested_class(node)
    node = node.unnest()
    if is_condition(node):
        return "INTEGER"
    if isinstance(node, exp.Null):
        return "NULL"
    timed = datetime_class(node) or function_class(node)
    if timed is not None:
        return timed
    if json_call(node) is not None:
        return json_class(node)
    if is_constant(node):
        value = sqlite_eval(node.sql(dialect="sqlite"))
        return {int: "INTEGER", float: "REAL", str: "TEXT", bytes: "BLOB"}.get(type(value), "NULL")
    if isinstance(node, exp.HexString):
        return "BLOB"
    if isinstance(node, exp.Column):
        _, ref, _ = expr.resolve(node)
        if ref.tagged:
            return None
        pg_type = ref.pg_type or AFFINITY_DEFAULT[ref.affinity]
        # A NUMERIC column holds integers and reals natively: its class varies (None).
        return {PgType.BIGINT: "INTEGER", PgType.DOUBLE: "REAL", PgType.TEXT: "TEXT",
                PgType.BYTEA: "BLOB"}.get(pg_type)
    if isinstance(node, (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Neg, exp.Abs)):
        classes = {expr.sqlite_class(c) for c in (node.this, node.args.get("expression")) if c is not None}
        classes.discard("NULL")
        if classes <= {"INTEGER"}:
            return "INTEGER"
        return "REAL" if classes <= {"INTEGER", "REAL"} else None
    if isinstance(node, exp.Mod):
        # SQLite's % on reals converts them to integers first; only integers here.
        both = {expr.sqlite_class(node.this), expr.sqlite_class(node.expression)} - {"NULL"}
        return "INTEGER" if both <= {"INTEGER"} else None
    if isinstance(node, (exp.Count, exp.Window)):
        return aggregate_class(expr, node)
    if isinstance(node, (exp.Lower, exp.Upper, exp.Trim)):
        return "TEXT" if expr.sqlite_class(node.this) in ("TEXT", "INTEGER", "NULL") else None
    if isinstance(node, exp.Length):
        return "INTEGER" if expr.sqlite_class(node.this) in ("TEXT", "INTEGER", "BLOB", "NULL") else None
    if isinstance(node, (exp.DPipe, exp.Typeof)):
        return "TEXT"
    if isinstance(node, exp.StrPosition):
        return "INTEGER"
    if isinstance(node, exp.Cast):
        return cast_class(expr, node)
    if isinstance(node, exp.Replace):
        parts = [node.this, node.expression, node.args["replacement"]]
        return "TEXT" if all(expr.sqlite_class(p) in ("TEXT", "INTEGER", "NULL") for p in parts) else None
    if isinstance(node, exp.Substring):
        positions = [node.args.get("start"), node.args.get("length")]
        ok = expr.sqlite_class(node.this) in ("TEXT", "INTEGER", "NULL") and all(
            p is None or expr.sqlite_class(p) in ("INTEGER", "NULL") for p in positions)
        return "TEXT" if ok else None
    if isinstance(node, (exp.Nullif, exp.Greatest, exp.Least)):
        return expr.sqlite_class(node.this)
    if isinstance(node, exp.If):
        classes = {expr.sqlite_class(b) for b in (node.args["true"], node.args.get("false") or exp.Null())}
        classes.discard("NULL")
        return classes.pop() if len(classes) == 1 else ("NULL" if not classes else None)
    if isinstance(node, exp.Case):
        branches = [i.args["true"] for i in node.args.get("ifs") or []] + [node.args.get("default") or exp.Null()]
        classes = {expr.sqlite_class(b) for b in branches} - {"NULL"}
        return classes.pop() if len(classes) == 1 else ("NULL" if not classes else None)
    if isinstance(node, (exp.Sum, exp.Min, exp.Max, exp.Avg, exp.GroupConcat, exp.JSONArrayAgg,
                         exp.JSONObjectAgg)) or is_total(node):
        return aggregate_class(expr, node)
    if isinstance(node, exp.Exists) or (isinstance(node, exp.In) and node.args.get("query") is not None):
        return "INTEGER"
    if isinstance(node, exp.Subquery):
        return expr._nested_class(node)
    if isinstance(node, exp.Coalesce):
        classes = {expr.sqlite_class(a) for a in (node.this, *node.expressions)} - {"NULL"}
        return classes.pop() if len(classes) == 1 and None not in classes else None
    return None


_CONDITIONS = (*PREDICATES, exp.Like, exp.Escape, exp.Glob, exp.Exists)


def is_condition(node: exp.Expression) -> bool:
    """SQLite's boolean-valued operators (PostgreSQL computes them as booleans)."""
    inner = node.unnest()
    return isinstance(inner, _CONDITIONS) or (isinstance(inner, exp.In) and inner.args.get("query") is not None)


def is_constant(node: exp.Expression) -> bool:
    """A literal, a blob literal, or signs on one: SQLite computes its value once (``- X'41'`` is 0)."""
    inner = node.unnest()
    return isinstance(inner, (exp.Literal, exp.HexString, exp.Null)) or (
        isinstance(inner, (exp.Neg, exp.Paren)) and is_constant(inner.this))
