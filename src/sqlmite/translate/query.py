"""SQLite SELECT statements over mapped tables → PostgreSQL (expressions: ``expression.py``).

A SELECT may join tables (``JOIN ... ON``, ``LEFT JOIN``, comma/``CROSS``), filter, group,
``HAVING``, ``DISTINCT`` (BINARY columns), order (by expressions, result aliases or positions;
``ASC NULLS FIRST`` / ``DESC NULLS LAST`` as SQLite) and limit; subqueries get fresh aliases from
one counter. Result columns that are bare columns come back through the data mapper (their
overflow included), others by the type PostgreSQL computed, which the expression compiler made
sure stands for one SQLite storage class. Every column an *expression* uses must hold one
storage class; the engine checks that at run time (``Query.checked``) and refuses otherwise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlglot import exp

from sqlmite.mapping.affinity import Affinity
from sqlmite.mapping.expressions import (
    ColumnRef,
    quote_ident,
    quote_literal,
)
from sqlmite.mapping.values import PgType
from sqlmite.translate.aggregates import has_aggregate, sort_key
from sqlmite.translate.catalog import Catalog, Derived, Mapped
from sqlmite.translate.errors import NotSupportedError
from sqlmite.translate.expression import QueryExpression, Source
from sqlmite.translate.json import table_function, tagged_sql

# Names FROM may use besides tables: views and CTEs (their SELECT and column names), and inside a
# recursive CTE's step, the CTE itself.
Scope = dict[str, "tuple[exp.Expression, list[str]] | Derived"]


@dataclass
class Output:
    """One result column: PostgreSQL's select-list entries, and how to read the value back."""

    sql: list[str]
    column: tuple[Mapped, str] | None = None  # a bare column: decoded by its table's codec
    integer_sum: bool = False  # sum() of integers: SQLite fails past 64 bits, numeric does not
    tagged: bool = False  # a value whose class varies per row (json_extract), tagged as overflow values are


@dataclass
class Query:
    sql: str
    outputs: list[Output]
    checked: dict[str, tuple[Mapped, set[str]]] = field(default_factory=dict)  # columns that must hold no strays
    kinds: list[str | None] | None = None  # per result, its storage class (results read as values)
    # Results read as values (a subquery's): names, storage classes, affinities and collations.
    names: list[str] = field(default_factory=list)
    classes: list[str | None] = field(default_factory=list)
    affinities: list[Affinity] = field(default_factory=list)
    collations: list[str] = field(default_factory=list)


def sources_of(node: exp.Select, catalog: Catalog, counter: list[int],
               ctes: Scope | None = None, parent: QueryExpression | None = None,
               ) -> tuple[list[Source], str, dict[str, tuple[Mapped, set[str]]]]:
    """The FROM clause: its items with fresh PostgreSQL aliases tN (``counter`` is shared by a
    statement's subqueries), its text, and the columns its subqueries need free of strays.
    ``ctes``: the common table expressions in scope, which take precedence over tables."""
    source = node.args.get("from_") or node.args.get("from")
    if source is None:  # SELECT 1 (in a subquery, or a recursive CTE's first arm): no FROM
        return [], "", {}
    ctes = ctes or {}
    items = [(source.this, None)] + [(j.this, j) for j in node.args.get("joins") or []]
    sources, parts = [], []
    checked: dict[str, tuple[Mapped, set[str]]] = {}
    for item, join in items:
        alias = f"t{counter[0]}"
        counter[0] += 1
        named = isinstance(item, exp.Table) and not item.args.get("db") and item.name.lower() in ctes
        function = item.this if isinstance(item, exp.Table) and isinstance(item.this, exp.Anonymous) else None
        if function is not None and function.name.lower() in ("json_each", "json_tree"):
            # A table-valued function reads the FROM items before it (and the enclosing query's).
            scope_expr = QueryExpression(list(sources), catalog, parent)
            derived, columns = table_function(scope_expr, function, item.alias or function.name.lower())
            sources.append(Source(derived.name, derived, alias))
            text = f"{derived.qtable} AS {alias}({columns})"
        elif named and isinstance(ctes[item.name.lower()], Derived):  # a recursive CTE's own name, in its step
            derived = ctes[item.name.lower()]
            assert isinstance(derived, Derived)
            sources.append(Source(item.alias or item.name, derived, alias))
            columns = ", ".join(f'"c{i}"' for i in range(len(derived.names)))
            text = f"{derived.qtable} AS {alias}({columns})"
        elif isinstance(item, exp.Table) and not named and item.name.lower() == "sqlite_sequence":
            sources.append(Source(item.alias or item.name, _sequence(catalog), alias))
            text = f"{_sequence(catalog).qtable} AS {alias}(\"c0\", \"c1\")"
        elif isinstance(item, exp.Subquery) or named:
            inner, names = (item.this, []) if isinstance(item, exp.Subquery) else ctes[item.name.lower()]
            if named and _recursive(inner, item.name):
                derived, inner_checked = recursive_table(inner, names, item.name, catalog, counter, ctes)
                derived = Derived(item.alias or item.name, derived.qtable, derived.refs, derived.names)
            else:
                derived, inner_checked = derived_table(inner, names, item.alias or item.name, catalog, counter, ctes)
            checked.update(inner_checked)
            sources.append(Source(derived.name, derived, alias))
            columns = ", ".join(f'"c{i}"' for i in range(len(derived.names)))
            text = f"{derived.qtable} AS {alias}({columns})"
        elif isinstance(item, exp.Table) and not item.args.get("db"):
            mapped = catalog.get(item.name)
            sources.append(Source(item.alias or item.name, mapped, alias))
            text = f"{mapped.qtable} AS {alias}"
        else:
            raise NotSupportedError(f"FROM {item.sql(dialect='sqlite')}: only tables and subqueries so far")
        if join is None:
            parts.append(text)
            continue
        side, kind = (join.args.get("side") or "").upper(), (join.args.get("kind") or "").upper()
        if side not in ("", "LEFT", "RIGHT", "FULL") or kind not in ("", "INNER", "CROSS", "OUTER"):
            raise NotSupportedError(f"{side} {kind} JOIN: not supported yet".replace("  ", " "))
        if join.args.get("using") or join.args.get("method"):
            sources[-1] = _using(join, sources[:-1], sources[-1], side)
        joined = join.args.get("on") or sources[-1].using_on is not None
        parts.append((side or "INNER") + " JOIN " + text if joined else "CROSS JOIN " + text)
    return sources, " ".join(parts), checked


def _using(join: exp.Join, left: list[Source], right: Source, side: str) -> Source:
    """JOIN ... USING (c, ...) / NATURAL JOIN as SQLite reads them: ON left.c = right.c with the
    leftmost visible ``c``, and the right table's ``c`` hidden from ``*`` and unqualified names.
    After a RIGHT or FULL JOIN, an unqualified ``c`` (and ``*``'s) is ``coalesce(left.c, right.c)``,
    as SQLite merges the two (``merged``)."""
    if join.args.get("method", "").upper() not in ("", "NATURAL"):
        raise NotSupportedError(f"{join.sql(dialect='sqlite')}: this join form is not supported yet")
    right_names = _names(right)
    if join.args.get("using"):
        columns = [c.name for c in join.args["using"]]
    else:
        visible = {n.lower() for s in left for n in _names(s) if n.lower() not in s.hidden}
        columns = [n for n in right_names if n.lower() in visible]
    conditions, merged = [], []
    for column in columns:
        owner = next((s for s in left if column.lower() in {n.lower() for n in _names(s)} - s.hidden), None)
        if owner is None or column.lower() not in {n.lower() for n in right_names}:
            raise NotSupportedError(f"{join.sql(dialect='sqlite')}: column {column!r} is not on both sides")
        if any(column.lower() == c for s in left for c, _ in s.merged):
            raise NotSupportedError(f"{join.sql(dialect='sqlite')}: USING a column an earlier RIGHT or FULL JOIN "
                                    "merged: not supported yet")
        conditions.append(exp.EQ(this=exp.column(column, table=owner.name, quoted=True),
                                 expression=exp.column(column, table=right.name, quoted=True)))
        merged.append((column.lower(), owner.name))
    on = exp.and_(*conditions) if conditions else exp.true()
    return Source(right.name, right.mapped, right.alias, frozenset(c.lower() for c in columns), on,
                  tuple(merged) if side in ("RIGHT", "FULL") else ())


def _names(source: Source) -> list[str]:
    mapped = source.mapped
    return mapped.names if isinstance(mapped, Derived) else [c.name for c in mapped.plan.columns]


def _sequence(catalog: Catalog) -> Derived:
    """``sqlite_sequence(name, seq)``, which PostgreSQL keeps as ``sqlmite.sequence`` rows."""
    sql = (f"(SELECT name, seq FROM sqlmite.sequence WHERE schema_name = {quote_literal(catalog.pg_schema)} "
           "ORDER BY name)")
    refs = {"name": ColumnRef("c0", Affinity.BLOB, "BINARY", PgType.TEXT),
            "seq": ColumnRef("c1", Affinity.BLOB, "BINARY", PgType.BIGINT)}
    return Derived("sqlite_sequence", sql, refs, ["name", "seq"])


_PG_OF_CLASS = {"INTEGER": PgType.BIGINT, "REAL": PgType.DOUBLE, "TEXT": PgType.TEXT, "BLOB": PgType.BYTEA,
                "NULL": PgType.TEXT}


def derived_table(inner: exp.Expression, names: list[str], name: str, catalog: Catalog, counter: list[int],
                  ctes: Scope) -> tuple[Derived, dict[str, tuple[Mapped, set[str]]]]:
    """A subquery in FROM (or a CTE) as a source whose columns each hold one storage class."""
    if isinstance(inner, exp.SetOperation):
        query = compound(inner, catalog, ctes)
    elif isinstance(inner, exp.Select):
        query = select(inner, catalog, [], as_values=True, counter=counter, ctes=ctes)
    else:
        raise NotSupportedError(f"{inner.sql(dialect='sqlite')[:60]}: only a SELECT as a subquery in FROM so far")
    names = names or query.names
    refs: dict[str, ColumnRef] = {}
    for i, (column, kind) in enumerate(zip(names, query.classes, strict=True)):
        if kind is None:
            raise NotSupportedError(f"column {column!r} of {name or 'a subquery'}: its values may be of more than one "
                                    "storage class; not supported yet")
        refs.setdefault(column, ColumnRef(f"c{i}", query.affinities[i], query.collations[i], _PG_OF_CLASS[kind]))
    return Derived(name, f"({query.sql})", refs, names), query.checked


def _recursive(inner: exp.Expression, name: str) -> bool:
    """A CTE whose compound SELECT reads the CTE itself after its first arm."""
    return isinstance(inner, exp.Union) and any(
        t.name.lower() == name.lower() and not t.args.get("db") for t in inner.expression.find_all(exp.Table))


def recursive_table(inner: exp.Expression, names: list[str], name: str, catalog: Catalog, counter: list[int],
                    ctes: Scope) -> tuple[Derived, dict[str, tuple[Mapped, set[str]]]]:
    """``WITH RECURSIVE c AS (first UNION [ALL] step)``: PostgreSQL's WITH RECURSIVE in a subquery.

    Both compute the same set of rows (the first arm, then the step over the rows just added,
    until none is); SQLite's queue order only shows without an outer ORDER BY, and a step with
    ORDER BY or LIMIT (which make SQLite's queue a priority queue or stop it) is refused. The
    columns take the first arm's storage classes (cast to their PostgreSQL types there, so that
    ``1`` starts a bigint and not an int4), and the step must give the same ones."""
    assert isinstance(inner, exp.Union)
    first_arm, step_arm = inner.this, inner.expression
    text = inner.sql(dialect="sqlite")[:80]
    if not isinstance(first_arm, exp.Select) or not isinstance(step_arm, exp.Select) or _recursive(
            exp.Union(this=exp.Select(), expression=first_arm), name):
        raise NotSupportedError(f"{text}: a recursive CTE of several first or recursive arms: not supported yet")
    if any(step_arm.args.get(k) for k in ("order", "limit", "offset")) or inner.args.get("order") \
            or inner.args.get("limit"):
        raise NotSupportedError(f"{text}: ORDER BY or LIMIT in a recursive CTE (SQLite's queue order): not "
                                "supported yet")
    first = select(first_arm, catalog, [], as_values=True, counter=counter, ctes=ctes)
    names = names or first.names
    if len(names) != len(first.classes):
        raise NotSupportedError(f"{text}: {len(names)} column names for {len(first.classes)} values")
    refs: dict[str, ColumnRef] = {}
    for i, (column, kind) in enumerate(zip(names, first.classes, strict=True)):
        if kind is None or kind == "NULL":
            raise NotSupportedError(f"column {column!r} of {name}: its values may be of more than one storage class; "
                                    "not supported yet")
        refs.setdefault(column, ColumnRef(f"c{i}", first.affinities[i], first.collations[i], _PG_OF_CLASS[kind]))
    own = f"r{counter[0]}"
    counter[0] += 1
    inner_ctes = dict(ctes)
    inner_ctes[name.lower()] = Derived(name, quote_ident(own), refs, names)
    step = select(step_arm, catalog, [], as_values=True, counter=counter, ctes=inner_ctes)
    for column, kind, then in zip(names, first.classes, step.classes, strict=True):
        if then not in (kind, "NULL"):
            raise NotSupportedError(f"column {column!r} of {name}: the recursive step gives another storage class "
                                    "than the first arm; not supported yet")
    distinct = inner.args.get("distinct")
    if distinct and any(c != "BINARY" for c in first.collations):
        raise NotSupportedError(f"{text}: UNION over a column with a collation other than BINARY: not supported yet")
    columns = ", ".join(f'"c{i}"' for i in range(len(names)))
    typed = ", ".join(f'"c{i}"::{_PG_OF_CLASS[k].base}' for i, k in enumerate(first.classes))
    sql = (f"(WITH RECURSIVE {quote_ident(own)}({columns}) AS (SELECT {typed} FROM ({first.sql}) AS s({columns}) "
           f"{'UNION' if distinct else 'UNION ALL'} {step.sql}) SELECT * FROM {quote_ident(own)})")
    return Derived(name, sql, refs, names), {**first.checked, **step.checked}


def compound(node: exp.SetOperation, catalog: Catalog, ctes: Scope | None = None) -> Query:
    """UNION [ALL], INTERSECT, EXCEPT: each arm a SELECT whose results are values; a column's
    storage class must be the same in every arm (PostgreSQL would unify the types), and its
    collation BINARY (SQLite compares with the left arm's). SQLite's compound operators all bind
    alike, left to right; PostgreSQL's INTERSECT binds tighter: every nested arm is parenthesized.
    As a subquery in FROM (``ctes``: the names in scope there), its columns are named by the left
    arm and keep an affinity only where every arm gives the same one."""
    checked: dict[str, tuple[Mapped, set[str]]] = {}
    classes: list[set[str]] = []
    typed: list[Query] = []

    def arm(n: exp.Expression) -> str:
        inner = n.this if isinstance(n, exp.Subquery) else n
        if isinstance(inner, exp.SetOperation):
            return f"({part(inner)})"
        if not isinstance(inner, exp.Select):
            raise NotSupportedError(f"{n.sql(dialect='sqlite')}: only SELECTs in a compound")
        query = select(inner, catalog, [], as_values=True, ctes=ctes)
        typed.append(query)
        for mapped, columns in query.checked.values():  # each arm has its own aliases t0, t1, ...
            checked[f"arm{len(checked)}"] = (mapped, set(columns))
        kinds = query.kinds or []
        if classes and len(kinds) != len(classes):
            raise NotSupportedError("compound SELECT arms with different numbers of columns")
        for i, kind in enumerate(kinds):
            if len(classes) <= i:
                classes.append(set())
            classes[i].add(kind)
        return f"({query.sql})"

    def part(n: exp.SetOperation) -> str:
        op = {exp.Union: "UNION", exp.Intersect: "INTERSECT", exp.Except: "EXCEPT"}[type(n)]
        if not n.args.get("distinct") and op != "UNION":
            raise NotSupportedError(f"{op} ALL: not in SQLite")
        op += "" if n.args.get("distinct") else " ALL"
        return f"{arm(n.this)} {op} {arm(n.expression)}"

    for key in ("with_", "with"):
        if node.args.get(key):
            raise NotSupportedError(f"compound SELECT with {key.rstrip('_').upper()}: not supported yet")
    sql = part(node)
    for i, kinds in enumerate(classes):
        kinds.discard("NULL")
        if len(kinds) > 1 or None in kinds or "COLLATED" in kinds:
            raise NotSupportedError(f"compound SELECT column {i + 1}: values of different storage classes or a "
                                    "collation other than BINARY across the arms; not supported yet")
    order = node.args.get("order")
    if order is not None:
        first = node
        while isinstance(first, exp.SetOperation):
            first = first.this.this if isinstance(first.this, exp.Subquery) else first.this
        names = [e.alias_or_name.lower() for e in first.expressions]
        keys = []
        for ordered in order.expressions:
            key = ordered.this
            if isinstance(key, exp.Literal) and not key.is_string and key.this.isdigit():
                position = int(key.this)
            elif isinstance(key, exp.Column) and not key.table and key.name.lower() in names:
                position = names.index(key.name.lower()) + 1
            else:
                raise NotSupportedError(f"ORDER BY {key.sql(dialect='sqlite')} of a compound SELECT: only result "
                                        "columns")
            keys.append(f"{position} {'DESC NULLS LAST' if ordered.args.get('desc') else 'ASC NULLS FIRST'}")
        sql += " ORDER BY " + ", ".join(keys)
    limit, offset = _integer(node.args.get("limit"), "LIMIT"), _integer(node.args.get("offset"), "OFFSET")
    if limit is not None and limit >= 0:
        sql += f" LIMIT {limit}"
    if offset is not None and offset > 0:
        sql += f" OFFSET {offset}"
    query = Query(sql, [Output(["?"]) for _ in classes], checked)
    query.names = typed[0].names
    query.classes = [next(iter(k), "NULL") for k in classes]
    query.collations = ["BINARY"] * len(classes)
    query.affinities = [a[0] if len(set(a)) == 1 else Affinity.BLOB for a in zip(*(q.affinities for q in typed))]
    return query


def select(node: exp.Select, catalog: Catalog, origins: list[tuple[str | None, str | None]],
           parent: QueryExpression | None = None, as_values: bool = False, counter: list[int] | None = None,
           ctes: Scope | None = None, scan_keys: str | None = None) -> Query:
    """``origins``: per result column, the (table, column) SQLite says it comes straight from
    (none for a subquery, whose results are values); ``parent``: the enclosing query (a
    correlated subquery); ``counter`` and ``ctes``: a FROM subquery's, from its statement."""
    if node.args.get("windows"):
        node = _named_windows(node)
    if node.args.get("qualify"):
        raise NotSupportedError("SELECT with QUALIFY: not in SQLite")
    counter = parent.counter if parent else (counter if counter is not None else [0])
    # Names FROM may use besides tables: views, then common table expressions (which hide them).
    scope = dict(parent.ctes) if parent else dict(ctes if ctes is not None else catalog.views)
    with_ = node.args.get("with_") or node.args.get("with")
    if with_ is not None:
        if with_.args.get("recursive") and any(n.find_ancestor(exp.CTE) is None for n in node.find_all(exp.Limit)):
            # SQLite evaluates a recursive CTE lazily: a LIMIT outside stops even an endless one,
            # where PostgreSQL may compute it whole first (for a join, say) and never finish.
            raise NotSupportedError("WITH RECURSIVE with a LIMIT outside it (SQLite stops the recursion when the "
                                    "LIMIT is met; PostgreSQL may not): not supported yet")
        for cte in with_.expressions:
            columns = [c.name for c in cte.args["alias"].columns] if cte.args["alias"].columns else []
            scope[cte.alias.lower()] = (cte.this, columns)
    sources, from_sql, inner_checked = sources_of(node, catalog, counter, scope, parent)
    expr = QueryExpression(sources, catalog, parent)
    expr.ctes = scope
    expr.used.update(inner_checked)
    for i, join in reversed(list(enumerate(node.args.get("joins") or [], 1))):
        on = join.args.get("on") or sources[i].using_on
        if on is not None:  # the FROM text gets each ON condition after its JOIN
            # The item's own alias (not a longer one inside a subquery), then its column list if any.
            found = re.search(rf"AS {sources[i].alias}(?!\d)(\([^)]*\))?", from_sql)
            assert found is not None
            at = found.end()
            from_sql = f"{from_sql[:at]} ON {expr.condition(on)}{from_sql[at:]}"
    merges = {c: (owner, s.name) for s in sources for c, owner in s.merged}
    if merges:
        node = _merge_using(node, merges)
    results = _results(node, sources, merges)
    for alias, value in results:
        if alias:
            expr.aliases.setdefault(alias.lower(), value)
    grouped = node.args.get("group") is not None or any(has_aggregate(n) for _, n in results)
    kinds: list[str | None] = []
    typed = Query("", [])
    if parent is not None or as_values:  # a subquery or a compound's arm: its results are values
        outputs = [Output([expr.value_of(value)]) for _, value in results]
        for alias, value in results:
            kind = expr.sqlite_class(value)
            collation = expr._collation(value) or "BINARY"
            kinds.append("COLLATED" if collation != "BINARY" else kind)
            inner = value.unnest()
            typed.names.append(alias or (inner.name if isinstance(inner, exp.Column) else value.sql(dialect="sqlite")))
            typed.classes.append(kind)
            typed.collations.append(collation)
            # SQLite passes a bare column's affinity through a subquery; an expression has none.
            typed.affinities.append(expr.resolve(inner)[1].affinity if isinstance(inner, exp.Column) else Affinity.BLOB)
    else:
        outputs = [_output(value, expr, origin, grouped) for (_, value), origin in zip(results, origins, strict=True)]
    distinct = node.args.get("distinct")
    if distinct is not None:
        if distinct.args.get("on"):
            raise NotSupportedError("DISTINCT ON")
        for _, value in results:
            if (expr._collation(value) or "BINARY") != "BINARY":
                raise NotSupportedError("DISTINCT over a column with a collation other than BINARY: not supported yet")
    sql = f"SELECT {'DISTINCT ' if distinct is not None else ''}{', '.join(s for o in outputs for s in o.sql)}"
    sql += f" FROM {from_sql}" if from_sql else ""
    where = node.args.get("where")
    if where is not None:
        sql += " WHERE " + expr.condition(expr.with_aliases(where.this))
    group = node.args.get("group")
    if group is not None:
        sql += " GROUP BY " + ", ".join(_group_key(expr.with_aliases(e), expr, [v for _, v in results])
                                        for e in group.expressions)
    having = node.args.get("having")
    if having is not None:
        sql += " HAVING " + expr.condition(expr.with_aliases(having.this))
    order = node.args.get("order")
    if order is not None:
        sql += " ORDER BY " + ", ".join(_order_key(o, expr, [v for _, v in results]) for o in order.expressions)
    elif scan_keys:  # none asked for: the order SQLite's plan walks the table in (scan_order.py)
        sql += " ORDER BY " + scan_keys.replace("{alias}", sources[0].alias)
    limit, offset = _integer(node.args.get("limit"), "LIMIT"), _integer(node.args.get("offset"), "OFFSET")
    if limit is not None and limit >= 0:
        sql += f" LIMIT {limit}"
    if offset is not None and offset > 0:
        sql += f" OFFSET {offset}"
    return Query(sql, outputs, expr.used, kinds, typed.names, typed.classes, typed.affinities, typed.collations)


def _named_windows(node: exp.Select) -> exp.Select:
    """``OVER w`` with ``WINDOW w AS (...)`` is that window written out, as SQLite reads it."""
    named = {w.this.name.lower(): w for w in node.args["windows"]}

    def written_out(n: exp.Expression) -> exp.Expression:
        if isinstance(n, exp.Window) and isinstance(n.args.get("alias"), exp.Identifier):
            definition = named.get(n.args["alias"].name.lower())
            if definition is None or any(n.args.get(k) for k in ("partition_by", "order", "spec")):
                raise NotSupportedError(f"{n.sql(dialect='sqlite')}: this window reference is not supported yet")
            n = n.copy()
            n.set("alias", None)
            for key in ("partition_by", "order", "spec"):
                if definition.args.get(key):
                    n.set(key, definition.args[key].copy() if isinstance(definition.args[key], exp.Expression)
                          else [k.copy() for k in definition.args[key]])
        return n

    out = node.copy().transform(written_out)
    out.set("windows", None)
    return out


def _merged(column: str, owner: str, right: str) -> exp.Expression:
    return exp.Coalesce(this=exp.column(column, table=owner, quoted=True),
                        expressions=[exp.column(column, table=right, quoted=True)])


def _merge_using(node: exp.Select, merges: dict[str, tuple[str, str]]) -> exp.Select:
    """Unqualified references to a RIGHT/FULL JOIN's USING columns as SQLite reads them (not inside
    subqueries, whose names are their own)."""
    node = node.copy()
    for column in list(node.walk(prune=lambda n: n is not node and isinstance(n, (exp.Select, exp.Subquery)))):
        if not isinstance(column, exp.Column) or column.table or column.name.lower() not in merges:
            continue
        merged = _merged(column.name, *merges[column.name.lower()])
        # A bare result column keeps its name; anywhere else the value is all that counts.
        column.replace(exp.alias_(merged, column.name, quoted=True) if column.parent is node else merged)
    return node


def _results(node: exp.Select, sources: list[Source],
             merges: dict[str, tuple[str, str]] | None = None) -> list[tuple[str | None, exp.Expression]]:
    """Result expressions with ``*`` and ``t.*`` expanded, as SQLite expands them (a RIGHT/FULL
    JOIN's USING column once, merged)."""
    merges = merges or {}
    out: list[tuple[str | None, exp.Expression]] = []
    for e in node.expressions:
        star = isinstance(e, exp.Star) or (isinstance(e, exp.Column) and e.is_star)
        if star:
            which = [s for s in sources if not isinstance(e, exp.Column) or not e.table
                     or s.name.lower() == e.table.lower()]
            for s in which:
                qualified = isinstance(e, exp.Column) and bool(e.table)
                names = [n for n in _names(s) if qualified or n.lower() not in s.hidden]  # USING's columns once
                for n in names:
                    merge = merges.get(n.lower()) if not qualified else None
                    if merge is not None and merge[0] == s.name:
                        out.append((n, _merged(n, *merge)))
                    else:
                        out.append((None, exp.column(n, table=s.name or None, quoted=True)))
        elif isinstance(e, exp.Alias):
            out.append((e.alias, e.this))
        else:
            out.append((None, e))
    return out


def returning(node: exp.Expression, expr: QueryExpression) -> list[Output]:
    """An INSERT, UPDATE or DELETE's RETURNING results, read as a SELECT's over its one table
    (bare columns through the data mapper, overflow included)."""
    clause = node.args.get("returning")
    if clause is None:
        return []
    source = expr.sources[0]
    outputs = []
    for e in clause.expressions:
        value = e.this if isinstance(e, exp.Alias) else e
        if isinstance(value, exp.Star) or (isinstance(value, exp.Column) and value.is_star):
            outputs.extend(_output(exp.column(c.name, quoted=True), expr, (source.name, c.name), False)
                           for c in source.mapped.plan.columns)
            continue
        inner = value.unnest()
        origin = (source.name, inner.name) if isinstance(inner, exp.Column) else (None, None)
        outputs.append(_output(value, expr, origin, False))
    return outputs


def _output(value: exp.Expression, expr: QueryExpression, origin: tuple[str | None, str | None],
            grouped: bool) -> Output:
    inner = value.unnest()
    if isinstance(inner, exp.Column) and origin[1] is not None:
        source, ref, key = expr.resolve(inner)
        native = f"{source.alias}.{quote_ident(ref.pg_name)}"
        if isinstance(source.mapped, Derived):  # its inner query typed it: a value of one class, or tagged
            return Output([native], tagged=ref.tagged)
        plan_columns = {c.name.lower(): c for c in source.mapped.plan.columns}
        column = plan_columns.get(key.lower())
        if column is None:  # the rowid, which is always an integer
            return Output([native])
        if grouped:  # a group key (strays refused, as for any expression): read natively
            expr._column(inner)
            return Output([native], (source.mapped, column.name))
        overflow = f"{source.alias}.\"_sqlmite_overflow\" -> {quote_literal(column.name)}"
        return Output([native, overflow], (source.mapped, column.name))
    if expr.varies(inner):
        return Output([tagged_sql(expr, inner)], tagged=True)
    if expr.sqlite_class(value) is None:
        raise NotSupportedError(f"result {value.sql(dialect='sqlite')}: its values may be of more than one storage "
                                "class, which PostgreSQL would turn into one; not supported yet")
    inner = value.unnest()
    summed = inner.this if isinstance(inner, exp.Window) else inner
    integer_sum = isinstance(summed, exp.Sum) and expr.sqlite_class(summed.this) == "INTEGER"
    return Output([expr.value_of(value)], integer_sum=integer_sum)


def _group_key(node: exp.Expression, expr: QueryExpression, results: list[exp.Expression]) -> str:
    if isinstance(node, exp.Literal) and not node.is_string and node.this.isdigit():  # GROUP BY 1
        node = results[int(node.this) - 1]
    if (expr._collation(node) or "BINARY") != "BINARY":
        raise NotSupportedError("GROUP BY a column with a collation other than BINARY: not supported yet")
    return expr.value_of(node)


def _order_key(ordered: exp.Ordered, expr: QueryExpression, results: list[exp.Expression]) -> str:
    key = ordered.this
    if isinstance(key, exp.Literal) and not key.is_string and key.this.isdigit():  # ORDER BY 2
        position = int(key.this)
        if not 1 <= position <= len(results):
            raise NotSupportedError(f"ORDER BY {position}: out of range")
        key = results[position - 1]
    elif not list(key.find_all(exp.Column)) and not key.find(exp.Subquery):
        # SQLite folds some constants into a column position (ORDER BY (0 IS NOT NULL) sorts by the
        # first result column) and others not; PostgreSQL reads only integer literals so.
        raise NotSupportedError(f"ORDER BY {key.sql(dialect='sqlite')}: a constant ordering term is not supported")
    return sort_key(expr, expr.with_aliases(key), bool(ordered.args.get("desc")))


def _integer(node: exp.Expression | None, what: str) -> int | None:
    if node is None:
        return None
    value = node.expression if isinstance(node, (exp.Limit, exp.Offset)) else node
    text = value.sql(dialect="sqlite")
    try:
        return int(text)
    except ValueError:
        raise NotSupportedError(f"{what} {text}: only integer constants so far") from None
