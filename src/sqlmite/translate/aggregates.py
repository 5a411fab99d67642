"""Aggregate and window functions of SQLite queries → PostgreSQL, with SQLite's meaning.

==========================  ==============================================  =========================================
SQLite                      PostgreSQL                                      why / limits
==========================  ==============================================  =========================================
count(*), count(x)          same                                            count(DISTINCT x) only under BINARY
min(x), max(x)              same                                            BINARY only; not on blobs
sum(x) on integers          sum(x) (numeric; past 64 bits: SQLite's error)  an integer column's, one class throughout
sum(x) on reals             sqlmite.kbn_sum(x)                              SQLite's Kahan-Babuska-Neumaier summation
avg(x)                      sum(x)::float8 / NULLIF(count(x), 0)            SQLite's own steps: the sum, then divide
total(x)                    coalesce(sum as above ::float8, 0.0)
f(...) OVER (PARTITION BY   f(...) OVER (PARTITION BY ... ORDER BY ...      keys sort as ORDER BY does (NULLs first,
  ... ORDER BY ... frame)     frame)                                        collations folded); same default frame
row_number, rank,           same                                            integers
  dense_rank, ntile(n)
percent_rank, cume_dist     same                                            reals
lag, lead, first_value,     same                                            the value's class; a default of the same
  last_value, nth_value                                                     class; literal offsets
aggregates OVER (...)       the aggregate above, OVER (...)
group_concat(x [, s]        string_agg(x::text, s ORDER BY ...)             text or integers; ORDER BY required:
  ORDER BY ...)                                                             without, SQLite's scan order decides
json_group_array,           see json.py                                     ORDER BY required, as group_concat
  json_group_object
==========================  ==============================================  =========================================

Named windows (``WINDOW w AS``), ``FILTER``, and frame offsets that are not literals are refused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlglot import exp

from sqlmite.mapping.values import AFFINITY_DEFAULT, PgType
from sqlmite.translate.errors import NotSupportedError
from sqlmite.translate.json import aggregate_json

if TYPE_CHECKING:
    from sqlmite.translate.expression import QueryExpression

AGGREGATES = (exp.Count, exp.Sum, exp.Avg, exp.Min, exp.Max, exp.GroupConcat, exp.JSONArrayAgg, exp.JSONObjectAgg)
_RANKING = {exp.RowNumber: "row_number", exp.Rank: "rank", exp.DenseRank: "dense_rank", exp.Ntile: "ntile",
            exp.PercentRank: "percent_rank", exp.CumeDist: "cume_dist"}
_VALUE = {exp.Lag: "lag", exp.Lead: "lead", exp.FirstValue: "first_value", exp.LastValue: "last_value",
          exp.NthValue: "nth_value"}


def is_total(node: exp.Expression) -> bool:
    return isinstance(node, exp.Anonymous) and node.name.lower() == "total" and len(node.expressions) == 1


def has_aggregate(node: exp.Expression) -> bool:
    """True when ``node`` aggregates rows (an aggregate not inside a window function)."""
    return any(n.find_ancestor(exp.Window) is None for n in node.find_all(*AGGREGATES)) or any(
        is_total(n) and n.find_ancestor(exp.Window) is None for n in node.find_all(exp.Anonymous))


def aggregate_sql(expr: QueryExpression, node: exp.Expression, over: str = "") -> str | None:
    """An aggregate's PostgreSQL text (``over``: the window clause each aggregate call gets); None
    when ``node`` is no aggregate this module knows."""
    if isinstance(node, exp.Window):
        return window_sql(expr, node)
    if isinstance(node, exp.Count):
        argument = node.this
        if argument is None or isinstance(argument, exp.Star):
            return f"count(*){over}"
        if isinstance(argument, exp.Distinct):
            inner = argument.expressions[0]
            if (expr._collation(inner) or "BINARY") != "BINARY":
                raise NotSupportedError("count(DISTINCT ...) under a collation other than BINARY: not supported yet")
            if over:
                raise NotSupportedError("count(DISTINCT ...) as a window function: not in PostgreSQL")
            return f"count(DISTINCT {expr._emit(inner)})"
        return f"count({expr._emit(argument)}){over}"
    if isinstance(node, (exp.Min, exp.Max)) and not node.expressions:
        if (expr._collation(node.this) or "BINARY") != "BINARY":
            raise NotSupportedError("min()/max() of a column with a collation other than BINARY: not supported yet")
        return f"{'min' if isinstance(node, exp.Min) else 'max'}({expr._emit(node.this)}){over}"
    if isinstance(node, exp.GroupConcat):
        return _group_concat(expr, node, over)
    json_group = aggregate_json(expr, node, over, sort_key)
    if json_group is not None:
        return json_group
    total = is_total(node)
    if isinstance(node, (exp.Sum, exp.Avg)) or total:
        argument = node.expressions[0] if total else node.this
        if expr.sqlite_class(argument) == "REAL":
            # SQLite adds reals with Kahan-Babuska-Neumaier summation: sqlmite.kbn_sum does too.
            value = f"sqlmite.kbn_sum({expr._emit(argument)}){over}"
            if isinstance(node, exp.Sum):
                return value
            if isinstance(node, exp.Avg):
                return f"({value} / NULLIF(count({expr._emit(argument)}){over}, 0))"
            return f"coalesce({value}, 0.0)"
        if not _integers(expr, argument):
            raise NotSupportedError(f"{node.sql(dialect='sqlite')}: sums of values that are not all integers or all "
                                    "reals are not supported yet")
        value = expr._emit(argument)
        if isinstance(node, exp.Sum):
            return f"sum({value}){over}"
        if isinstance(node, exp.Avg):
            return f"((sum({value}){over})::float8 / NULLIF(count({value}){over}, 0))"
        return f"coalesce((sum({value}){over})::float8, 0.0)"
    return None


def aggregate_class(expr: QueryExpression, node: exp.Expression) -> str | None:
    """The storage class an aggregate or window function gives; None when unknown or not one."""
    if isinstance(node, exp.Window):
        return _window_class(expr, node)
    if isinstance(node, (exp.GroupConcat, exp.JSONArrayAgg, exp.JSONObjectAgg)):
        return "TEXT"
    if isinstance(node, exp.Count):
        return "INTEGER"
    if isinstance(node, (exp.Sum, exp.Min, exp.Max)) and not node.expressions:
        kind = expr.sqlite_class(node.this)
        return None if kind == "BLOB" else kind  # PostgreSQL has no min/max of bytea
    if isinstance(node, exp.Avg) or is_total(node):
        return "REAL"
    return None


def _group_concat(expr: QueryExpression, node: exp.GroupConcat, over: str) -> str:
    """group_concat(x [, sep] ORDER BY ...): string_agg in the order asked for. Without ORDER BY
    SQLite concatenates in its scan order, which is its query plan's, not a rule to follow."""
    inner = node.this
    if not isinstance(inner, exp.Order) or over:
        raise NotSupportedError(f"{node.sql(dialect='sqlite')}: group_concat without ORDER BY (SQLite's order is its "
                                "scan order) or as a window function: not supported yet")
    value = inner.this
    if isinstance(value, exp.Distinct) or expr.sqlite_class(value) not in ("TEXT", "INTEGER", "NULL"):
        raise NotSupportedError(f"{node.sql(dialect='sqlite')}: group_concat of values not always text or integers "
                                "(SQLite writes reals and blobs its own way), or DISTINCT: not supported yet")
    separator = node.args.get("separator")
    if separator is not None and not (isinstance(separator, exp.Literal) and separator.is_string):
        raise NotSupportedError(f"{node.sql(dialect='sqlite')}: only a literal separator")
    sep = "','" if separator is None else expr._emit(separator)
    keys = ", ".join(sort_key(expr, o.this, bool(o.args.get("desc"))) for o in inner.expressions)
    return f"string_agg(({expr._emit(value)})::text, {sep} ORDER BY {keys})"


def window_sql(expr: QueryExpression, node: exp.Window) -> str:
    function = node.this
    if isinstance(function, exp.Identifier) or node.args.get("alias") or not node.args.get("over"):
        raise NotSupportedError(f"{node.sql(dialect='sqlite')}: named windows (WINDOW ... AS) are not supported yet")
    if isinstance(function, exp.Filter):
        raise NotSupportedError("FILTER on a window function: not supported yet")
    over = []
    partition = node.args.get("partition_by") or []
    if partition:
        over.append("PARTITION BY " + ", ".join(_partition_key(expr, key) for key in partition))
    order = node.args.get("order")
    if order is not None:
        over.append("ORDER BY " + ", ".join(sort_key(expr, o.this, bool(o.args.get("desc"))) for o in order.expressions))
    spec = node.args.get("spec")
    if spec is not None:
        over.append(_frame(spec))
    window = f" OVER ({' '.join(over)})"
    name = _RANKING.get(type(function)) or _VALUE.get(type(function))
    if name is not None:
        return f"{name}({', '.join(_arguments(expr, function))}){window}"
    call = aggregate_sql(expr, function, window) if not isinstance(function, exp.Window) else None
    if not call:
        raise NotSupportedError(f"{function.sql(dialect='sqlite')} as a window function: not supported yet")
    return call


def sort_key(expr: QueryExpression, key: exp.Expression, desc: bool) -> str:
    """One ORDER BY term as SQLite sorts: one storage class, its collation, NULLs first ascending."""
    if expr.sqlite_class(key) is None:
        raise NotSupportedError(f"ORDER BY {key.sql(dialect='sqlite')}: values of more than one storage class sort "
                                "across classes in SQLite; not supported yet")
    collation = expr._collation(key)
    value = expr.value_of(key)
    if collation not in (None, "BINARY") and not isinstance(key.unnest(), exp.Collate):
        value = expr._fold(value, collation)
    return f"{value} {'DESC NULLS LAST' if desc else 'ASC NULLS FIRST'}"


def _partition_key(expr: QueryExpression, key: exp.Expression) -> str:
    if expr.sqlite_class(key) is None:
        raise NotSupportedError(f"PARTITION BY {key.sql(dialect='sqlite')}: values of more than one storage class; "
                                "not supported yet")
    collation = expr._collation(key)
    value = expr.value_of(key)
    return expr._fold(value, collation) if collation not in (None, "BINARY") else value


def _arguments(expr: QueryExpression, function: exp.Expression) -> list[str]:
    """A ranking or value function's arguments; counts and offsets must be integer literals."""
    if isinstance(function, (exp.Ntile, exp.NthValue)):
        count = function.this if isinstance(function, exp.Ntile) else function.args.get("offset")
        if not _positive_integer(count):
            raise NotSupportedError(f"{function.sql(dialect='sqlite')}: only a positive integer literal as its count")
        if isinstance(function, exp.Ntile):
            return [count.sql(dialect="postgres")]
        return [expr._emit(function.this), count.sql(dialect="postgres")]
    if isinstance(function, (exp.Lag, exp.Lead)):
        args = [expr._emit(function.this)]
        offset, default = function.args.get("offset"), function.args.get("default")
        if offset is not None:
            if not (isinstance(offset, exp.Literal) and not offset.is_string and offset.this.isdigit()):
                raise NotSupportedError(f"{function.sql(dialect='sqlite')}: only an integer literal as its offset")
            args.append(offset.this)
        if default is not None:
            classes = {expr.sqlite_class(function.this), expr.sqlite_class(default)} - {"NULL"}
            if len(classes) > 1 or None in classes:
                raise NotSupportedError(f"{function.sql(dialect='sqlite')}: a default of another storage class than "
                                        "the value's; not supported yet")
            args.append(expr._emit(default))
        return args
    if isinstance(function, (exp.FirstValue, exp.LastValue)):
        return [expr._emit(function.this)]
    return []


def _window_class(expr: QueryExpression, node: exp.Window) -> str | None:
    function = node.this
    if isinstance(function, (exp.RowNumber, exp.Rank, exp.DenseRank, exp.Ntile)):
        return "INTEGER"
    if isinstance(function, (exp.PercentRank, exp.CumeDist)):
        return "REAL"
    if isinstance(function, tuple(_VALUE)):
        return expr.sqlite_class(function.this)
    if isinstance(function, exp.Expression):
        return aggregate_class(expr, function)
    return None


def _frame(spec: exp.WindowSpec) -> str:
    """ROWS/RANGE/GROUPS frames mean the same in both; only literal offsets."""
    for side in ("start", "end"):
        bound = spec.args.get(side)
        if isinstance(bound, exp.Expression) and not (isinstance(bound, exp.Literal) and not bound.is_string):
            raise NotSupportedError(f"window frame bound {bound.sql(dialect='sqlite')}: only literals")
    if spec.args.get("exclude"):
        raise NotSupportedError("window frame EXCLUDE: not supported yet")
    return spec.sql(dialect="postgres")


def _positive_integer(node: exp.Expression | None) -> bool:
    return isinstance(node, exp.Literal) and not node.is_string and node.this.isdigit() and int(node.this) > 0


def _integers(expr: QueryExpression, node: exp.Expression) -> bool:
    """True for a column whose native values are all integers (the stray check does the rest)."""
    inner = node.unnest()
    if not isinstance(inner, exp.Column):
        return False
    ref = expr._column(inner)
    return (ref.pg_type or AFFINITY_DEFAULT[ref.affinity]) is PgType.BIGINT
