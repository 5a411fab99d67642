"""``sqlmite.connect``: the ``sqlite3`` module's Connection, Cursor and Row over PostgreSQL.

Transactions follow ``sqlite3``: by default its legacy control (Python 3.11's, the default of
later ones): with an ``isolation_level`` (default ``""``), a ``BEGIN`` is issued before INSERT,
UPDATE, DELETE and REPLACE when no transaction is open, and ``commit()`` ends it; with ``None``,
every statement commits by itself. ``autocommit=True/False`` gives Python 3.12's modes. Which
database ``connect`` opens: see docs/driver.md.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Self

import psycopg

from sqlmite.dbapi import functions
from sqlmite.dbapi.adaptation import (
    PARSE_COLNAMES,
    PARSE_DECLTYPES,
    adapt_parameters,
    colname_converter,
    column_name,
    decltype_converter,
)
from sqlmite.dbapi.engine import Engine, Result
from sqlmite.translate import errors
from sqlmite.translate.errors import (
    Error,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
)

LEGACY_TRANSACTION_CONTROL = -1  # Python 3.12's value
# sqlite3's test for a DML statement (Modules/_sqlite/statement.c): comments and blanks skipped,
# then a prefix match.
_DML = re.compile(r"^(?:[ \t\f\n\r]+|--[^\n]*\n|/\*.*?\*/)*(?:INSERT|UPDATE|DELETE|REPLACE)", re.IGNORECASE | re.DOTALL)
_ISOLATION_LEVELS = ("", "DEFERRED", "IMMEDIATE", "EXCLUSIVE")


class Row:
    """A result row readable by position and by column name (case-insensitive), like ``sqlite3.Row``."""

    __slots__ = ("_names", "_values")

    def __init__(self, cursor: Cursor, values: tuple[Any, ...]) -> None:
        self._names = tuple(d[0] for d in cursor.description or ())
        self._values = values

    def keys(self) -> list[str]:
        return list(self._names)

    def __getitem__(self, key: int | str | slice) -> Any:
        if isinstance(key, str):
            lowered = key.lower()
            for name, value in zip(self._names, self._values, strict=True):
                if name.lower() == lowered:
                    return value
            raise IndexError("No item with that key")
        return self._values[key]

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Row) and self._names == other._names and self._values == other._values

    def __hash__(self) -> int:
        return hash((self._names, self._values))

    def __repr__(self) -> str:
        return f"<sqlmite.Row {dict(zip(self._names, self._values, strict=True))!r}>"


def _refused(name: str, reason: str) -> Callable[..., None]:
    """A ``sqlite3.Connection`` method sqlmite cannot offer: after sqlite3's own checks (thread,
    closed connection), ``NotSupportedError`` saying why."""
    def method(self: Connection, *args: Any, **kwargs: Any) -> None:
        self._check()
        raise NotSupportedError(f"{name}: {reason}")

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"Refused: {reason}."
    return method


class Cursor:
    """``sqlite3.Cursor``: ``connection``, ``description``, ``rowcount`` and ``lastrowid`` are
    read-only as there; every use after ``close()`` (or from another thread) is refused as there."""

    def __init__(self, connection: Connection) -> None:
        if not isinstance(connection, Connection):
            raise TypeError(f"Cursor() argument 1 must be sqlmite.Connection, not {type(connection).__name__}")
        self._connection = connection
        self.arraysize = 1
        self.row_factory: Callable[[Cursor, tuple[Any, ...]], Any] | None = None
        self._description: tuple[tuple[Any, ...], ...] | None = None
        self._rowcount = -1
        self._lastrowid: int | None = None
        self._rows: Iterator[Any] = iter(())
        self._closed = False

    @property
    def connection(self) -> Connection:
        return self._connection

    @property
    def description(self) -> tuple[tuple[Any, ...], ...] | None:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._lastrowid

    def execute(self, sql: str, parameters: Sequence[Any] | Mapping[str, Any] = ()) -> Cursor:
        self._check()
        connection = self._connection
        self._reset()
        connection._begin_implicitly(sql)
        try:
            result = connection._engine.run(sql, adapt_parameters(parameters))
        except Error as exc:
            connection._interrupted(exc, sql)
            raise
        self._take(result)
        self._lastrowid = connection._engine.last_insert_rowid  # as sqlite3: after any execute()
        return self

    def executemany(self, sql: str, seq_of_parameters: Iterable[Sequence[Any] | Mapping[str, Any]]) -> Cursor:
        """As ``sqlite3``: DML only, one implicit BEGIN, ``rowcount`` the sum, ``lastrowid`` untouched."""
        self._check()
        if not _DML.match(sql):
            raise ProgrammingError("executemany() can only execute DML statements.")
        connection = self._connection
        self._reset()
        each = iter(seq_of_parameters)  # as sqlite3: parameters that are not iterable fail before BEGIN
        connection._begin_implicitly(sql)
        try:
            self._rowcount = connection._engine.run_many(sql, (adapt_parameters(p) for p in each))
        except Error as exc:
            connection._interrupted(exc, sql)
            raise
        return self

    def executescript(self, script: str) -> Cursor:
        """As ``sqlite3``: legacy control commits an open transaction first; then each statement
        runs as written (no implicit BEGIN) and none leaves rows to fetch."""
        self._check()
        connection = self._connection
        engine = connection._engine
        if connection._autocommit == LEGACY_TRANSACTION_CONTROL and connection.in_transaction:
            engine.execute("COMMIT")
        self._reset()
        rest = script
        while rest and rest.strip().strip(";").strip():
            details = engine.shadow.describe(rest)
            statement = details.first_query
            rest = details.query_remaining or ""
            if statement.strip().strip(";").strip():
                try:
                    engine.execute(statement)
                except Error as exc:
                    connection._interrupted(exc, statement)
                    raise
        return self

    def _reset(self) -> None:
        """As sqlite3 at the start of each execute: earlier results are gone, even if it fails."""
        self._description, self._rowcount, self._rows = None, -1, iter(())

    def _take(self, result: Result) -> None:
        """Results as sqlite3 hands them over: converters (PARSE_COLNAMES, then PARSE_DECLTYPES),
        ``text_factory`` for other text, then the ``row_factory``."""
        connection = self._connection
        description = result.description
        rows: list[Any] = result.rows
        if not connection.detect_types and connection.text_factory is str:  # the common case, kept cheap
            self._description, self._rowcount = description, result.rowcount
            factory = self.row_factory
            self._rows = iter([factory(self, row) for row in rows] if factory else rows)
            if result.returning:
                self._rowcount = 0
                self._rows = self._counted(self._rows, result.rowcount)
            return
        names = [d[0] for d in description or ()]
        found: list[Callable[[bytes], Any] | None] = [None] * len(names)
        if connection.detect_types & PARSE_COLNAMES and description:
            found = [colname_converter(n) for n in names]
            description = tuple((column_name(d[0]), *d[1:]) for d in description)
        if connection.detect_types & PARSE_DECLTYPES and result.decltypes:
            declared = [*result.decltypes, *[None] * (len(found) - len(result.decltypes))]
            found = [f or decltype_converter(d) for f, d in zip(found, declared, strict=False)]
        text = connection.text_factory
        if any(found) or text is not str:
            rows = [tuple(self._value(v, c, text) for v, c in zip(row, found, strict=True)) for row in rows]
        self._description = description
        self._rowcount = result.rowcount
        factory = self.row_factory
        self._rows = iter([factory(self, row) for row in rows] if factory else rows)
        if result.returning:  # as sqlite3: RETURNING's changes are counted once every row is fetched
            self._rowcount = 0
            self._rows = self._counted(self._rows, result.rowcount)

    def _counted(self, rows: Iterator[Any], count: int) -> Iterator[Any]:
        yield from rows
        self._rowcount = count

    def _value(self, value: Any, converter: Callable[[bytes], Any] | None, text: Callable[[bytes], Any]) -> Any:
        if converter is not None and value is not None:
            if isinstance(value, float):  # the converter reads SQLite's own text of a REAL
                raw = self._connection._engine.shadow.conn.execute("SELECT CAST(? AS TEXT)", (value,)).fetchone()[0]
            else:
                raw = value if isinstance(value, bytes) else str(value)
            return converter(raw if isinstance(raw, bytes) else raw.encode())
        if isinstance(value, str) and text is not str:
            return text(value.encode())
        return value

    def fetchone(self) -> Any:
        self._check()
        return next(self._rows, None)

    def fetchmany(self, size: int | None = None) -> list[Any]:
        """As sqlite3: ``size`` defaults to ``arraysize``; zero or less fetches every row."""
        self._check()
        size = self.arraysize if size is None else size
        out = []
        for row in self._rows:
            out.append(row)
            if len(out) == size:
                break
        return out

    def fetchall(self) -> list[Any]:
        self._check()
        return list(self._rows)

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> Any:
        self._check()
        return next(self._rows)

    def close(self) -> None:
        self._connection._check()  # as sqlite3: closing a cursor of a closed connection is an error
        self._closed = True
        self._rows = iter(())

    def setinputsizes(self, sizes: Any) -> None:
        pass

    def setoutputsize(self, size: Any, column: Any = None) -> None:
        pass

    def _check(self) -> None:
        if self._closed:
            raise ProgrammingError("Cannot operate on a closed cursor.")
        self._connection._check()


class Connection:
    """``sqlite3.Connection`` over PostgreSQL; constructed with ``connect``'s arguments, as there."""

    Warning = errors.Warning
    Error = errors.Error
    InterfaceError = errors.InterfaceError
    DatabaseError = errors.DatabaseError
    DataError = errors.DataError
    OperationalError = errors.OperationalError
    IntegrityError = errors.IntegrityError
    InternalError = errors.InternalError
    ProgrammingError = errors.ProgrammingError
    NotSupportedError = errors.NotSupportedError

    def __init__(self, database: str | Path, timeout: float = 5.0, detect_types: int = 0,
                 isolation_level: str | None = "", check_same_thread: bool = True, factory: Any = None,
                 cached_statements: int = 128, uri: bool = False, *, autocommit: bool | int = LEGACY_TRANSACTION_CONTROL,
                 **settings: Any) -> None:
        import uuid

        from sqlmite.backend import resolve_params
        from sqlmite.config import load_settings
        from sqlmite.mapping.ddl import default_pg_schema

        self._thread = threading.get_ident()
        self._check_same_thread = bool(check_same_thread)
        self._closed = True  # until the engine is up: close() then has nothing to undo
        self._isolation_level = _isolation_level(isolation_level)
        self._autocommit = _autocommit_mode(autocommit)
        config = load_settings(cli={k: v for k, v in settings.items() if v is not None})
        temporary = str(database) == ":memory:"
        pg_schema = config.schema or (f"sqlmite_memory_{uuid.uuid4().hex[:12]}" if temporary
                                      else default_pg_schema(str(database)))
        params = resolve_params(config)
        params["connect_timeout"] = max(1, int(timeout))
        self._pg = psycopg.connect(**params, autocommit=True)
        try:
            self._engine = Engine(self._pg, pg_schema, None if temporary else str(database))
        except BaseException:
            self._pg.close()
            raise
        # sqlite3 sets SQLite's busy timeout from ``timeout``: how long a write waits for another's.
        self._engine.connection_pragmas.values["busy_timeout"] = int(timeout * 1000)
        self._temporary = temporary
        self.detect_types = detect_types
        self.row_factory: Callable[[Cursor, tuple[Any, ...]], Any] | None = None
        self.text_factory: Callable[[bytes], Any] = str
        self._closed = False
        if self._autocommit is False:
            self._engine.execute("BEGIN")  # as 3.12: a transaction is always open

    # -- state ------------------------------------------------------------------------------

    @property
    def in_transaction(self) -> bool:
        self._check_open()
        return self._engine.in_transaction

    @property
    def total_changes(self) -> int:
        self._check_open()
        return self._engine.total_changes

    @property
    def isolation_level(self) -> str | None:
        self._check_open()
        return self._isolation_level

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        if value is None:  # as sqlite3: a COMMIT re-enables autocommit mode
            self._isolation_level = None
            self.commit()
            return
        self._isolation_level = _isolation_level(value)

    @isolation_level.deleter
    def isolation_level(self) -> None:
        raise AttributeError("cannot delete attribute")

    @property
    def autocommit(self) -> bool | int:
        """Python 3.12's ``autocommit``: True, False or ``LEGACY_TRANSACTION_CONTROL``."""
        self._check()
        return self._autocommit

    @autocommit.setter
    def autocommit(self, value: bool | int) -> None:
        self._check()
        self._autocommit = _autocommit_mode(value)
        if self._autocommit is True and self._engine.in_transaction:
            self._engine.execute("COMMIT")
        elif self._autocommit is False and not self._engine.in_transaction:
            self._engine.execute("BEGIN")

    # -- statements -------------------------------------------------------------------------

    def cursor(self, factory: Callable[[Connection], Cursor] | None = None) -> Cursor:
        self._check()
        cursor = (factory or Cursor)(self)
        if not isinstance(cursor, Cursor):
            raise TypeError(f"factory must return a cursor, not {type(cursor).__name__}")
        if self.row_factory is not None:
            cursor.row_factory = self.row_factory
        return cursor

    def execute(self, sql: str, parameters: Sequence[Any] | Mapping[str, Any] = ()) -> Cursor:
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql: str, seq_of_parameters: Iterable[Any]) -> Cursor:
        return self.cursor().executemany(sql, seq_of_parameters)

    def executescript(self, script: str) -> Cursor:
        return self.cursor().executescript(script)

    def _begin_implicitly(self, sql: str) -> None:
        """Legacy control: BEGIN before a DML statement when none is open. As in sqlite3, a
        statement SQLite cannot prepare fails before the BEGIN, so it leaves no transaction."""
        if self._autocommit != LEGACY_TRANSACTION_CONTROL or self._isolation_level is None or not _DML.match(sql) \
                or self._engine.in_transaction:
            return
        rest = self._engine.shadow.describe(sql).query_remaining or ""
        if rest.strip().strip(";").strip():
            return  # "one statement at a time": the engine refuses it before doing anything
        self._engine.execute(f"BEGIN {self._isolation_level}".strip())

    def _interrupted(self, exc: Error, sql: str) -> None:
        """A statement ``interrupt()`` cancelled fails as in SQLite: raises ``interrupted``, and an
        interrupted write inside a transaction rolls the whole transaction back."""
        context = exc.__context__
        if not (isinstance(context, psycopg.errors.QueryCanceled) and "user request" in str(context)):
            return
        if _DML.match(sql) and self._engine.in_transaction:
            self._engine.execute("ROLLBACK")
        raise OperationalError("interrupted", "SQLITE_INTERRUPT") from None

    # -- transactions -----------------------------------------------------------------------

    def commit(self) -> None:
        self._check()
        if self._autocommit == LEGACY_TRANSACTION_CONTROL:
            if self._engine.in_transaction:
                self._engine.execute("COMMIT")
        elif self._autocommit is False:
            self._engine.execute("COMMIT")
            self._engine.execute("BEGIN")

    def rollback(self) -> None:
        self._check()
        if self._autocommit == LEGACY_TRANSACTION_CONTROL:
            if self._engine.in_transaction:
                self._engine.execute("ROLLBACK")
        elif self._autocommit is False:
            self._engine.execute("ROLLBACK")
            self._engine.execute("BEGIN")

    def close(self) -> None:
        self._check_thread()
        if self._closed:
            return
        if self._engine.in_transaction:
            self._engine.execute("ROLLBACK")  # as sqlite3: an uncommitted transaction is lost
        if self._temporary:
            from sqlmite.backend.schema import drop_schema

            with self._pg.transaction():
                drop_schema(self._pg, self._engine.pg_schema)
        self._engine.close()
        self._pg.close()
        self._closed = True

    def __enter__(self) -> Self:
        self._check_open()
        return self

    def __exit__(self, kind: object, value: object, traceback: object) -> bool:
        if kind is not None:
            self.rollback()
            return False
        try:
            self.commit()
        except BaseException:
            self.rollback()  # as sqlite3: a failed commit is rolled back, its error raised
            raise
        return False

    def interrupt(self) -> None:
        """Cancel the statement running on PostgreSQL (any thread may call it); it fails with
        ``OperationalError('interrupted')``. With none running, nothing happens."""
        self._check_open()
        self._pg.cancel_safe()

    def iterdump(self) -> Iterator[str]:
        from sqlmite.dbapi.dump import iterdump

        self._check_open()
        return iterdump(self)

    # -- what PostgreSQL cannot do for SQLite ----------------------------------------------------

    def set_trace_callback(self, trace_callback: Callable[[str], object] | None) -> None:
        self._check()
        if trace_callback is not None:
            raise NotSupportedError("set_trace_callback: the statements PostgreSQL runs are not SQLite's; "
                                    "only None (no tracing) is accepted")

    def set_authorizer(self, authorizer_callback: Callable[..., int] | None) -> None:
        self._check()
        if authorizer_callback is not None:
            raise NotSupportedError("set_authorizer: sqlmite's own SQLite authorizer decides how a statement runs; "
                                    "only None (no authorizer) is accepted")

    def set_progress_handler(self, progress_handler: Callable[[], object] | None, n: int) -> None:
        self._check()
        if progress_handler is not None:
            raise NotSupportedError("set_progress_handler: PostgreSQL runs the statements, not SQLite's virtual "
                                    "machine; only None (no handler) is accepted")

    # Python functions and collations run where SQLite answers (statements on no table); one used
    # on table data is refused by name: PostgreSQL cannot call Python (dbapi/functions.py).

    def create_function(self, name: str, narg: int, func: Callable[..., Any] | None, *,
                        deterministic: bool = False) -> None:
        self._check()
        functions.create_function(self._engine.shadow.conn, name, narg, func, deterministic)

    def create_aggregate(self, name: str, n_arg: int, aggregate_class: type | None) -> None:
        self._check()
        functions.create_aggregate(self._engine.shadow.conn, name, n_arg, aggregate_class)

    def create_window_function(self, name: str, num_params: int, aggregate_class: type | None, /) -> None:
        self._check()
        functions.create_window_function(self._engine.shadow.conn, name, num_params, aggregate_class)

    def create_collation(self, name: str, call: Callable[[str, str], int] | None, /) -> None:
        self._check()
        functions.create_collation(self._engine.shadow.conn, name, call)

    backup = _refused("backup", "the database lives in PostgreSQL; use sqlmite export")
    blobopen = _refused("blobopen", "incremental blob I/O needs SQLite's storage; read and write the value instead")
    serialize = _refused("serialize", "the database lives in PostgreSQL, not in SQLite pages; use sqlmite export")
    deserialize = _refused("deserialize", "the database lives in PostgreSQL, not in SQLite pages; use sqlmite migrate")
    enable_load_extension = _refused("enable_load_extension", "PostgreSQL cannot load SQLite extensions")
    load_extension = _refused("load_extension", "PostgreSQL cannot load SQLite extensions")
    setlimit = _refused("setlimit", "SQLite's run-time limits do not apply to PostgreSQL")
    getlimit = _refused("getlimit", "SQLite's run-time limits do not apply to PostgreSQL")

    # -- checks -----------------------------------------------------------------------------

    def _check(self) -> None:
        self._check_thread()
        self._check_open()

    def _check_open(self) -> None:
        if self._closed:
            raise ProgrammingError("Cannot operate on a closed database.")

    def _check_thread(self) -> None:
        if self._check_same_thread and threading.get_ident() != self._thread:
            raise ProgrammingError(
                "SQLite objects created in a thread can only be used in that same thread. The object was created "
                f"in thread id {self._thread} and this is thread id {threading.get_ident()}.")


def _isolation_level(value: object) -> str | None:
    """sqlite3's check: None or one of its four levels, any case, kept in upper case."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError("isolation_level must be str or None")
    if "\0" in value:
        raise ValueError("embedded null character")
    for level in _ISOLATION_LEVELS:
        if value.upper() == level:
            return level
    raise ValueError("isolation_level string must be '', 'DEFERRED', 'IMMEDIATE', or 'EXCLUSIVE'")


def _autocommit_mode(value: object) -> bool | int:
    if value is True or value is False:
        return value
    if isinstance(value, int) and value == LEGACY_TRANSACTION_CONTROL:
        return LEGACY_TRANSACTION_CONTROL
    raise ValueError("autocommit must be True, False, or sqlite3.LEGACY_TRANSACTION_CONTROL")


def connect(database: str | Path, *args: Any, **kwargs: Any) -> Connection:
    """Open the sqlmite database ``database`` names: a ``.db`` path maps to the PostgreSQL schema of
    its stem (as ``sqlmite migrate`` names it) in the configured PostgreSQL, or the embedded one;
    ``":memory:"`` to a private schema dropped on close.

    The arguments are ``sqlite3.connect``'s: ``timeout``, ``detect_types``, ``isolation_level``,
    ``check_same_thread``, ``factory``, ``cached_statements``, ``uri`` and (keyword only)
    ``autocommit``; as there, they reach ``factory`` (default ``Connection``) as given. Other
    keyword arguments are sqlmite settings (``database_url=...``, ``schema=...``), as on the
    command line."""
    factory = args[4] if len(args) > 4 else kwargs.get("factory")
    return (factory or Connection)(database, *args, **kwargs)
