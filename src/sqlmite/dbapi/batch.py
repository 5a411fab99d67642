"""``executemany`` of an INSERT: planned once, stored in batches by COPY.

Loading programs call ``executemany("INSERT INTO t (...) VALUES (?, ...)", rows)``; one round
trip, one parse and one savepoint per row would make that a thousand times slower than SQLite.
Here the statement is checked and planned once; then, per batch of rows:

1. SQLite (the shadow) stores the batch in its empty copy of the table inside a savepoint it rolls
   back, and reports each stored row with ``RETURNING``: affinity, defaults, NOT NULL and CHECK
   exactly as the one-row path applies them;
2. rowids are given as SQLite gives them (one past the largest, explicit ones taken into
   account, past ``sqlite_sequence`` under AUTOINCREMENT), from the table's largest in PostgreSQL;
3. PostgreSQL receives the batch in one binary COPY under a savepoint, encoded by the same
   ``TablePlan.encode`` as migration.

Anything unusual (a value ``sqlite3`` would not bind, a row SQLite refuses, a key PostgreSQL
already holds) sends that batch through the one-row path instead, which stores the rows before
the failing one and raises SQLite's error, exactly as ``sqlite3`` would leave things.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import islice
from typing import TYPE_CHECKING, Any

import apsw
import psycopg
from sqlglot import exp

from sqlmite.mapping.expressions import quote_ident, quote_literal
from sqlmite.mapping.values import PgType
from sqlmite.migrate.rows import pg_copy, pg_types
from sqlmite.translate.catalog import Catalog, Mapped
from sqlmite.translate.errors import Error, OperationalError
from sqlmite.translate.params import parameter_keys
from sqlmite.translate.shadow import Shadow

if TYPE_CHECKING:
    from sqlmite.dbapi.engine import Engine

BATCH_ROWS = 2000
MAX_ROWID = 2**63 - 1
_BINDABLE = frozenset({int, float, str, bytes, type(None)})
_ROWID_NAMES = ("rowid", "_rowid_", "oid")
# The Python type a native column takes unchanged (``mapping.values.fits`` / ``to_native``); NUMERIC
# columns always go through the data mapper.
_NATIVE = {PgType.BIGINT: int, PgType.DOUBLE: float, PgType.TEXT: str, PgType.BYTEA: bytes}


@dataclass(frozen=True)
class BatchInsert:
    """A plain ``INSERT INTO t [(cols)] VALUES (...)`` whose rows can be stored in batches."""

    sql: str
    mapped: Mapped
    shadow_sql: str  # the statement with RETURNING rowid and every column, for the shadow
    parameters: int  # how many ``?`` it takes
    rowid_parameter: int | None  # 0-based parameter giving the rowid (NULL: SQLite picks it)
    rowid_given: bool  # a literal rowid in every row (an explicit constant)

    def run(self, engine: Engine, rows: Iterable[Any], one_row: Callable[[Sequence[Any]], int]) -> int:
        """Store every row; the number stored. ``one_row`` is the one-row path (used on any doubt)."""
        total = 0
        it: Iterator[Any] = iter(rows)
        while batch := list(islice(it, BATCH_ROWS)):
            stored = self._batch(engine, batch)
            if stored is None:
                for params in batch:
                    total += one_row(params)
            else:
                total += stored
        return total

    def _batch(self, engine: Engine, batch: list[Any]) -> int | None:
        """Store one batch by COPY; None (nothing stored) when it needs the one-row path."""
        for params in batch:
            if type(params) not in (tuple, list) or len(params) != self.parameters or \
                    not all(type(v) in _BINDABLE for v in params):
                return None  # sqlite3's own binding errors and conversions: the one-row path
        engine._check_foreign_keys(self.mapped)
        stored = _stored_rows(engine.shadow, self.shadow_sql, batch)
        if stored is None:
            return None
        if len(batch) == 1:
            return self._one(engine, batch[0], stored[0])
        mapped, plan = self.mapped, self.mapped.plan
        top = None
        if plan.rowid_column is not None:
            top = self._largest_rowid(engine)
            if top is None:
                return None
        last, largest, encoded = 0, None, []
        alias = [c.name for c in plan.columns].index(mapped.table.rowid_alias) if mapped.table.rowid_alias else None
        for params, (rowid, *values) in zip(batch, stored, strict=True):
            if top is not None:
                given = self.rowid_given or (self.rowid_parameter is not None and params[self.rowid_parameter]
                                             is not None)
                if not given:
                    if top >= MAX_ROWID:
                        return None  # SQLite then searches for an unused rowid: the one-row path says how
                    rowid = top + 1
                    if alias is not None:
                        values[alias] = rowid
                top = max(top, rowid)
                last, largest = rowid, rowid if largest is None else max(largest, rowid)
            encoded.append(self._encode(rowid, values))
        if engine.in_transaction:
            engine.lock_for_write()  # at the transaction's top level, before the batch's savepoint
        try:
            with engine.pg.transaction():
                engine.lock_for_write()
                with engine.pg.cursor().copy(pg_copy(engine.pg_schema, plan)) as copy:
                    copy.set_types(pg_types(plan))
                    for row in encoded:
                        copy.write_row(row)
                if mapped.table.autoincrement and largest is not None:
                    engine._keep_sequence(mapped, largest)
                engine.loaded(mapped, len(encoded))
        except psycopg.Error:
            return None  # a constraint PostgreSQL enforces: the one-row path finds the row and the error
        finally:
            if not engine.in_transaction:
                engine._write_locked = False
        if top is not None:
            engine.last_insert_rowid = last
        engine.changes = 1  # changes() reports the last statement: one row
        engine.total_changes += len(batch)
        return len(batch)

    def _one(self, engine: Engine, params: Sequence[Any], row: list[Any]) -> int | None:
        """One row (``execute`` of a planned INSERT): one INSERT, its rowid picked by PostgreSQL's
        default (``sqlmite.next_rowid``, SQLite's rule) unless given; under a savepoint only inside
        a transaction (alone, the statement is atomic by itself)."""
        mapped, plan = self.mapped, self.mapped.plan
        rowid, *values = row
        given = plan.rowid_column is None or self.rowid_given or (
            self.rowid_parameter is not None and params[self.rowid_parameter] is not None)
        encoded, columns = self._encode(rowid, values), list(plan.pg_columns)
        if not given:
            at = columns.index(plan.rowid_column or "")
            del columns[at], encoded[at]
        returning = f" RETURNING {quote_ident(plan.rowid_column)}" if plan.rowid_column else ""
        values = ", ".join(["%s"] * len(columns))
        try:
            if engine.in_transaction:
                engine.lock_for_write()
                sql = f"INSERT INTO {mapped.qtable} ({', '.join(quote_ident(c) for c in columns)}) VALUES ({values})"
                with engine.pg.transaction():
                    cursor = engine.pg.execute(sql + returning, encoded)
            else:  # one statement, its own transaction: the write lock in its FROM, still one round trip
                sql = (f"INSERT INTO {mapped.qtable} ({', '.join(quote_ident(c) for c in columns)}) "
                       f"SELECT {values} FROM {engine.write_lock_sql()}")
                cursor = engine.pg.execute(sql + returning, [*encoded, *engine.write_lock_params()])
        except psycopg.errors.LockNotAvailable:
            raise OperationalError("database is locked", "SQLITE_BUSY") from None
        except psycopg.Error:
            return None  # a constraint PostgreSQL enforces: the one-row path raises SQLite's error
        if returning:
            engine.last_insert_rowid = cursor.fetchone()[0]
            if given and mapped.table.autoincrement:
                engine._keep_sequence(mapped, engine.last_insert_rowid)
        engine.changes = 1
        engine.total_changes += 1
        return 1

    def _encode(self, rowid: Any, values: list[Any]) -> list[Any]:
        """The data mapper's row; values that already have their columns' native Python types are
        kept as they are (what the mapper would do, without its per-value checks)."""
        plan = self.mapped.plan
        if all(v is None or (type(v) is t and (t is not str or "\x00" not in v))
               for v, t in zip(values, self.native, strict=True)):
            return [rowid, *values, None] if plan.keeps_rowid else [*values, None]
        return plan.encode([rowid, *values] if plan.keeps_rowid else values)

    @cached_property
    def native(self) -> list[type | None]:
        """Per column, the Python type its native PostgreSQL type takes unchanged (None: NUMERIC)."""
        return [_NATIVE.get(c.pg_type) for c in self.mapped.plan.columns]

    def _largest_rowid(self, engine: Engine) -> int | None:
        """The largest rowid SQLite would count from (0 for an empty table)."""
        mapped = self.mapped
        sequence = (f", (SELECT seq FROM sqlmite.sequence WHERE schema_name = {quote_literal(engine.pg_schema)} "
                    f"AND name = {quote_literal(mapped.table.name)})") if mapped.table.autoincrement else ""
        try:
            row = engine.pg.execute(f"SELECT greatest(max({quote_ident(mapped.plan.rowid_column or '')}){sequence}, 0) "
                                    f"FROM {mapped.qtable}").fetchone()
        except psycopg.Error:
            return None
        return int(row[0]) if row else None


def plan_batch(sql: str, node: exp.Expression | None, shadow: Shadow, catalog: Catalog) -> BatchInsert | None:
    """The batch form of ``sql``, or None when only the one-row path keeps its meaning: anything
    but a plain INSERT of one VALUES row with ``?`` parameters, reading no table."""
    if not isinstance(node, exp.Insert) or not isinstance(node.expression, exp.Values) or \
            len(node.expression.expressions) != 1 or any(node.args.get(k) for k in (
                "alternative", "conflict", "returning", "with_", "with", "where")):
        return None
    text = sql.strip().rstrip(";").rstrip()
    if "--" in text or "/*" in text or ";" in text:
        return None
    keys = parameter_keys(text)
    if keys != list(range(1, len(keys) + 1)) or any(n.this is not None for n in node.find_all(exp.Placeholder)):
        return None  # ?NNN or named parameters: bound one row at a time
    try:
        described = shadow.describe(text)
    except Error:
        return None
    if {a.action_name for a in described.actions} - {"SQLITE_INSERT", "SQLITE_FUNCTION"}:
        return None  # a subquery would read the shadow's empty tables
    target = node.this.this if isinstance(node.this, exp.Schema) else node.this
    try:
        mapped = catalog.get(target.name)
    except Error:
        return None
    if target.args.get("db") or node.this.args.get("alias") or mapped.table.name.lower() in catalog.triggered:
        return None  # a table with triggers: the one-row path counts what they change
    table, plan = mapped.table, mapped.plan
    names = [c.name for c in node.this.expressions] if isinstance(node.this, exp.Schema) else \
        [c.name for c in table.columns]
    row = node.expression.expressions[0].expressions
    if len(names) != len(row):
        return None
    rowid_parameter, rowid_given = None, False
    keys_named = {*_ROWID_NAMES, *([table.rowid_alias.lower()] if table.rowid_alias else [])}
    at = next((i for i, n in enumerate(names) if n.lower() in keys_named), None)
    if at is not None and plan.rowid_column is not None:
        value = row[at]
        if isinstance(value, exp.Placeholder):
            rowid_parameter = sum(len(list(e.find_all(exp.Placeholder))) for e in row[:at])
        elif isinstance(value, exp.Literal) and not value.is_string:
            rowid_given = True
        elif not isinstance(value, exp.Null):
            return None  # an expression: whether it gives a rowid depends on its value
    rowid = plan.rowid_name if plan.rowid_column is not None else "NULL"
    returning = ", ".join([rowid, *(_q(c.name) for c in plan.columns)])
    return BatchInsert(text, mapped, f"{text} RETURNING {returning}", len(keys), rowid_parameter, rowid_given)


def _stored_rows(shadow: Shadow, sql: str, batch: list[Any]) -> list[list[Any]] | None:
    """Each row as SQLite stores it (rowid first), or None if SQLite refuses one of them."""
    conn = shadow.conn
    conn.execute("SAVEPOINT sqlmite_batch")
    try:
        return [list(r) for r in conn.executemany(sql, batch)]
    except (apsw.Error, TypeError, ValueError, OverflowError):
        return None
    finally:
        conn.execute("ROLLBACK TO sqlmite_batch")
        conn.execute("RELEASE sqlmite_batch")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
