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
from sqlmite.dbapi.result import Result
from sqlmite.dbapi.sequence import write_sequence
from sqlmite.dbapi.writes import Writes
from sqlmite.mapping.ddl import Profile, plan_schema
from sqlmite.mapping.expressions import quote_ident
from sqlmite.mapping.metadata import (
    load_database_info,
    load_master,
    load_tables,
)
from sqlmite.mapping.values import SqliteValue
from sqlmite.sqlite.dialect import DIALECT
from sqlmite.translate.cache import Template, sentinels, shape, template
from sqlmite.translate.catalog import Catalog, Mapped
from sqlmite.translate.errors import (
    Error,
    IntegrityError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
)
from sqlmite.translate.insert import replace_into
from sqlmite.translate.params import bind, parameter_keys
from sqlmite.translate.pragmas import ConnectionPragmas
from sqlmite.translate.query import compound, select
from sqlmite.translate.scan_order import scan_order
from sqlmite.translate.shadow import Shadow

_SELECT = re.compile(r"^\s*SELECT\b", re.IGNORECASE)
_INSERT = re.compile(r"^\s*INSERT\b", re.IGNORECASE)
_IMMEDIATE = re.compile(r"\s*BEGIN\s+(IMMEDIATE|EXCLUSIVE)\b", re.IGNORECASE)
_UPDATE_OR = re.compile(r"^\s*UPDATE\s+OR\s+(\w+)", re.IGNORECASE)
_MAINTENANCE = re.compile(r"^\s*(ANALYZE|REINDEX)\b", re.IGNORECASE)
_MISSING = object()
_NO_TABLE = object()  # a cached SELECT that reads no table: SQLite answers it
EMULATED_FUNCTIONS = {"last_insert_rowid", "changes", "total_changes"}
WRITES = {"SQLITE_INSERT", "SQLITE_UPDATE", "SQLITE_DELETE"}


class Engine(Writes):
    def __init__(self, pg: psycopg.Connection[Any], pg_schema: str, source: str | None = None) -> None:
        self.pg = pg
        self.pg_schema = pg_schema
        self.source = source
        self.last_insert_rowid = 0
        self.changes = 0
        self.total_changes = 0
        self.foreign_keys = False  # SQLite's default for a new connection
        self._ddl_in_transaction = False
        self._write_locked = False  # this PostgreSQL transaction holds the database's write lock
        self._loaded: dict[str, tuple[int, int]] = {}  # rows batches loaded per table: since ANALYZE, before it
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
            return self._transaction(actions[0], bool(_IMMEDIATE.match(sql)))
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
        other = kinds - WRITES - {"SQLITE_SELECT", "SQLITE_READ", "SQLITE_FUNCTION", "SQLITE_RECURSIVE"}
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
                with self._statement(write=True):
                    result = (self._insert(node, info.description) if isinstance(node, exp.Insert)
                              else self._change(node, info.description))
            except IntegrityError as exc:
                self.changes = 0  # as SQLite: a failed write changed nothing
                ends = (node.args.get("alternative") or "").upper() == "ROLLBACK" or getattr(exc, "ends_transaction",
                                                                                             False)
                if ends and self.in_transaction:
                    self.execute("ROLLBACK")  # INSERT OR ROLLBACK, a trigger's RAISE(ROLLBACK): the transaction ends
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
    def _statement(self, write: bool = False) -> Iterator[None]:
        """Statement-level atomicity: a failing statement undoes only itself. A write first takes
        the database's write lock (``lock_for_write``), at the transaction's top level."""
        try:
            if write and self.in_transaction:
                self.lock_for_write()
            with self.pg.transaction():
                if write:
                    self.lock_for_write()
                yield
        except psycopg.Error as exc:
            raise self._error(exc) from None
        finally:
            if not self.in_transaction:
                self._write_locked = False

    def loaded(self, mapped: Mapped, rows: int) -> None:
        """Rows a batch loaded: after many, ANALYZE the table (so that the strays probe of the next
        reads uses its index rather than scanning a table PostgreSQL has no statistics of yet, as
        before autovacuum comes by). Each ANALYZE waits for as many rows again as came before it."""
        since, before = self._loaded.get(mapped.table.name, (0, 0))
        since += rows
        if since >= max(50_000, before):
            self.pg.execute(f"ANALYZE {mapped.qtable}")
            since, before = 0, before + since
        self._loaded[mapped.table.name] = (since, before)

    def lock_for_write(self) -> None:
        """SQLite lets one connection write at a time: a second writer waits ``busy_timeout``
        (``timeout``), then fails with "database is locked" (SQLITE_BUSY). PostgreSQL's
        counterpart is a transaction-level advisory lock per database, taken by the first write
        of each transaction (or by BEGIN IMMEDIATE/EXCLUSIVE) and held to its end. Readers never
        wait for it, as in SQLite's WAL mode."""
        if self._write_locked and self.in_transaction:
            return
        try:
            self.pg.execute(f"SELECT 1 FROM {self.write_lock_sql()}", self.write_lock_params())
        except psycopg.errors.LockNotAvailable:
            raise OperationalError("database is locked", "SQLITE_BUSY") from None
        self._write_locked = self.in_transaction

    def write_lock_sql(self) -> str:
        """A FROM item taking the write lock (``lock_for_write``), to put before a statement's rows."""
        return ("(SELECT set_config('lock_timeout', %s, true), "
                "pg_advisory_xact_lock(hashtextextended(%s, 0))) AS sqlmite_write_lock")

    def write_lock_params(self) -> tuple[str, str]:
        # busy_timeout = 0 fails at once in SQLite; PostgreSQL's lock_timeout = 0 would wait forever.
        waited = max(1, int(self.connection_pragmas.values["busy_timeout"]))
        return f"{waited}ms", f"sqlmite write lock {self.pg_schema}"

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

    # -- transactions, PRAGMAs, DDL -------------------------------------------------------------

    def _transaction(self, action: Any, immediate: bool = False) -> Result:
        op = (action.a or "").upper()
        if action.action_name == "SQLITE_TRANSACTION":
            if op == "BEGIN":
                if self.in_transaction:
                    raise OperationalError("cannot start a transaction within a transaction")
                self.pg.execute("BEGIN")
                self.shadow.conn.execute("BEGIN")
                if immediate:  # BEGIN IMMEDIATE / EXCLUSIVE: the write lock now, as SQLite takes it
                    try:
                        self.lock_for_write()
                    except OperationalError:
                        self.pg.execute("ROLLBACK")
                        self.shadow.conn.execute("ROLLBACK")
                        raise
            elif not self.in_transaction:
                raise OperationalError(f"cannot {op.lower()} - no transaction is active")
            else:
                self.pg.execute("COMMIT" if op == "COMMIT" else "ROLLBACK")
                if not self.shadow.conn.getautocommit():  # (a trigger's RAISE(ROLLBACK) may have ended it)
                    self.shadow.conn.execute("COMMIT" if op == "COMMIT" else "ROLLBACK")
                self._savepoints.clear()
                self._write_locked = False
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
                    self._write_locked = False
            else:  # ROLLBACK TO: the savepoint stays
                del self._savepoints[at + 1:]
                self.pg.execute(f"ROLLBACK TO SAVEPOINT {quoted}")
                self._write_locked = False  # PostgreSQL may have let go of a lock taken under it: take it again
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


def _parse(sql: str, strict: bool = True) -> exp.Expression | None:
    try:
        return sqlglot.parse_one(sql, read=DIALECT)
    except sqlglot.errors.ParseError:
        if not strict:
            return None
        raise NotSupportedError(f"statement not understood by the translator: {sql[:80]}") from None
