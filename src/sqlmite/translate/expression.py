"""Expressions of SQLite queries over mapped tables → PostgreSQL, with SQLite's meaning.

The schema-expression whitelist (``mapping/expressions.py``: literals, comparisons with affinity,
collations, ``IN``/``BETWEEN``/``IS``, a few scalar functions) extended with what only queries
have, and with the typing that keeps PostgreSQL's answers SQLite's (found by the differential
fuzzer): every operand's storage class is known before running (``sqlite_class``), conditions
used as values are SQLite's 1/0, comparisons and operators only where PostgreSQL behaves as
SQLite, anything else refused by name.

==========================  ==============================================  =========================================
SQLite                      PostgreSQL                                      why / limits
==========================  ==============================================  =========================================
t.col, alias.col, col       tN."col" (each FROM item gets an alias tN)      names may be truncated for PostgreSQL
a = b (as a value)          ((a = b)::int)                                  SQLite's conditions are integers
+ - * on integers           bigint arithmetic                               overflow: SQLite goes on in REAL; refused
/ and % on integers         / and mod() on bigint, NULLIF(b, 0)             truncating; NULL on division by zero
-x                          0 - x                                           SQLite's -0.0 is 0.0
LIKE, GLOB                  see patterns.py
substr(x, y [, z])          sqlmite.substr(x, y, z)                         SQLite's rules for 0 and negatives
replace(x, y, z)            replace(x, y, z)                                text and integers
max(a, b), min(a, b)        CASE WHEN a or b IS NULL THEN NULL ELSE ...     GREATEST/LEAST skip NULLs
aggregates, windows         see aggregates.py
CAST, hex, quote, round     see functions.py
json_extract, ->, ->>, ...  see json.py
date, time, datetime,       see datetime.py
  julianday, unixepoch,
  strftime
EXISTS, x IN (SELECT ...)   same (correlated allowed)                       IN: one storage class on both sides
(SELECT ...) as a value     same                                            one aggregate, or a WHERE pinning a unique key
IN (SELECT value FROM       IN (v1, v2, ...) as SQLite expands the JSON     EF Core's list parameters
  json_each('[...]'))
==========================  ==============================================  =========================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import apsw
from sqlglot import exp

from sqlmite.errors import UnsupportedSchemaError
from sqlmite.mapping.expressions import (
    COMPARISONS,
    ColumnRef,
    SchemaExpression,
    default_value,
    evaluator,
    quote_ident,
    sql_literal,
    sqlite_eval,
)
from sqlmite.mapping.values import AFFINITY_DEFAULT, PgType
from sqlmite.translate.aggregates import (
    aggregate_sql,
    has_aggregate,
)
from sqlmite.translate.catalog import Catalog, Derived, Mapped
from sqlmite.translate.classes import is_condition, is_constant, storage_class
from sqlmite.translate.datetime import datetime_sql
from sqlmite.translate.errors import NotSupportedError, from_sqlite
from sqlmite.translate.functions import (
    cast_sql,
    function_sql,
)
from sqlmite.translate.json import compare_sql as json_compare
from sqlmite.translate.json import in_list_sql as json_in_list
from sqlmite.translate.json import is_null_sql as json_is_null
from sqlmite.translate.json import json_sql, tagged_sql
from sqlmite.translate.json import varies as json_varies
from sqlmite.translate.params import literal_node
from sqlmite.translate.patterns import glob_sql, like_sql


@dataclass(frozen=True)
class Source:
    """One FROM item: the name SQLite qualifies its columns with, and its PostgreSQL alias."""

    name: str
    mapped: Mapped | Derived
    alias: str
    hidden: frozenset[str] = frozenset()  # USING / NATURAL columns: unqualified names mean the left's
    using_on: exp.Expression | None = None  # the ON condition USING / NATURAL stands for
    merged: tuple[tuple[str, str], ...] = ()  # RIGHT/FULL JOIN USING: (column, left source) read as coalesce


def refuse(exc: UnsupportedSchemaError) -> NotSupportedError:
    return NotSupportedError(f"{exc.problem} (see docs/driver.md for what runs today)")


class QueryExpression(SchemaExpression):
    """The schema whitelist over several tables, with aggregates; notes every column it reads."""

    def __init__(self, sources: list[Source], catalog: Catalog | None = None,
                 parent: QueryExpression | None = None) -> None:
        super().__init__("statement", {})
        self.sources = sources
        self.catalog = catalog
        self.parent = parent  # the enclosing query, whose columns a subquery may name (correlation)
        self.counter: list[int] = parent.counter if parent else [len(sources)]  # PostgreSQL aliases t0, t1, ...
        self.used: dict[str, tuple[Mapped, set[str]]] = parent.used if parent else {}
        self.aliases: dict[str, exp.Expression] = {}  # result aliases, which WHERE/GROUP BY/ORDER BY may name
        # common table expressions in scope (WITH), by lower-case name: (definition, column names)
        self.ctes: dict[str, tuple[exp.Expression, list[str]]] = dict(parent.ctes) if parent else {}

    def resolve(self, node: exp.Column) -> tuple[Source, ColumnRef, str]:
        name = node.name.lower()
        if node.table:
            found = [s for s in self.sources if s.name.lower() == node.table.lower()]
        else:
            found = [s for s in self.sources if name in {k.lower() for k in s.mapped.refs} and name not in s.hidden]
        if not found and self.parent is not None:
            return self.parent.resolve(node)
        if len(found) != 1:
            raise NotSupportedError(f"column {node.sql(dialect='sqlite')}")
        source = found[0]
        key = next((k for k in source.mapped.refs if k.lower() == name), None)
        if key is None:
            raise NotSupportedError(f"column {node.sql(dialect='sqlite')}")
        return source, source.mapped.refs[key], key

    def varies(self, node: exp.Expression) -> bool:
        """A value whose storage class is known only per row (json_extract, ->>, json_each's
        value): compared and returned tagged with its class (``json.py``)."""
        node = _strip(node)
        if isinstance(node, exp.Column):
            return self.resolve(node)[1].tagged
        return json_varies(node)

    def _column(self, node: exp.Column) -> ColumnRef:
        source, ref, key = self.resolve(node)
        if ref.tagged:
            raise NotSupportedError(f"{node.sql(dialect='sqlite')}: its storage class is known only per row; "
                                    "supported as a result column or compared, not inside an expression yet")
        if isinstance(source.mapped, Derived):  # typed by its inner query, whose columns are checked
            return ref
        if key.lower() in {c.name.lower() for c in source.mapped.plan.columns}:
            self.used.setdefault(source.alias, (source.mapped, set()))[1].add(
                next(c.name for c in source.mapped.plan.columns if c.name.lower() == key.lower()))
        return ref

    def with_aliases(self, node: exp.Expression) -> exp.Expression:
        """``node`` with result aliases replaced by their expressions, where no column has the name
        (SQLite lets WHERE, GROUP BY, HAVING and ORDER BY name a result column's alias)."""
        def swap(n: exp.Expression) -> exp.Expression:
            if isinstance(n, exp.Column) and not n.table and n.name.lower() in self.aliases and not any(
                    n.name.lower() in {k.lower() for k in s.mapped.refs} for s in self.sources):
                return self.aliases[n.name.lower()].copy()
            return n

        return node.copy().transform(swap)

    def _emit(self, node: exp.Expression) -> str:
        """A value: a condition used as a value is SQLite's integer 1/0 (NULL stays NULL)."""
        if is_condition(node):
            return f"(({self._condition_sql(node)})::int)"
        return self._value_sql(node)

    def _condition_sql(self, node: exp.Expression) -> str:
        """A boolean for PostgreSQL, from a node that is a condition in SQLite's grammar."""
        inner = node.unnest()
        if isinstance(inner, exp.Boolean):
            return "TRUE" if inner.this else "FALSE"
        _check_precedence(inner)
        if isinstance(inner, exp.Between):
            # SQLite's BETWEEN is x >= low AND x <= high, each comparison with its own affinity,
            # collation and storage-class rules, so it is checked and emitted as those two.
            x, low, high = inner.this, inner.args["low"], inner.args["high"]
            return (f"({self._compare(x, low, lambda a, b: f'{a} >= {b}')} AND "
                    f"{self._compare(x, high, lambda a, b: f'{a} <= {b}')})")
        if isinstance(inner, exp.In) and inner.expressions and not inner.args.get("query"):
            if self.varies(inner.this):
                return json_in_list(self, inner)
            self._check_in_list(inner)
        if isinstance(inner, exp.Is) and isinstance(inner.expression, exp.Null) and self.varies(inner.this):
            return json_is_null(self, inner.this)
        scalar = self._scalar(inner)
        # Parenthesized: the grouping SQLite parsed survives whatever surrounds it (a OR b under AND).
        return f"({scalar if scalar is not None else super()._emit(inner)})"

    def _check_in_list(self, node: exp.In) -> None:
        """``x IN (a, b)`` compares as SQLite only between values of one storage class (the list
        takes x's affinity first); PostgreSQL would convert integers and reals to one type."""
        left = self.sqlite_class(node.this)
        left_kind = self._comparable(node.this, exp.Null())  # x's own kind: the list does not convert x
        for item in node.expressions:
            right = self._number_class(item, node.this) or self.sqlite_class(_strip(item))
            kinds = {left_kind, self._comparable(item, node.this)} - {"NULL"}
            if {left, right} - {"NULL"} == {"INTEGER", "REAL"} or None in kinds or len(kinds) > 1:
                raise NotSupportedError(f"{node.sql(dialect='sqlite')}: IN over values of different or unknown storage "
                                        "classes (integers and reals, numbers and text): not supported yet")

    def _value_sql(self, node: exp.Expression) -> str:
        if node.args.get("negate") and not isinstance(node, exp.Like):
            raise NotSupportedError(f"{node.sql(dialect='sqlite')}: this negated form is not supported yet")
        if isinstance(node, exp.Column):
            source, _, _ = self.resolve(node)
            return f"{source.alias}.{quote_ident(self._column(node).pg_name)}"
        if isinstance(node, exp.DPipe):
            # Concatenation: SQLite renders integers as PostgreSQL does; reals and blobs differ.
            parts = [node.this, node.expression]
            if any(self.sqlite_class(p) not in ("TEXT", "INTEGER", "NULL") for p in parts):
                raise NotSupportedError(f"{node.sql(dialect='sqlite')}: || on values not known to be text or integers "
                                        "is not supported yet")
            return " || ".join(f"({self._emit(p)})::text" for p in parts)
        if isinstance(node, exp.Paren):
            return f"({self._emit(node.this)})"
        if isinstance(node, exp.Neg) and is_constant(node.this):
            # SQLite reads -9223372036854775808 as an integer; let it say what the literal is.
            return sql_literal(sqlite_eval(node.sql(dialect="sqlite")))
        if isinstance(node, (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod, exp.Neg)):
            return self._arithmetic(node)
        typed = (exp.Lower, exp.Upper, exp.Trim, exp.Length, exp.Abs, exp.Coalesce, exp.Min, exp.Max)
        if isinstance(node, typed) and self.sqlite_class(node) is None:
            raise NotSupportedError(f"{node.sql(dialect='sqlite')}: arguments of a storage class PostgreSQL types "
                                    "differently; not supported yet")
        if isinstance(node, exp.Abs) and self.sqlite_class(node.this) == "INTEGER":
            return f"abs(({self._emit(node.this)})::bigint)"  # abs of the smallest integer fails, as in SQLite
        if isinstance(node, exp.Abs) and self.sqlite_class(node.this) == "REAL":
            value = self._emit(node.this)  # SQLite negates only below zero: abs(-0.0) is -0.0
            return f"(CASE WHEN ({value}) < 0 THEN -({value}) ELSE ({value}) END)"
        if isinstance(node, (exp.Lower, exp.Upper, exp.Trim)) and self.sqlite_class(node.this) == "INTEGER":
            node = node.copy()
            node.set("this", exp.cast(node.this, "TEXT"))  # SQLite reads the integer as its text
        scalar = self._scalar(node)
        if scalar is not None:
            return scalar
        aggregate = aggregate_sql(self, node)
        return aggregate if aggregate is not None else super()._emit(node)

    def _arithmetic(self, node: exp.Expression) -> str:
        """SQLite's arithmetic: on integers 64-bit, on reals IEEE doubles; division by zero is NULL;
        ``-x`` is ``0 - x`` (so ``-0.0`` is ``0.0``).

        Where an integer operation overflows, SQLite redoes it in floating point and the value is a
        REAL from there on, which no static type can follow; bigint raises instead, and that error
        becomes NotSupportedError (answers.py), never a different number."""
        kind = self.sqlite_class(node)
        if kind is None:
            raise NotSupportedError(f"{node.sql(dialect='sqlite')}: arithmetic on values not known to be numbers of "
                                    "one kind; not supported yet")
        cast = "::bigint" if kind == "INTEGER" else "::float8"
        if isinstance(node, exp.Neg):
            return f"(0{cast} - ({self._emit(node.this)}){cast})"
        left, right = f"({self._emit(node.this)}){cast}", f"({self._emit(node.expression)}){cast}"
        if isinstance(node, exp.Div):  # bigint division truncates toward zero, as SQLite's
            return f"({left} / NULLIF({right}, 0))"
        if isinstance(node, exp.Mod):
            return f"mod({left}, NULLIF({right}, 0))"
        op = {exp.Add: "+", exp.Sub: "-", exp.Mul: "*"}[type(node)]
        return f"({left} {op} {right})"

    def _compare(self, left: exp.Expression, right: exp.Expression, render: Any) -> str:
        """Comparisons only between values whose classes PostgreSQL compares as SQLite does."""
        if self.varies(left) or self.varies(right):
            return json_compare(self, left, right, render)
        kinds = {self._comparable(left, right), self._comparable(right, left)} - {"NULL"}
        if None in kinds or len(kinds) > 1:
            raise NotSupportedError(f"comparing {left.sql(dialect='sqlite')} with {right.sql(dialect='sqlite')}: "
                                    "values of different storage classes; not supported yet")
        classes = [self._number_class(left, right), self._number_class(right, left)]
        if set(classes) == {"INTEGER", "REAL"}:
            # SQLite compares an integer with a real exactly; PostgreSQL would round the integer
            # to a double (9223372036854775807 = 9.223372036854776e18 would hold).
            if "DISTINCT" in render("a", "b"):
                raise NotSupportedError(f"{left.sql(dialect='sqlite')} IS {right.sql(dialect='sqlite')} between an "
                                        "integer and a real: not supported yet")
            integer, real = (left, right) if classes[0] == "INTEGER" else (right, left)
            cmp = (f"sqlmite.int_real_cmp(({self._number_operand(integer, real)})::bigint, "
                   f"({self._number_operand(real, integer)})::float8)")
            return render(cmp, "0") if integer is left else render("0", cmp)
        return super()._compare(left, right, render)

    def _number_operand(self, node: exp.Expression, other: exp.Expression) -> str:
        """An operand of an integer/real comparison: a literal facing a column as that column's
        affinity makes it (a column without one, e.g. a CTE's ``1.5``, leaves ``100`` an integer)."""
        inner, facing = _strip(node), _strip(other)
        literal = isinstance(inner, exp.Literal) or (isinstance(inner, exp.Neg) and isinstance(inner.this, exp.Literal))
        if literal and isinstance(facing, exp.Column):
            _, ref, _ = self.resolve(facing)
            return sql_literal(default_value(ref.affinity.value, inner.sql(dialect="sqlite")))
        return self._operand(node, other)

    def _number_class(self, node: exp.Expression, other: exp.Expression) -> str | None:
        """INTEGER or REAL as the comparison sees ``node`` (after the affinity of a column it faces)."""
        inner, facing = _strip(node), _strip(other)
        literal = isinstance(inner, exp.Literal) or (isinstance(inner, exp.Neg) and isinstance(inner.this, exp.Literal))
        if literal and isinstance(facing, exp.Column):
            _, ref, _ = self.resolve(facing)
            value = default_value(ref.affinity.value, inner.sql(dialect="sqlite"))
            return {int: "INTEGER", float: "REAL"}.get(type(value))
        return self.sqlite_class(inner)

    def _comparable(self, node: exp.Expression, other: exp.Expression) -> str | None:
        """The kind a comparison sees: a number, text or a blob (a literal facing a column takes
        the column's affinity first, as SQLite applies it)."""
        inner, facing = _strip(node), _strip(other)
        literal = isinstance(inner, exp.Literal) or (isinstance(inner, exp.Neg) and isinstance(inner.this, exp.Literal))
        if literal and isinstance(facing, exp.Column):
            _, ref, _ = self.resolve(facing)
            value = default_value(ref.affinity.value, inner.sql(dialect="sqlite"))
            return {int: "NUMBER", float: "NUMBER", str: "TEXT", bytes: "BLOB"}.get(type(value), "NULL")
        if isinstance(inner, exp.Column):
            _, ref, _ = self.resolve(inner)
            if ref.tagged:
                return None
            pg_type = ref.pg_type or AFFINITY_DEFAULT[ref.affinity]
            return {PgType.TEXT: "TEXT", PgType.BYTEA: "BLOB"}.get(pg_type, "NUMBER")
        kind = self.sqlite_class(inner)
        return {"INTEGER": "NUMBER", "REAL": "NUMBER"}.get(kind or "", kind)

    def _bool(self, node: exp.Expression) -> str:
        """A condition: SQLite's predicates as booleans, numbers by their truthiness (x <> 0)."""
        if is_condition(node):
            return self._condition_sql(node)
        if self.sqlite_class(node) in ("INTEGER", "REAL"):
            return f"(({self._emit(node)}) <> 0)"  # SQLite's truthiness of a number
        raise NotSupportedError(f"{node.sql(dialect='sqlite')} used as a condition: SQLite's truthiness of "
                                "text is not supported yet")

    def _text(self, node: exp.Expression, what: str) -> str:
        """An operand SQLite reads as text: text as is, an integer in its (identical) decimal form."""
        kind = self.sqlite_class(node)
        if kind == "TEXT" or kind == "NULL":
            return self._emit(node)
        if kind == "INTEGER":
            return f"({self._emit(node)})::text"
        raise NotSupportedError(f"{what} on a value that is not text or an integer: not supported yet")

    def _same_class(self, nodes: list[exp.Expression], what: str) -> None:
        classes = {self.sqlite_class(n) for n in nodes} - {"NULL"}
        if len(classes) > 1 or None in classes:
            raise NotSupportedError(f"{what} over values of different storage classes: not supported yet "
                                    "(PostgreSQL would convert them to one type)")

    def _subquery(self, node: exp.Expression) -> str:
        """A nested SELECT as PostgreSQL text."""
        inner = node.this if isinstance(node, exp.Subquery) else node
        if not isinstance(inner, exp.Select) or self.catalog is None:
            raise NotSupportedError(f"{node.sql(dialect='sqlite')}: only SELECT subqueries")
        # query.py assembles SELECTs from these expressions; a subquery is a SELECT again.
        from sqlmite.translate.query import select

        return select(inner, self.catalog, [], parent=self).sql

    def _one_row(self, inner: exp.Select) -> bool:
        """True when the WHERE pins every column of one unique key of the subquery's only table with
        ``=`` (at most one row, so SQLite's first row and PostgreSQL's only row are the same)."""
        source = inner.args.get("from_") or inner.args.get("from")
        if source is None or inner.args.get("joins") or inner.args.get("group") or not isinstance(source.this, exp.Table)\
                or self.catalog is None or inner.args.get("where") is None:
            return False
        table = source.this
        mapped = self.catalog.get(table.name)
        names = {table.alias_or_name.lower(), table.name.lower()}
        pinned = set()
        conjuncts = [inner.args["where"].this]
        while conjuncts:
            node = conjuncts.pop().unnest()
            if isinstance(node, exp.And):
                conjuncts += [node.this, node.expression]
            elif isinstance(node, exp.EQ):
                for side in (node.this, node.expression):
                    side = side.unnest()
                    if isinstance(side, exp.Column) and (not side.table or side.table.lower() in names) and \
                            side.name.lower() in {c.name.lower() for c in mapped.table.columns}:
                        pinned.add(side.name.lower())
        keys = [[mapped.table.rowid_alias]] if mapped.table.rowid_alias else []
        keys += [[k.column or "" for k in i.keys] for i in (*mapped.table.constraint_indexes, *mapped.unique_indexes)
                 if i.unique and all(k.column for k in i.keys) and not i.where]
        return any(key and {c.lower() for c in key} <= pinned for key in keys)

    def _nested_class(self, query: exp.Expression) -> str | None:
        """The storage class of a subquery's one result column."""
        inner = query.this if isinstance(query, exp.Subquery) else query
        if not isinstance(inner, exp.Select) or len(inner.expressions) != 1 or self.catalog is None:
            return None
        # query.py assembles SELECTs from these expressions; a subquery is a SELECT again.
        from sqlmite.translate.query import sources_of

        sources, _, _ = sources_of(inner, self.catalog, [self.counter[0]], self.ctes, self)
        result = inner.expressions[0]
        return QueryExpression(sources, self.catalog, self).sqlite_class(
            result.this if isinstance(result, exp.Alias) else result)

    def _nested_varies(self, query: exp.Expression) -> bool:
        """True when a subquery's one result has a class known only per row (json_each's value)."""
        inner = query.this if isinstance(query, exp.Subquery) else query
        if not isinstance(inner, exp.Select) or len(inner.expressions) != 1 or self.catalog is None:
            return False
        from sqlmite.translate.query import sources_of

        sources, _, _ = sources_of(inner, self.catalog, [self.counter[0]], self.ctes, self)
        return QueryExpression(sources, self.catalog, self).varies(inner.expressions[0].unnest())

    def _in_per_row(self, node: exp.In, query: exp.Expression) -> str:
        """``x IN (SELECT y ...)`` where x or y has a class known only per row: as SQLite decides
        it, one equality (``json.py``'s comparison) at a time: true if a row equals x; false if
        there is no row; NULL if x is NULL or a y is; else false."""
        inner = query.this if isinstance(query, exp.Subquery) else query
        assert isinstance(inner, exp.Select)
        if any(inner.args.get(k) for k in ("group", "having", "limit", "offset", "distinct", "order")) or \
                has_aggregate(inner.expressions[0]):
            raise NotSupportedError(f"{node.sql(dialect='sqlite')}: IN over a grouped, limited or distinct subquery of "
                                    "values whose class varies per row: not supported yet")
        result = inner.expressions[0].unnest()

        def variant(condition: exp.Expression | None) -> str:
            copy = inner.copy()
            copy.set("expressions", [exp.Literal.number(1)])
            if condition is not None:
                copy.set("where", exp.Where(this=exp.and_(copy.args["where"].this, condition)
                                            if copy.args.get("where") else condition))
            return self._subquery(copy)

        x = node.this
        x_null = f"({tagged_sql(self, _strip(x))}) IS NULL" if self.varies(x) else f"({self._emit(x)}) IS NULL"
        match = variant(exp.EQ(this=exp.paren(result.copy()), expression=exp.paren(x.copy())))
        null = variant(exp.Is(this=result.copy(), expression=exp.Null()))
        return (f"(CASE WHEN EXISTS ({match}) THEN TRUE WHEN NOT EXISTS ({variant(None)}) THEN FALSE "
                f"WHEN {x_null} OR EXISTS ({null}) THEN NULL ELSE FALSE END)")

    def _scalar(self, node: exp.Expression) -> str | None:
        timed = datetime_sql(self, node)
        if timed is not None:
            return timed
        called = function_sql(self, node)
        if called is not None:
            return called
        jsoned = json_sql(self, node)
        if jsoned is not None:
            return jsoned
        if isinstance(node, exp.Exists):
            return f"EXISTS ({self._subquery(node.this)})"
        if isinstance(node, exp.In) and node.args.get("query") is not None:
            expanded = _json_list(node.args["query"])
            if expanded is not None:  # EF Core's list parameter: IN (SELECT value FROM json_each('[...]'))
                if not expanded:
                    return "FALSE"
                listed = exp.In(this=node.this.copy(), expressions=[literal_node(v) for v in expanded])
                return super()._emit(listed)
            if self.varies(node.this) or self._nested_varies(node.args["query"]):
                return self._in_per_row(node, node.args["query"])
            kinds = {self.sqlite_class(node.this), self._nested_class(node.args["query"])} - {"NULL"}
            if len(kinds) != 1 or None in kinds or (self._collation(node.this) or "BINARY") != "BINARY":
                raise NotSupportedError(f"{node.sql(dialect='sqlite')}: IN (SELECT ...) over values of different or "
                                        "unknown storage classes, or under a collation other than BINARY: not "
                                        "supported yet")
            return f"({self._emit(node.this)}) IN ({self._subquery(node.args['query'])})"
        if isinstance(node, exp.Subquery):
            inner = node.this
            aggregate = (isinstance(inner, exp.Select) and not inner.args.get("group") and len(inner.expressions) == 1
                         and has_aggregate(inner.expressions[0]))
            if not aggregate and not (isinstance(inner, exp.Select) and self._one_row(inner)):
                # SQLite takes the first row of a scalar subquery; PostgreSQL refuses several.
                raise NotSupportedError("scalar subqueries that may return several rows: not supported yet")
            return f"({self._subquery(node)})"
        if isinstance(node, exp.Escape) and isinstance(node.this, exp.Like):
            return like_sql(self, node.this, node.expression)
        if isinstance(node, exp.Like):
            return like_sql(self, node, None)
        if isinstance(node, exp.Glob):
            return glob_sql(self, node)
        if isinstance(node, exp.Substring):
            if self.sqlite_class(node) is None:
                raise NotSupportedError(f"{node.sql(dialect='sqlite')}: substr() of anything but text or integers "
                                        "with integer positions is not supported yet")
            args = [self._text(node.this, "substr()"), f"({self._emit(node.args['start'])})::bigint"]
            if node.args.get("length") is not None:
                args.append(f"({self._emit(node.args['length'])})::bigint")
            return f"sqlmite.substr({', '.join(args)})"
        if isinstance(node, exp.Cast):
            return cast_sql(self, node)
        if isinstance(node, exp.Replace):
            parts = [node.this, node.expression, node.args["replacement"]]
            return f"replace({', '.join(self._text(p, 'replace()') for p in parts)})"
        if isinstance(node, exp.StrPosition) and not node.args.get("position"):
            return f"strpos({self._text(node.this, 'instr()')}, {self._text(node.args['substr'], 'instr()')})"
        if isinstance(node, exp.Typeof):
            kind = self.sqlite_class(node.this)
            if kind is None and self.varies(node.this):  # the class each row's tag names
                return (f"CASE ({tagged_sql(self, _strip(node.this))})->>0 WHEN 'i' THEN 'integer' WHEN 'r' THEN "
                        "'real' WHEN 't' THEN 'text' WHEN 'b' THEN 'blob' ELSE 'null' END")
            if kind is None:
                raise NotSupportedError("typeof() of a value whose storage class varies: not supported yet")
            return f"CASE WHEN ({self._emit(node.this)}) IS NULL THEN 'null' ELSE '{kind.lower()}' END"
        if isinstance(node, exp.Nullif):
            self._same_class([node.this, node.expression], "nullif()")
            return f"NULLIF({self._emit(node.this)}, {self._emit(node.expression)})"
        if isinstance(node, exp.If):
            branches = [node.args["true"], node.args.get("false") or exp.Null()]
            self._same_class(branches, "iif()")
            return (f"CASE WHEN {self._bool(node.this)} THEN {self._emit(branches[0])} "
                    f"ELSE {self._emit(branches[1])} END")
        if isinstance(node, exp.Case):
            return self._case(node)
        if isinstance(node, (exp.Greatest, exp.Least)):
            args = [node.this, *node.expressions]
            self._same_class(args, "scalar max()/min()")
            if any((self._collation(a) or "BINARY") != "BINARY" for a in args):
                raise NotSupportedError("scalar max()/min() under a collation other than BINARY: not supported yet")
            emitted = [self._emit(a) for a in args]
            fn = "GREATEST" if isinstance(node, exp.Greatest) else "LEAST"
            # SQLite's scalar max()/min() is NULL when any argument is; GREATEST/LEAST skip NULLs.
            nulls = " OR ".join(f"({e}) IS NULL" for e in emitted)
            return f"CASE WHEN {nulls} THEN NULL ELSE {fn}({', '.join(emitted)}) END"
        if isinstance(node, exp.Length) and self.sqlite_class(node.this) == "INTEGER":
            return f"length(({self._emit(node.this)})::text)"
        return None

    def _case(self, node: exp.Case) -> str:
        ifs = node.args.get("ifs") or []
        results = [i.args["true"] for i in ifs] + [node.args.get("default") or exp.Null()]
        self._same_class(results, "CASE")
        subject = node.this
        parts = []
        for branch in ifs:
            condition = branch.this
            if subject is not None:
                condition = exp.EQ(this=subject.copy(), expression=condition.copy())
            parts.append(f"WHEN {self._bool(condition)} THEN {self._emit(branch.args['true'])}")
        return f"CASE {' '.join(parts)} ELSE {self._emit(results[-1])} END"

    def sqlite_class(self, node: exp.Expression) -> str | None:
        """The one storage class (or NULL) every non-NULL value of ``node`` has, when it is known
        before running: what lets PostgreSQL's result type stand for SQLite's (``classes.py``)."""
        return storage_class(self, node)

    def value_of(self, node: exp.Expression) -> str:
        try:
            return self._emit(node)
        except UnsupportedSchemaError as exc:
            raise refuse(exc) from None

    def condition(self, node: exp.Expression) -> str:
        try:
            return self._bool(node)
        except UnsupportedSchemaError as exc:
            raise refuse(exc) from None


_LOOSE = (exp.Like, exp.Escape, exp.Glob, exp.Between, exp.In, exp.Is, *COMPARISONS, exp.NullSafeEQ,
          exp.NullSafeNEQ)


def _check_precedence(node: exp.Expression) -> None:
    """sqlglot and SQLite rank comparison operators differently (SQLite: LIKE, GLOB, IS, IN,
    BETWEEN and = below < <= > >=): an unparenthesized operator of that family directly under
    another could be regrouped, so it is refused rather than guessed."""
    if isinstance(node, exp.Not) and isinstance(node.this, _LOOSE):  # NOT BETWEEN / NOT IN / NOT LIKE
        node = node.this
    if isinstance(node, _LOOSE) and not isinstance(node, exp.Escape):
        for child in (node.this, node.args.get("expression")):
            if isinstance(child, exp.Not) and isinstance(child.this, _LOOSE):
                child = child.this
            if isinstance(child, _LOOSE):
                raise NotSupportedError(f"{node.sql(dialect='sqlite')}: comparison operators chained without "
                                        "parentheses; add them")


def _json_list(query: exp.Expression) -> list[Any] | None:
    """The values of ``SELECT value FROM json_each('<literal JSON>')`` (how EF Core sends a list
    parameter), computed by SQLite itself; None for any other subquery."""
    inner = query.this if isinstance(query, exp.Subquery) else query
    if not isinstance(inner, exp.Select) or len(inner.expressions) != 1:
        return None
    source = inner.args.get("from_") or inner.args.get("from")
    function = source.this.this if source is not None and isinstance(source.this, exp.Table) else None
    if not (isinstance(function, exp.Anonymous) and function.name.lower() == "json_each"
            and len(function.expressions) == 1 and isinstance(function.expressions[0], exp.Literal)):
        return None
    result = inner.expressions[0].unnest()
    if not (isinstance(result, exp.Column) and result.name.lower() == "value") or any(
            inner.args.get(k) for k in ("where", "joins", "group", "order", "limit")):
        return None
    try:
        rows = evaluator().execute("SELECT value FROM json_each(?)", (function.expressions[0].this,)).fetchall()
    except apsw.Error as exc:
        raise from_sqlite(exc) from None
    return [r[0] for r in rows]


def _strip(node: exp.Expression) -> exp.Expression:
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.Subquery):
        return node
    inner = node.unnest()
    return inner.this.unnest() if isinstance(inner, exp.Collate) else inner
