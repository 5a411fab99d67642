"""One sqlmite database on one PostgreSQL connection: runs SQLite statements with SQLite's answers.

Every statement is first prepared by the shadow (SQLite itself, schema only), which rejects what
SQLite would reject with SQLite's own message and reports what the statement does. Then:
transaction control and DDL are mirrored on both sides; reads of no table, of ``sqlite_master``
or of schema PRAGMAs run on the shadow; statements on tables go through the translator's
whitelist to PostgreSQL. Each statement inside a transaction runs under a savepoint, so a failing
one undoes only itself, as in SQLite.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
import sqlglot
from sqlglot import exp

from sqlmite.backend.schema import create_tables, install_metadata
from sqlmite.dbapi.answers import computed, pg_value, row_reader, sqlite_error
from sqlmite.dbapi.batch import BatchInsert, plan_batch
from sqlmite.dbapi.ddl import DDL, run_ddl
from sqlmite.dbapi.pragmas import run_pragma
from sqlmite.dbapi.result import Result, description_of
from sqlmite.dbapi.sequence import write_sequence
from sqlmite.mapping.ddl import Profile, plan_schema
from sqlmite.mapping.expressions import quote_ident, quote_literal
from sqlmite.mapping.metadata import (
    load_database_info,
    load_master,
    load_tables,
)
from sqlmite.mapping.values import SqliteValue, fits
from sqlmite.translate import statements
from sqlmite.translate.cache import Template, sentinels, shape, template
from sqlmite.translate.catalog import Catalog, Mapped
from sqlmite.translate.errors import (
    Error,
    IntegrityError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
)
from sqlmite.translate.expression import QueryExpression, Source
from sqlmite.translate.insert import Insert, plan_insert, replace_into
from sqlmite.translate.params import bind, literal, parameter_keys
from sqlmite.translate.pragmas import ConnectionPragmas
from sqlmite.translate.query import compound, select
from sqlmite.translate.scan_order import scan_order
from sqlmite.translate.shadow import Shadow

_SELECT = re.compile(r"^\s*SELECT\b", re.IGNORECASE)
_INSERT = re.compile(r"^\s*INSERT\b", re.IGNORECASE)
_UPDATE_OR = re.compile(r"^\s*UPDATE\s+OR\s+(\w+)", re.IGNORECASE)
_MAINTENANCE = re.compile(r"^\s*(ANALYZE|REINDEX)\b", re.IGNORECASE)
_MISSING = object()
_NO_TABLE = object()  # a cached SELECT that reads no table: SQLite answers it
EMULATED_FUNCTIONS = {"last_insert_rowid", "changes", "total_changes"}
WRITES = {"SQLITE_INSERT", "SQLITE_UPDATE", "SQLITE_DELETE"}


class Engine:
    def __init__(self, pg: psycopg.Connection[Any], pg_schema: str, source: str | None = None) -> None:
        self.pg = pg
        self.pg_schema = pg_schema
        self.source = source
        self.last_insert_rowid = 0
        self.changes = 0
        self.total_changes = 0
        self.foreign_keys = False  # SQLite's default for a new connection
        self._ddl_in_transaction = False
        self._reads = pg.cursor()  # reused by repeated SELECTs: a new psycopg cursor per call costs as much as decoding
        self._failed: Exception | None = None  # INSERT OR FAIL's error, raised once its rows are kept
        self._savepoints: list[tuple[str, bool]] = []  # open savepoints; True: it began the transaction
        self._cache: dict[Any, Any] = {}  # SELECT translations by (SQL, schema version, parameter classes)
        self._batches: dict[str, BatchInsert | None] = {}  # executemany INSERTs by SQL, this schema version
        self._schema_version = 0
        with pg.transaction():
            install_metadata(pg)
            if load_database_info(pg, pg_schema) is None:
                empty = Shadow([], {})
                try:
                    schema = empty.schema()
                finally:
                    empty.close()
                schema.pragmas["journal_mode"] = "delete"
                create_tables(pg, schema, plan_schema(schema, pg_schema, Profile.PRIMARY), source)
        self._load()

    # -- the catalog ------------------------------------------------------------------------

    def _load(self) -> None:
        info = load_database_info(self.pg, self.pg_schema)
        assert info is not None
        self.generation: uuid.UUID = info.generation
        self.pragmas = {"user_version": info.user_version, "application_id": info.application_id,
                        "page_size": info.page_size, "auto_vacuum": info.auto_vacuum, "encoding": info.encoding,
                        "journal_mode": info.journal_mode}
        if getattr(self, "shadow", None) is not None:
            self.shadow.close()
        self.shadow = Shadow(load_master(self.pg, self.pg_schema), self.pragmas)
        self.connection_pragmas = ConnectionPragmas(str(info.journal_mode or "delete"))
        # What only this connection knows, answered by the shadow under SQLite's own names.
        for name in EMULATED_FUNCTIONS:
            self.shadow.conn.create_scalar_function(name, lambda name=name: getattr(self, name), 0)
        self.catalog = Catalog(self.pg_schema, self.shadow.schema(), load_tables(self.pg, self.pg_schema))
        self._schema_version += 1  # cached translations name the old catalog
        self._cache.clear()
        self._batches.clear()

    @property
    def in_transaction(self) -> bool:
        return self.pg.info.transaction_status != psycopg.pq.TransactionStatus.IDLE

    # -- one statement ------------------------------------------------------------------------

    def run(self, sql: str, params: Sequence[Any] | Mapping[str, Any]) -> Result:
        """Run one statement with its parameters: a SELECT seen before with parameters of the same
        storage classes reuses its translation (``translate/cache.py``); everything else binds
        the values as literals and runs ``execute``."""
        if _INSERT.match(sql) and not isinstance(params, Mapping):
            batch = self._batch_for(sql)
            if batch is not None:  # a batch of one row: planned once, no parse per execution
                count = batch.run(self, [params], lambda row: max(self.execute(bind(sql, row)).rowcount, 0))
                return Result(None, [], count)
        kinds = shape(params) if params and _SELECT.match(sql) else None
        if kinds is None:
            return self.execute(bind(sql, params))
        key = (sql, self._schema_version, kinds)
        entry = self._cache.get(key, _MISSING)
        if entry is _MISSING:
            no_table = self._reads_no_table(sql, params)
            entry = self._cache[key] = _NO_TABLE if no_table else self._translate_once(sql, params, kinds)
        if entry is _NO_TABLE:
            bind(sql, params)  # the values' checks and errors, as sqlite3 gives them
            # SQLite answers it, with the values bound as SQLite binds them ("SELECT ?" is named "?").
            description, rows = self.shadow.run(sql, [pg_value(v) for v in params]
                                                if not isinstance(params, Mapping) else params)
            return Result.of(description, rows)
        if entry is None:
            return self.execute(bind(sql, params))
        template, query, decode, shown = entry
        if query.checked:
            self._refuse_strays(query.checked)
        values = [pg_value(params[k] if isinstance(params, Mapping) else params[k - 1]) for k in template.slots]
        try:
            rows = self._read(query, self._reads.execute(template.sql, values, prepare=True), decode)
        except psycopg.Error as exc:
            raise self._error(exc) from None
        return Result(shown.description, rows, -1, shown.decltypes)

    def run_many(self, sql: str, seq_of_params: Iterable[Any]) -> int:
        """``executemany``: an INSERT of bound rows in batches (``dbapi/batch.py``), anything else
        one statement at a time; the number of rows changed."""
        batch = self._batch_for(sql)
        if batch is not None:
            return batch.run(self, seq_of_params, lambda params: max(self.run(sql, params).rowcount, 0))
        return sum(max(self.run(sql, params).rowcount, 0) for params in seq_of_params)

    def _batch_for(self, sql: str) -> BatchInsert | None:
        """The batch plan of an INSERT (cached per SQL text until the schema changes), or None."""
        if sql not in self._batches:
            node = _parse(replace_into(sql), strict=False) if _INSERT.match(sql) else None
            self._batches[sql] = plan_batch(sql, node, self.shadow, self.catalog) if node is not None else None
        return self._batches[sql]

    def _reads_no_table(self, sql: str, params: Any) -> bool:
        """A statement SQLite answers alone, with placeholders of the kind the values are given in
        (positions for a sequence, names for a mapping): SQLite can bind them itself."""
        keys = parameter_keys(sql, isinstance(params, Mapping))
        if not keys or any(isinstance(k, int) for k in keys) == isinstance(params, Mapping):
            return False
        if not isinstance(params, Mapping) and len(params) != max(keys):  # sqlite3's own error, uncached
            return False
        try:
            info = self.shadow.describe(sql)
        except Error:
            return False
        kinds = {a.action_name for a in info.actions}
        return kinds <= {"SQLITE_SELECT", "SQLITE_FUNCTION", "SQLITE_RECURSIVE"} and not (
            (info.query_remaining or "").strip().strip(";").strip()) and not self.shadow.reads_tables(sql)

    def _translate_once(self, sql: str, params: Any, kinds: Any) -> tuple[Template, Any, Any, Result] | None:
        """The cached form of a SELECT, from a translation with sentinel values; None when the
        statement is not a plain SELECT on table data or its translation depends on the values."""
        values, literals = sentinels(kinds)
        try:
            bound = bind(sql, values if isinstance(params, Mapping) else [values[i + 1] for i in range(len(params))])
            info = self.shadow.describe(bound)
            actions = {a.action_name for a in info.actions}
            if actions - {"SQLITE_SELECT", "SQLITE_READ", "SQLITE_FUNCTION"} or "SQLITE_READ" not in actions or \
                    (info.query_remaining or "").strip().strip(";").strip():
                return None
            if {(a.function_name or "").lower() for a in info.actions} & EMULATED_FUNCTIONS:
                return None
            read = {(a.table_name or "").lower() for a in info.actions if a.action_name == "SQLITE_READ"}
            if any(t.startswith(("sqlite_", "pragma_")) or not t for t in read):
                return None
            node = _parse(bound)
            if not isinstance(node, exp.Select):
                return None
            query = select(node, self.catalog, [(f[3], f[4]) for f in info.description_full],
                           scan_keys=scan_order(self.shadow.conn, self.catalog, node, bound))
        except Error:
            return None  # the values matter (or it is refused): run them the uncached way
        found = template(query.sql, sql, literals)
        if found is None:
            return None
        # Result names as SQLite gives them for the statement with its placeholders ("?" stays "?").
        description = self.shadow.describe(sql).description
        return found, query, row_reader(query.outputs), Result.of(description, [])

    def _read(self, query: Any, cursor: Any, decode: Any = None) -> list[tuple[SqliteValue, ...]]:
        """Every row of ``cursor`` as SQLite's values (``decode``: the query's row reader, if built)."""
        decode = decode if decode is not None else row_reader(query.outputs)
        return [decode(pg_row) for pg_row in cursor]

    def execute(self, sql: str) -> Result:
        """Run one SQLite statement whose parameters are already bound (``translate.params``)."""
        info = self.shadow.describe(sql)
        if info.query_remaining and info.query_remaining.strip().strip(";").strip():
            raise ProgrammingError("You can only execute one statement at a time.")
        actions = info.actions or []
        kinds = {a.action_name for a in actions}
        if _MAINTENANCE.match(sql):
            # Statistics and index upkeep are PostgreSQL's own (autovacuum); SQLite prepared the
            # statement, so a wrong name still fails as in SQLite. No sqlite_stat tables appear.
            return Result()
        if kinds <= {"SQLITE_SELECT", "SQLITE_FUNCTION", "SQLITE_RECURSIVE"} and not self.shadow.reads_tables(sql):
            return self._on_shadow(sql)  # no table data: SQLite answers
        if kinds & {"SQLITE_TRANSACTION", "SQLITE_SAVEPOINT"}:
            return self._transaction(actions[0])
        if "SQLITE_PRAGMA" in kinds:
            pragma = next(a for a in actions if a.action_name == "SQLITE_PRAGMA")
            return run_pragma(self, sql, (pragma.a or "").lower(), pragma.b)
        if kinds & DDL:
            return self._ddl(sql, actions)
        read = {(a.table_name or "").lower() for a in actions if a.action_name == "SQLITE_READ"}
        schema_only = {"sqlite_master", "sqlite_schema", "sqlite_temp_master", ""}
        if read and all(t in schema_only or t.startswith("pragma_") for t in read) and not kinds & WRITES:
            return self._on_shadow(sql)
        written = {(a.table_name or "").lower() for a in actions if a.action_name in WRITES}
        if written == {"sqlite_sequence"}:
            return write_sequence(self, sql)
        other = kinds - WRITES - {"SQLITE_SELECT", "SQLITE_READ", "SQLITE_FUNCTION"}
        if other:
            raise NotSupportedError(f"{min(other).removeprefix('SQLITE_').replace('_', ' ')}: not supported yet")
        update_or = _UPDATE_OR.match(sql)
        if update_or:  # which rows conflict depends on SQLite's scan order, which PostgreSQL's is not
            raise NotSupportedError(f"UPDATE OR {update_or.group(1).upper()}: not supported yet")
        node = _parse(replace_into(sql))
        if {(a.function_name or "").lower() for a in actions} & EMULATED_FUNCTIONS:
            node = self._known_values(node)
        if isinstance(node, exp.SetOperation):
            with self._statement():
                query = compound(node, self.catalog)
                self._refuse_strays(query.checked)
                rows = [tuple(computed(v) for v in row) for row in self.pg.execute(query.sql)]
                return Result.of(info.description, rows)
        if isinstance(node, exp.Select):
            if not self.in_transaction:  # one read is atomic by itself: no BEGIN/COMMIT round trips
                try:
                    return self._select(node, info)
                except psycopg.Error as exc:
                    raise self._error(exc) from None
            with self._statement():
                return self._select(node, info)
        if isinstance(node, (exp.Insert, exp.Update, exp.Delete)):
            try:
                with self._statement():
                    result = (self._insert(node, info.description) if isinstance(node, exp.Insert)
                              else self._change(node, info.description))
            except IntegrityError:
                self.changes = 0  # as SQLite: a failed write changed nothing
                if (node.args.get("alternative") or "").upper() == "ROLLBACK" and self.in_transaction:
                    self.execute("ROLLBACK")  # INSERT OR ROLLBACK ends the transaction
                raise
            except Exception:
                self.changes = 0
                raise
            failed, self._failed = self._failed, None
            if failed is not None:  # INSERT OR FAIL: the rows before the failing one stay
                raise failed
            return result
        raise NotSupportedError(f"{type(node).__name__.upper()} statements: not supported yet")

    def _known_values(self, node: exp.Expression) -> exp.Expression:
        """``last_insert_rowid()``, ``changes()`` and ``total_changes()`` are this connection's
        numbers: put them in as literals (EF Core reads a new key with ``WHERE changes() = 1 AND
        rowid = last_insert_rowid()``). A result column made of one keeps its name only on the shadow."""
        results = {id(n) for e in (node.expressions if isinstance(node, exp.Select) else []) for n in e.walk()}
        node = node.copy() if results else node

        def known(n: exp.Expression) -> exp.Expression:
            if isinstance(n, exp.Anonymous) and n.name.lower() in EMULATED_FUNCTIONS and not n.expressions:
                return exp.Literal.number(getattr(self, n.name.lower()))
            return n

        if isinstance(node, exp.Select) and any(
                isinstance(n, exp.Anonymous) and n.name.lower() in EMULATED_FUNCTIONS
                for e in node.expressions for n in e.walk()):
            raise NotSupportedError("last_insert_rowid()/changes() as a result column next to table data: "
                                    "not supported yet")
        return node.transform(known)

    @contextmanager
    def _statement(self) -> Iterator[None]:
        """Statement-level atomicity: a failing statement undoes only itself."""
        try:
            with self.pg.transaction():
                yield
        except psycopg.Error as exc:
            raise self._error(exc) from None

    # -- reads ------------------------------------------------------------------------------

    def _on_shadow(self, sql: str) -> Result:
        """Statements that read no table data: SQLite answers them itself."""
        description, rows = self.shadow.run(sql)
        return Result.of(description, rows)

    def _select(self, node: exp.Select, info: Any) -> Result:
        origins = [(full[3], full[4]) for full in info.description_full]
        query = select(node, self.catalog, origins,
                       scan_keys=scan_order(self.shadow.conn, self.catalog, node, info.first_query))
        self._refuse_strays(query.checked)
        return Result.of(info.description, self._read(query, self.pg.execute(query.sql)))

    def _refuse_strays(self, checked: dict[str, tuple[Mapped, set[str]]]) -> None:
        """Expressions keep SQLite's meaning on native values: refuse columns holding others."""
        for mapped, columns in checked.values():
            table = mapped.table
            # An INTEGER PRIMARY KEY is always an integer, a STRICT table's columns always their type.
            maybe = sorted(c for c in columns if c != table.rowid_alias) if not table.strict else []
            if not maybe:
                continue
            # The strays index (rows with an overflow, usually none) makes this one small probe.
            found = self.pg.execute(f'SELECT "_sqlmite_overflow" FROM {mapped.qtable} WHERE "_sqlmite_overflow" IS '
                                    'NOT NULL AND "_sqlmite_overflow" ?| %s::text[] LIMIT 1', (maybe,)).fetchone()
            if found:
                column = next(c for c in maybe if c in found[0])
                raise NotSupportedError(f"column {column!r} of table {table.name!r} holds values of more than one "
                                        "storage class; using it in an expression is not supported yet")

    # -- writes -----------------------------------------------------------------------------

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
        stored = self.shadow.coerce_rows(row_sql, mapped.table.name, names,
                                         plan.rowid_name if not plan.without_rowid else None)
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
        where = expr.condition(sqlglot.parse_one(" OR ".join(f"({c})" for c in conditions), read="sqlite"))
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

    # -- transactions, PRAGMAs, DDL -------------------------------------------------------------

    def _transaction(self, action: Any) -> Result:
        op = (action.a or "").upper()
        if action.action_name == "SQLITE_TRANSACTION":
            if op == "BEGIN":
                if self.in_transaction:
                    raise OperationalError("cannot start a transaction within a transaction")
                self.pg.execute("BEGIN")
                self.shadow.conn.execute("BEGIN")
            elif not self.in_transaction:
                raise OperationalError(f"cannot {op.lower()} - no transaction is active")
            else:
                self.pg.execute("COMMIT" if op == "COMMIT" else "ROLLBACK")
                self.shadow.conn.execute("COMMIT" if op == "COMMIT" else "ROLLBACK")
                self._savepoints.clear()
                if op != "COMMIT" and self._ddl_in_transaction:
                    self._refresh_catalog()
                self._ddl_in_transaction = False
            return Result()
        return self._savepoint(op, action.b or "")

    def _savepoint(self, op: str, name: str) -> Result:
        """SQLite's savepoints: one outside a transaction begins it, and releasing that one commits."""
        names = [n.lower() for n, _ in self._savepoints]
        if op != "BEGIN" and name.lower() not in names:
            raise OperationalError(f"no such savepoint: {name}")
        quoted = quote_ident(name)
        if op == "BEGIN":
            began = not self.in_transaction
            if began:
                self.pg.execute("BEGIN")
            self.pg.execute(f"SAVEPOINT {quoted}")
            self._savepoints.append((name, began))
        else:
            at = len(names) - 1 - names[::-1].index(name.lower())
            if op == "RELEASE":
                began = self._savepoints[at][1]
                del self._savepoints[at:]
                self.pg.execute("COMMIT" if began else f"RELEASE SAVEPOINT {quoted}")
                if began:
                    self._ddl_in_transaction = False
            else:  # ROLLBACK TO: the savepoint stays
                del self._savepoints[at + 1:]
                self.pg.execute(f"ROLLBACK TO SAVEPOINT {quoted}")
        self.shadow.conn.execute({"BEGIN": "SAVEPOINT", "RELEASE": "RELEASE", "ROLLBACK": "ROLLBACK TO"}[op]
                                 + f" {quoted}")
        if op == "ROLLBACK" and self._ddl_in_transaction:
            self._refresh_catalog()
        return Result()

    def _refresh_catalog(self) -> None:
        """After a rollback undid DDL: both sides rolled back; the catalog follows them."""
        self.catalog = Catalog(self.pg_schema, self.shadow.schema(), load_tables(self.pg, self.pg_schema))
        self._schema_version += 1  # cached translations name the old catalog
        self._cache.clear()
        self._batches.clear()

    def _ddl(self, sql: str, actions: list[Any]) -> Result:
        plan = run_ddl(self, sql, actions)
        self._ddl_in_transaction = self.in_transaction
        self.catalog = Catalog(self.pg_schema, self.shadow.schema(), plan.tables)
        self._schema_version += 1  # cached translations name the old catalog
        self._cache.clear()
        self._batches.clear()
        return Result(None, [], -1)

    # -- errors -----------------------------------------------------------------------------

    def _error(self, exc: psycopg.Error) -> Exception:
        return sqlite_error(exc, self.catalog)

    def close(self) -> None:
        self.shadow.close()


def _escaped(sql: str) -> str:
    """Translated SQL inside a statement with psycopg parameters: its own % doubled."""
    return sql.replace("%", "%%")


def _values(rows: list[tuple[SqliteValue, ...]]) -> exp.Values:
    """Rows as a VALUES clause of SQLite literals (each row is then stored as SQLite would)."""
    text = ", ".join("(" + ", ".join(literal(v) for v in row) + ")" for row in rows)  # one parse for all rows
    parsed = sqlglot.parse_one(f"INSERT INTO x VALUES {text}", read="sqlite")
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


def _parse(sql: str, strict: bool = True) -> exp.Expression | None:
    try:
        return sqlglot.parse_one(sql, read="sqlite")
    except sqlglot.errors.ParseError:
        if not strict:
            return None
        raise NotSupportedError(f"statement not understood by the translator: {sql[:80]}") from None
