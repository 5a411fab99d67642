"""``sqlmite.connect``: the ``sqlite3`` module's Connection, Cursor and Row over PostgreSQL.

Transactions follow ``sqlite3``'s legacy control (Python 3.11's, the default of later ones): with
an ``isolation_level`` (default ``""``), a ``BEGIN`` is issued before INSERT, UPDATE, DELETE and
REPLACE when no transaction is open, and ``commit()`` ends it; with ``None``, every statement
commits by itself. Which database ``connect`` opens: see docs/driver.md.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Self

import psycopg

from sqlmite.dbapi.engine import Engine, Result
from sqlmite.translate.errors import NotSupportedError, ProgrammingError

PARSE_DECLTYPES = sqlite3.PARSE_DECLTYPES
PARSE_COLNAMES = sqlite3.PARSE_COLNAMES
adapters: dict[type, Callable[[Any], Any]] = {}
converters: dict[str, Callable[[bytes], Any]] = {}
_DML = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


def register_adapter(kind: type, adapter: Callable[[Any], Any]) -> None:
    adapters[kind] = adapter


def register_converter(name: str, converter: Callable[[bytes], Any]) -> None:
    converters[name.upper()] = converter


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


class Cursor:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.arraysize = 1
        self.row_factory: Callable[[Cursor, tuple[Any, ...]], Any] | None = connection.row_factory
        self.description: tuple[tuple[Any, ...], ...] | None = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self._rows: Iterator[tuple[Any, ...]] = iter(())
        self._closed = False

    def execute(self, sql: str, parameters: Sequence[Any] | Mapping[str, Any] = ()) -> Cursor:
        self._check()
        connection = self.connection
        if connection.isolation_level is not None and _DML.match(sql) and not connection.in_transaction:
            connection._engine.execute(f"BEGIN {connection.isolation_level}".strip())
        result = connection._engine.run(sql, _adapt(parameters))
        self._take(result)
        self.lastrowid = connection._engine.last_insert_rowid  # as sqlite3: after any execute()
        return self

    def executemany(self, sql: str, seq_of_parameters: Iterable[Sequence[Any] | Mapping[str, Any]]) -> Cursor:
        """As ``sqlite3``: DML only, one implicit BEGIN, ``rowcount`` the sum, ``lastrowid`` untouched."""
        self._check()
        if not _DML.match(sql):
            raise ProgrammingError("executemany() can only execute DML statements.")
        connection = self.connection
        self.description, self._rows = None, iter(())
        if connection.isolation_level is not None and not connection.in_transaction:
            connection._engine.execute(f"BEGIN {connection.isolation_level}".strip())
        self.rowcount = connection._engine.run_many(sql, (_adapt(p) for p in seq_of_parameters))
        return self

    def executescript(self, script: str) -> Cursor:
        self._check()
        if self.connection.isolation_level is not None and self.connection.in_transaction:
            self.connection.commit()
        engine = self.connection._engine
        rest = script
        while rest and rest.strip().strip(";").strip():
            details = engine.shadow.describe(rest)
            statement = details.first_query
            rest = details.query_remaining or ""
            if statement.strip().strip(";").strip():
                self._take(engine.execute(statement))
        return self

    def _take(self, result: Result) -> None:
        self.description = result.description
        self.rowcount = result.rowcount
        rows = result.rows
        factory = self.row_factory
        text = self.connection.text_factory
        if text is not str:
            rows = [tuple(text(v.encode()) if isinstance(v, str) else v for v in row) for row in rows]
        converters_ = self._converters(result)
        if converters_:
            rows = [tuple(c(v) if c and v is not None else v for c, v in zip(converters_, row, strict=True))
                    for row in rows]
        self._rows = iter([factory(self, row) for row in rows] if factory else rows)

    def _converters(self, result: Result) -> list[Callable[[bytes], Any] | None] | None:
        if not self.connection.detect_types & PARSE_DECLTYPES or not result.decltypes:
            return None
        found = [converters.get((d or "").split("(")[0].split()[0].upper()) if d else None for d in result.decltypes]
        if not any(found):
            return None
        return [(lambda v, c=c: c(v if isinstance(v, bytes) else str(v).encode())) if c else None for c in found]

    def fetchone(self) -> Any:
        return next(self._rows, None)

    def fetchmany(self, size: int | None = None) -> list[Any]:
        out = []
        for _ in range(size or self.arraysize):
            row = next(self._rows, None)
            if row is None:
                break
            out.append(row)
        return out

    def fetchall(self) -> list[Any]:
        return list(self._rows)

    def __iter__(self) -> Iterator[Any]:
        return self._rows

    def close(self) -> None:
        self._closed = True

    def setinputsizes(self, sizes: Any) -> None:
        pass

    def setoutputsize(self, size: Any, column: Any = None) -> None:
        pass

    def _check(self) -> None:
        if self._closed:
            raise ProgrammingError("Cannot operate on a closed cursor.")
        self.connection._check()


class Connection:
    def __init__(self, pg: psycopg.Connection[Any], pg_schema: str, *, source: str | None,
                 isolation_level: str | None = "", detect_types: int = 0, temporary: bool = False) -> None:
        self._pg = pg
        self._engine = Engine(pg, pg_schema, source)
        self._temporary = temporary
        self.isolation_level = isolation_level
        self.detect_types = detect_types
        self.row_factory: Callable[[Cursor, tuple[Any, ...]], Any] | None = None
        self.text_factory: Callable[[bytes], Any] = str
        self._closed = False

    @property
    def in_transaction(self) -> bool:
        return self._engine.in_transaction

    @property
    def total_changes(self) -> int:
        return self._engine.total_changes

    def cursor(self, factory: Callable[[Connection], Cursor] = Cursor) -> Cursor:
        self._check()
        return factory(self)

    def execute(self, sql: str, parameters: Sequence[Any] | Mapping[str, Any] = ()) -> Cursor:
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql: str, seq_of_parameters: Iterable[Any]) -> Cursor:
        return self.cursor().executemany(sql, seq_of_parameters)

    def executescript(self, script: str) -> Cursor:
        return self.cursor().executescript(script)

    def commit(self) -> None:
        self._check()
        if self.in_transaction:
            self._engine.execute("COMMIT")

    def rollback(self) -> None:
        self._check()
        if self.in_transaction:
            self._engine.execute("ROLLBACK")

    def close(self) -> None:
        if self._closed:
            return
        if self.in_transaction:
            self._engine.execute("ROLLBACK")  # as sqlite3: an uncommitted transaction is lost
        if self._temporary:
            from sqlmite.backend.schema import drop_schema

            with self._pg.transaction():
                drop_schema(self._pg, self._engine.pg_schema)
        self._engine.close()
        self._pg.close()
        self._closed = True

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: object, value: object, traceback: object) -> None:
        if kind is None:
            self.commit()
        else:
            self.rollback()

    def create_function(self, *args: Any, **kwargs: Any) -> None:
        raise NotSupportedError("create_function: PostgreSQL cannot call Python functions")

    def create_aggregate(self, *args: Any, **kwargs: Any) -> None:
        raise NotSupportedError("create_aggregate: PostgreSQL cannot call Python functions")

    def create_collation(self, *args: Any, **kwargs: Any) -> None:
        raise NotSupportedError("create_collation: PostgreSQL cannot call Python collations")

    def backup(self, *args: Any, **kwargs: Any) -> None:
        raise NotSupportedError("backup: the database lives in PostgreSQL; use sqlmite export")

    def _check(self) -> None:
        if self._closed:
            raise ProgrammingError("Cannot operate on a closed database.")


def _adapt(parameters: Sequence[Any] | Mapping[str, Any]) -> Sequence[Any] | Mapping[str, Any]:
    if not adapters:
        return parameters
    def convert(value: Any) -> Any:
        adapter = adapters.get(type(value))
        return adapter(value) if adapter else value

    if isinstance(parameters, Mapping):
        return {k: convert(v) for k, v in parameters.items()}
    return [convert(v) for v in parameters]


def connect(database: str | Path, timeout: float = 5.0, detect_types: int = 0, isolation_level: str | None = "",
            check_same_thread: bool = True, factory: type[Connection] | None = None, cached_statements: int = 128,
            uri: bool = False, **settings: Any) -> Connection:
    """Open the sqlmite database ``database`` names: a ``.db`` path maps to the PostgreSQL schema of
    its stem (as ``sqlmite migrate`` names it) in the configured PostgreSQL, or the embedded one;
    ``":memory:"`` to a private schema dropped on close. ``settings`` are sqlmite settings
    (``database_url=...``, ``schema=...``), as on the command line."""
    import uuid

    from sqlmite.backend import resolve_params
    from sqlmite.config import load_settings
    from sqlmite.mapping.ddl import default_pg_schema

    config = load_settings(cli={k: v for k, v in settings.items() if v is not None})
    temporary = str(database) == ":memory:"
    pg_schema = config.schema or (f"sqlmite_memory_{uuid.uuid4().hex[:12]}" if temporary
                                  else default_pg_schema(str(database)))
    params = resolve_params(config)
    params["connect_timeout"] = max(1, int(timeout))
    pg = psycopg.connect(**params, autocommit=True)
    return (factory or Connection)(pg, pg_schema, source=None if temporary else str(database),
                                   isolation_level=isolation_level, detect_types=detect_types, temporary=temporary)
