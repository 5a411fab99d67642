"""SQLite INSERT on mapped tables → PostgreSQL, conflict handling included.

SQLite itself (the shadow) computes every stored row, one VALUES row at a time: affinity,
defaults, NOT NULL and CHECK, and what ``OR IGNORE`` / ``OR REPLACE`` do about those. What needs
the table's rows — uniqueness — is PostgreSQL's:

==========================================  =====================================================
SQLite                                      PostgreSQL, per row
==========================================  =====================================================
INSERT [OR ABORT] INTO t ... VALUES         INSERT ... RETURNING rowid (DEFAULT VALUES: the
                                            row SQLite computes from the defaults)
INSERT OR FAIL                              the same, each row under its own savepoint: the rows
                                            before a failing one stay, as SQLite keeps them
INSERT OR ROLLBACK                          the same; a failure rolls the transaction back
INSERT OR IGNORE, ON CONFLICT DO NOTHING    INSERT ... ON CONFLICT DO NOTHING (no target: every
                                            unique key, as SQLite's IGNORE; a target of plain
                                            columns: that key only)
INSERT OR REPLACE, REPLACE INTO             DELETE every row equal to the new one on any unique
                                            key (PRIMARY KEY, rowid, UNIQUE; collations applied),
                                            then INSERT: SQLite's REPLACE
ON CONFLICT (cols) DO UPDATE SET ...        INSERT ... ON CONFLICT (cols) DO UPDATE SET ...,
  [WHERE ...]                               ``excluded.`` as EXCLUDED; values stored only where
                                            the column's affinity keeps them exactly
==========================================  =====================================================

``INSERT ... SELECT`` reads its rows first (the engine), then stores them as VALUES rows.

``RETURNING`` is read as SELECT results are (``query.returning``).

Not yet:
several ON CONFLICT clauses, targets with collations or expressions (each ``NotSupportedError``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp

from sqlmite.mapping.expressions import quote_ident
from sqlmite.translate.catalog import Catalog, Mapped
from sqlmite.translate.errors import NotSupportedError
from sqlmite.translate.expression import QueryExpression, Source
from sqlmite.translate.query import Output, returning
from sqlmite.translate.statements import computed_value


@dataclass
class Insert:
    mapped: Mapped
    rows: list[str]  # one single-row SQLite INSERT per VALUES row, for the shadow
    mode: str  # abort, fail, rollback, ignore, replace or upsert
    conflict: str = ""  # PostgreSQL's ON CONFLICT clause
    unique_keys: list[list[str]] = field(default_factory=list)  # REPLACE: SQLite column names per key
    new_columns: set[str] = field(default_factory=set)  # columns DO UPDATE reads from the new row
    checked: dict[str, tuple[Mapped, set[str]]] = field(default_factory=dict)  # must hold no strays
    outputs: list[Output] = field(default_factory=list)  # RETURNING's results (over alias t0)


def replace_into(sql: str) -> str:
    """``REPLACE INTO`` is SQLite's name for ``INSERT OR REPLACE INTO`` (sqlglot knows only the latter)."""
    stripped = sql.lstrip()
    return "INSERT OR " + stripped if stripped[:7].upper() == "REPLACE" else sql


def plan_insert(node: exp.Insert, catalog: Catalog) -> Insert:
    for key in ("with_", "with"):
        if node.args.get(key):
            raise NotSupportedError(f"INSERT with {key.rstrip('_').upper()}: not supported yet")
    values = node.expression
    target = node.this.this if isinstance(node.this, exp.Schema) else node.this
    mapped = catalog.get(target.name)
    rows = []
    if node.args.get("default") and values is None:  # DEFAULT VALUES: one row, every column's default
        single = node.copy()
        single.set("returning", None)
        rows.append(single.sql(dialect="sqlite"))
    elif not isinstance(values, exp.Values):
        raise NotSupportedError("this INSERT form: not supported yet")
    for row in values.expressions if isinstance(values, exp.Values) else []:
        single = node.copy()
        single.set("expression", exp.Values(expressions=[row.copy()]))
        single.set("returning", None)  # the shadow only computes the stored row
        rows.append(single.sql(dialect="sqlite"))
    insert = _conflict_handling(node, mapped, rows, catalog)
    if node.args.get("returning"):
        expr = QueryExpression([Source(target.alias or target.name, mapped, "t0")], catalog)
        insert.outputs = returning(node, expr)
        insert.checked.update(expr.used)
    return insert


def _conflict_handling(node: exp.Insert, mapped: Mapped, rows: list[str], catalog: Catalog) -> Insert:
    alternative = (node.args.get("alternative") or "").upper()
    conflict = node.args.get("conflict")
    if alternative in ("FAIL", "ROLLBACK"):
        if conflict is not None:
            raise NotSupportedError(f"INSERT OR {alternative} with ON CONFLICT: not supported yet")
        return Insert(mapped, rows, alternative.lower())
    if alternative == "IGNORE":
        return Insert(mapped, rows, "ignore", " ON CONFLICT DO NOTHING")
    if alternative == "REPLACE":
        return Insert(mapped, rows, "replace", "", _unique_keys(mapped))
    if conflict is None:
        return Insert(mapped, rows, "abort")
    return _upsert(conflict, mapped, rows, catalog)


def _unique_keys(mapped: Mapped) -> list[list[str]]:
    table = mapped.table
    keys = [[table.rowid_alias or "rowid"]] if not table.without_rowid else []
    for index in table.constraint_indexes:
        if any(k.column is None for k in index.keys):
            raise NotSupportedError(f"REPLACE on table {table.name!r}: a unique key with an expression")
        if index.origin == "pk" and table.rowid_alias:
            continue
        keys.append([k.column or "" for k in index.keys])
    for index in mapped.unique_indexes:
        if index.where or any(k.column is None for k in index.keys):
            raise NotSupportedError(f"REPLACE on table {table.name!r}: unique index {index.name!r} is partial or "
                                    "has an expression")
        keys.append([k.column or "" for k in index.keys])
    return keys


def _target(conflict: exp.OnConflict, mapped: Mapped) -> str:
    keys = conflict.args.get("conflict_keys") or []
    if not keys:
        return ""
    names = []
    for key in keys:
        inner = key.this if isinstance(key, exp.Ordered) else key
        if not isinstance(inner, (exp.Identifier, exp.Column, exp.Var)):
            raise NotSupportedError(f"ON CONFLICT ({key.sql(dialect='sqlite')}): only columns")
        name = inner.name
        column = next((c for c in mapped.plan.columns if c.name.lower() == name.lower()), None)
        sqlite_column = next((c for c in mapped.table.columns if c.name.lower() == name.lower()), None)
        if column is None or sqlite_column is None or sqlite_column.collation != "BINARY":
            raise NotSupportedError(f"ON CONFLICT ({name}): only columns under BINARY collation so far")
        names.append(quote_ident(column.pg_name))
    return f" ({', '.join(names)})"


def _upsert(conflict: exp.OnConflict, mapped: Mapped, rows: list[str], catalog: Catalog) -> Insert:
    if conflict.args.get("constraint") or conflict.args.get("duplicate"):
        raise NotSupportedError("this ON CONFLICT form: not supported yet")
    target = _target(conflict, mapped)
    action = conflict.args.get("action")
    updates = conflict.args.get("expressions") or []
    if not updates:
        if action is not None and "NOTHING" not in action.sql().upper():
            raise NotSupportedError(f"ON CONFLICT {action.sql()}: not supported yet")
        return Insert(mapped, rows, "ignore", f" ON CONFLICT{target} DO NOTHING")
    if not target:
        raise NotSupportedError("ON CONFLICT DO UPDATE needs a conflict target in PostgreSQL")
    expr = QueryExpression([Source(mapped.table.name, mapped, "t0"), Source("excluded", mapped, "EXCLUDED")], catalog)
    sets, cleared = [], []
    for assignment in updates:
        column, value = assignment.this, assignment.expression
        plan_column = next((c for c in mapped.plan.columns if c.name.lower() == column.name.lower()), None)
        if plan_column is None:
            raise NotSupportedError(f"assigning {column.name!r}: only columns (not the rowid) so far")
        sets.append(f"{quote_ident(plan_column.pg_name)} = "
                    + computed_value(expr, value, plan_column.pg_type, column.name))
        cleared.append(plan_column.name)
    overflow = quote_ident("_sqlmite_overflow")
    removed = "ARRAY[" + ", ".join(f"'{c.replace(chr(39), chr(39) * 2)}'" for c in cleared) + "]::text[]"
    sets.append(f"{overflow} = nullif(coalesce(t0.{overflow}, '{{}}') - {removed}, '{{}}')")
    where = conflict.args.get("where")
    sql = f" ON CONFLICT{target} DO UPDATE SET {', '.join(sets)}"
    if where is not None:
        sql += " WHERE " + expr.condition(where.this if isinstance(where, exp.Where) else where)
    new_columns = set(expr.used.pop("EXCLUDED", (mapped, set()))[1])
    return Insert(mapped, rows, "upsert", sql, new_columns=new_columns, checked=expr.used)
