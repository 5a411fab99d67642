"""The engine's writes: INSERT (one VALUES row at a time, SQLite computing each stored row), UPDATE
and DELETE (one statement, or one row at a time in rowid order on a table with triggers), and
the change counters SQLite keeps. A mixin of ``Engine``, which owns the connection and catalog."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import psycopg
import sqlglot
from sqlglot import exp

from sqlmite.dbapi.answers import row_reader
from sqlmite.dbapi.result import Result, description_of
from sqlmite.mapping.expressions import quote_ident, quote_literal
from sqlmite.mapping.values import SqliteValue, fits
from sqlmite.sqlite.dialect import DIALECT
from sqlmite.translate import statements
from sqlmite.translate.catalog import Catalog, Mapped
from sqlmite.translate.errors import Error, NotSupportedError
from sqlmite.translate.expression import QueryExpression, Source
from sqlmite.translate.insert import Insert, plan_insert
from sqlmite.translate.params import literal
from sqlmite.translate.query import select

if TYPE_CHECKING:
    from sqlmite.translate.shadow import Shadow


class Writes:
    pg: psycopg.Connection[Any]
    pg_schema: str
    catalog: Catalog
    shadow: Shadow
    foreign_keys: bool
    last_insert_rowid: int
    changes: int
    total_changes: int
    _failed: Exception | None

    if TYPE_CHECKING:  # the engine's, which these methods use
        def _select(self, node: exp.Select, info: Any) -> Result: ...
        def _read(self, query: Any, cursor: Any, decode: Any = None) -> list[tuple[SqliteValue, ...]]: ...
        def _refuse_strays(self, checked: dict[str, tuple[Mapped, set[str]]]) -> None: ...
        def _error(self, exc: psycopg.Error) -> Exception: ...

    def _check_foreign_keys(self, mapped: Mapped) -> None:
        involved = bool(mapped.table.foreign_keys) or any(
            fk.parent.lower() == mapped.table.name.lower()
            for t in self.catalog.tables.values() for fk in t.table.foreign_keys)
        if involved and not self.foreign_keys:
            raise NotSupportedError(f"writing table {mapped.table.name!r} with PRAGMA foreign_keys off: PostgreSQL "
                                    "always enforces its foreign keys; run PRAGMA foreign_keys = ON first")

    def _insert(self, node: exp.Insert, description: Any = None) -> Result:
        source = node.expression
        if isinstance(source, exp.Select):
            # INSERT ... SELECT: the rows are read first (as SQLite does, so the statement never sees
            # its own new rows), then stored one by one exactly as VALUES rows would be.
            query = source.sql(dialect="sqlite")
            rows = self._select(source, self.shadow.describe(query)).rows
            if not rows:
                self._count(0)
                return Result(None, [], 0)
            node = node.copy()
            node.set("expression", _values(rows))
        insert = plan_insert(node, self.catalog)
        mapped, plan = insert.mapped, insert.mapped.plan
        self._check_foreign_keys(mapped)
        self._refuse_strays(insert.checked)
        explicit = _explicit_rowids(node, mapped, len(insert.rows))
        inserted, returned = 0, []
        for row_sql, given in zip(insert.rows, explicit, strict=True):
            try:
                if insert.mode == "fail":  # each row under its own savepoint: earlier rows stay
                    with self.pg.transaction():
                        result = self._insert_row(insert, row_sql, given)
                else:
                    result = self._insert_row(insert, row_sql, given)
            except (Error, psycopg.Error) as exc:
                if insert.mode != "fail":
                    raise
                self._failed = exc if isinstance(exc, Error) else self._error(exc)
                break
            if result is None:
                continue  # skipped (OR IGNORE, DO NOTHING): last_insert_rowid unchanged
            if insert.outputs:
                returned.extend(self._read(None, [result[2 if plan.rowid_column else 0:]],
                                           row_reader(insert.outputs)))
            inserted += 1
            if plan.rowid_column and result[1]:  # a new row (an upsert's update keeps the old rowid)
                self.last_insert_rowid = result[0]
                if given and mapped.table.autoincrement:
                    self._keep_sequence(mapped, result[0])
        self._count(inserted, mapped)
        if insert.outputs:
            return Result(description_of(description), returned, inserted, returning=True)
        return Result(None, [], inserted)

    def _insert_row(self, insert: Insert, row_sql: str, given: bool) -> tuple[Any, ...] | None:
        """Store one VALUES row as SQLite would; PostgreSQL's RETURNING row (rowid, new, outputs...),
        or None when nothing was stored."""
        mapped, plan = insert.mapped, insert.mapped.plan
        names = [c.name for c in plan.columns]
        rowid_name = plan.rowid_name if not plan.without_rowid else None
        stored = self.shadow.coerce_rows(row_sql, mapped.table.name, names, rowid_name)
        if not stored and insert.mode not in ("ignore", "replace") and mapped.table.name.lower() in self.catalog.triggered:
            # A BEFORE trigger's RAISE(IGNORE) skipped it in the shadow: PostgreSQL's trigger must
            # see the row too (and do what its body does before skipping it).
            stored = self.shadow.coerce_rows(row_sql, mapped.table.name, names, rowid_name, triggers=False)
        if not stored:  # SQLite's OR IGNORE / OR REPLACE skipped it (NOT NULL, CHECK)
            return None
        rowid, values = stored[0][0], list(stored[0][1:])
        if insert.mode == "replace":
            if not given and plan.rowid_column is not None:
                # SQLite picks the new rowid before deleting the rows the new one replaces.
                rowid, given = self._next_rowid(mapped), True
                if mapped.table.rowid_alias:
                    values[names.index(mapped.table.rowid_alias)] = rowid
            self._replace(insert, rowid if given else None, values)
        if insert.new_columns:
            self._refuse_new_strays(insert, values)
        encoded = plan.encode([rowid, *values] if plan.keeps_rowid else values)
        columns = list(plan.pg_columns)
        if not given and plan.rowid_column is not None:  # PostgreSQL picks the rowid, as SQLite would
            at = columns.index(plan.rowid_column)
            del columns[at], encoded[at]
        keys = [f"{quote_ident(plan.rowid_column)}", "xmax = 0"] if plan.rowid_column else []
        wanted = keys + [s for o in insert.outputs for s in o.sql]
        returning = f" RETURNING {', '.join(wanted)}" if wanted else ""
        cursor = self.pg.execute(
            f"INSERT INTO {mapped.qtable} AS t0 ({', '.join(quote_ident(c) for c in columns)}) "
            f"VALUES ({', '.join(['%s'] * len(columns))}){_escaped(insert.conflict)}{_escaped(returning)}", encoded)
        if not returning:
            return ()
        return cursor.fetchone()

    def _replace(self, insert: Insert, rowid: int | None, values: list[SqliteValue]) -> None:
        """SQLite's REPLACE: first delete every row equal to the new one on any unique key."""
        mapped = insert.mapped
        by_name = {c.name.lower(): v for c, v in zip(mapped.plan.columns, values, strict=True)}
        if rowid is not None:
            by_name.setdefault("rowid", rowid)
        conditions = []
        for key in insert.unique_keys:
            found = [by_name.get(k.lower()) for k in key]
            if any(v is None for v in found):
                continue  # NULLs never conflict
            conditions.append(" AND ".join(f"{quote_ident(k)} = {literal(v)}" for k, v in zip(key, found, strict=True)))
        if not conditions:
            return
        expr = QueryExpression([Source(mapped.table.name, mapped, "t0")], self.catalog)
        where = expr.condition(sqlglot.parse_one(" OR ".join(f"({c})" for c in conditions), read=DIALECT))
        self._refuse_strays(expr.used)
        self.pg.execute(f"DELETE FROM {mapped.qtable} AS t0 WHERE {where}")

    def _next_rowid(self, mapped: Mapped) -> int:
        """The rowid SQLite would give a new row now: the table's own DEFAULT (``sqlmite.next_rowid``)."""
        plan, table = mapped.plan, mapped.table
        sequence = quote_literal(table.name) if table.autoincrement else "NULL"
        return self.pg.execute(
            f"SELECT sqlmite.next_rowid({quote_literal(mapped.qtable)}::regclass, {quote_literal(plan.rowid_column or '')}, "
            f"{quote_literal(self.pg_schema)}, {sequence})").fetchone()[0]

    def _keep_sequence(self, mapped: Mapped, rowid: int) -> None:
        """AUTOINCREMENT: an explicit rowid larger than any used so far moves ``sqlite_sequence``."""
        self.pg.execute("INSERT INTO sqlmite.sequence AS s VALUES (%s, %s, %s) ON CONFLICT (schema_name, name) "
                        "DO UPDATE SET seq = greatest(s.seq, excluded.seq)", (self.pg_schema, mapped.table.name, rowid))

    def _refuse_new_strays(self, insert: Insert, values: list[SqliteValue]) -> None:
        plan = insert.mapped.plan
        for column, value in zip(plan.columns, values, strict=True):
            if column.name in insert.new_columns and value is not None and not fits(column.pg_type, value):
                raise NotSupportedError(f"ON CONFLICT DO UPDATE reading excluded.{column.name}, whose new value is of "
                                        "another storage class than the column's: not supported yet")

    def _change(self, node: exp.Update | exp.Delete, description: Any) -> Result:
        change = statements.change(node, self.catalog, self.shadow.coerce)
        self._check_foreign_keys(change.mapped)
        self._refuse_strays(change.checked)
        if change.mapped.table.name.lower() in self.catalog.triggered:
            count, rows = self._change_each_row(node, change)
        else:
            cursor = self.pg.execute(change.sql, change.params or None)  # DELETE: no parameters, % as written
            count = cursor.rowcount
            rows = self._read(None, cursor, row_reader(change.outputs)) if change.outputs else []
        self._count(count, change.mapped)
        if change.outputs:
            return Result(description_of(description), rows, count, returning=True)
        return Result(None, [], count)

    def _change_each_row(self, node: exp.Update | exp.Delete,
                         change: statements.Change) -> tuple[int, list[tuple[SqliteValue, ...]]]:
        """A write on a table with triggers, one row at a time in rowid order, as SQLite visits them:
        SQLite runs the triggers after each row, PostgreSQL at the end of a statement, in its own
        row order."""
        mapped = change.mapped
        if mapped.plan.rowid_column is None or node.args.get("from_") or node.args.get("from"):
            raise NotSupportedError(f"{type(node).__name__.upper()} on {mapped.table.name!r}, which has triggers: only "
                                    "rowid tables, without FROM, so far")
        probe = exp.Select(expressions=[exp.column("rowid")], from_=exp.From(this=node.this.copy()))
        if node.args.get("where"):
            probe.set("where", node.args["where"].copy())
        # SQLite collects the rows a multi-row write changes as a set of rowids, visited in rowid
        # order whatever index found them.
        keys = f'{{alias}}.{quote_ident(mapped.plan.rowid_column)} ASC'
        query = select(probe, self.catalog, [(None, None)], scan_keys=keys)
        rowids = [row[0] for row in self.pg.execute(query.sql)]
        count, rows = 0, []
        for rowid in rowids:
            one = node.copy()
            pinned = exp.EQ(this=exp.column("rowid"), expression=exp.Literal.number(rowid))
            one.set("where", exp.Where(this=exp.and_(exp.paren(node.args["where"].this.copy()), pinned)
                                       if node.args.get("where") else pinned))
            each = statements.change(one, self.catalog, self.shadow.coerce)
            cursor = self.pg.execute(each.sql, each.params or None)
            count += cursor.rowcount
            if each.outputs:
                rows.extend(self._read(None, cursor, row_reader(each.outputs)))
        return count, rows

    def _count(self, n: int, mapped: Mapped | None = None) -> None:
        """changes() is the statement's own rows; total_changes() also counts what triggers did."""
        self.changes = n
        self.total_changes += n
        if mapped is not None and mapped.table.name.lower() in self.catalog.triggered:
            done = self.pg.execute("SELECT coalesce(nullif(current_setting('sqlmite.trigger_changes', true), ''), "
                                   "'0')::bigint, set_config('sqlmite.trigger_changes', '0', true)").fetchone()
            self.total_changes += int(done[0]) if done else 0


def _escaped(sql: str) -> str:
    """Translated SQL inside a statement with psycopg parameters: its own % doubled."""
    return sql.replace("%", "%%")


def _values(rows: list[tuple[SqliteValue, ...]]) -> exp.Values:
    """Rows as a VALUES clause of SQLite literals (each row is then stored as SQLite would)."""
    text = ", ".join("(" + ", ".join(literal(v) for v in row) + ")" for row in rows)  # one parse for all rows
    parsed = sqlglot.parse_one(f"INSERT INTO x VALUES {text}", read=DIALECT)
    assert isinstance(parsed.expression, exp.Values)
    return parsed.expression


def _explicit_rowids(node: exp.Insert, mapped: Mapped, count: int) -> list[bool]:
    """Per row: did the statement give the rowid (or its alias) a non-NULL value?"""
    if not isinstance(node.expression, exp.Values):  # DEFAULT VALUES
        return [False] * count
    names = [c.name.lower() for c in node.this.expressions] if isinstance(node.this, exp.Schema) else \
        [c.name.lower() for c in mapped.table.columns]
    keys = {n.lower() for n in ("rowid", "_rowid_", "oid")} | (
        {mapped.table.rowid_alias.lower()} if mapped.table.rowid_alias else set())
    at = next((i for i, n in enumerate(names) if n in keys), None)
    if at is None:
        return [False] * count
    return [not isinstance(row.expressions[at], exp.Null) for row in node.expression.expressions]
