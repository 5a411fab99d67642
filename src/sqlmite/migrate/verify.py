"""``sqlmite verify``: proof that PostgreSQL holds exactly what a SQLite file holds.

Each side is read on its own and reduced to a row count and an order-independent checksum: the
SQLite file through SQLite (``sqlite_rows``, one read transaction for the whole run, so a source
the application keeps writing in WAL mode is judged as one snapshot), PostgreSQL through
``pg_rows`` (one REPEATABLE READ transaction), decoded by the table plans saved in the metadata,
never re-planned. Nothing is compared through the mapping's own encoder, so a fault there cannot
hide itself.

A row's checksum is the 8-byte blake2b of its canonical form: per value a storage-class tag and
its bytes (``n`` NULL; ``i`` + 8-byte signed integer; ``r`` + IEEE double, so -0.0 and every bit
count; ``t`` + length + UTF-8; ``b`` + length + raw bytes). A table's checksum is the sum of its
rows' digests mod 2**64, which does not depend on row order.

When a table differs, a second pass finds the first differing row keys (rowid, rowid alias or
WITHOUT ROWID primary key) in bounded memory: per-bucket sums (bucket = hash of the key) locate
the differing buckets, and only their rows are compared key by key.
"""

from __future__ import annotations

import struct
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from hashlib import blake2b
from operator import itemgetter
from pathlib import Path
from typing import Any

import apsw
import psycopg

from sqlmite.backend import ConnectionManager, resolve_params
from sqlmite.config import Settings, load_settings
from sqlmite.errors import BackendError, SourceError, SqlmiteError
from sqlmite.mapping.ddl import TablePlan, default_pg_schema
from sqlmite.mapping.metadata import DatabaseInfo, load_database_info, load_master, load_tables
from sqlmite.mapping.values import SqliteValue
from sqlmite.migrate.rows import pg_rows, sqlite_rows
from sqlmite.sqlite.source import open_source
from sqlmite.migrate.state import migration_state
from sqlmite.sqlite.schema import MasterRow, read_master

MASK = 2**64 - 1
BUCKET_ROWS = 2048  # rows per bucket in the second pass: its memory bound per differing bucket
MAX_DIFFERENCES = 5

_NULL = b"n"
_INTEGER = struct.Struct("<cq").pack
_REAL = struct.Struct("<cd").pack
_SIZED = struct.Struct("<cQ").pack


class UnknownDatabaseError(SqlmiteError):
    """The PostgreSQL schema holds no database sqlmite mapped: a wrong --schema, or nothing migrated yet."""

    exit_code = 2


def row_digest(row: Sequence[SqliteValue]) -> int:
    """The row's 8-byte blake2b over its canonical, type-tagged form (see the module docstring).

    One hasher fed value by value: no per-value objects beyond the packed tag and, for text,
    its UTF-8 bytes.
    """
    h = blake2b(digest_size=8)
    update = h.update
    for v in row:
        if v is None:
            update(_NULL)
        elif type(v) is str:
            data = v.encode()
            update(_SIZED(b"t", len(data)))
            update(data)
        elif type(v) is int:
            update(_INTEGER(b"i", v))
        elif type(v) is float:
            update(_REAL(b"r", v))
        elif isinstance(v, (bytes, bytearray, memoryview)):
            update(_SIZED(b"b", len(v)))
            update(v)
        else:
            raise TypeError(f"not a SQLite value: {type(v).__name__}")
    return int.from_bytes(h.digest(), "little")


def checksum(rows: Iterable[Sequence[SqliteValue]]) -> tuple[int, int]:
    """(row count, sum of row digests mod 2**64): equal for equal multisets of rows, in any order."""
    count = total = 0
    digest = row_digest
    for row in rows:
        total += digest(row)
        count += 1
    return count, total & MASK


@dataclass(frozen=True)
class RowDifference:
    """One row that is not the same on both sides, named by its key."""

    columns: tuple[str, ...]
    key: tuple[SqliteValue, ...]
    kind: str  # "changed", "missing in PostgreSQL", "extra in PostgreSQL"

    def describe(self) -> str:
        return ", ".join(f"{c}={sql_literal(v)}" for c, v in zip(self.columns, self.key))

    def as_dict(self) -> dict[str, Any]:
        return {"key": {c: _json_value(v) for c, v in zip(self.columns, self.key)}, "kind": self.kind}


@dataclass
class TableCheck:
    name: str
    rows_sqlite: int | None
    rows_pg: int | None
    match: bool
    checksum_sqlite: int | None = None
    checksum_pg: int | None = None
    first_differences: list[RowDifference] = field(default_factory=list)
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "rows_sqlite": self.rows_sqlite, "rows_pg": self.rows_pg, "match": self.match,
            "checksum_sqlite": _hex(self.checksum_sqlite), "checksum_pg": _hex(self.checksum_pg),
            "first_differences": [d.as_dict() for d in self.first_differences], "note": self.note,
        }


@dataclass
class MetadataCheck:
    """A database-level fact compared between the file and sqlmite's metadata."""

    name: str  # sqlite_master, user_version, application_id, sqlite_sequence, sqlite_stat1, migration
    sqlite: str
    pg: str
    match: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class VerifyReport:
    source: str
    pg_schema: str
    target: str
    tables: list[TableCheck]
    metadata: list[MetadataCheck]
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(t.match for t in self.tables) and all(m.match for m in self.metadata)

    @property
    def rows(self) -> int:
        """Rows verified: the SQLite side's count (each was also read and hashed from PostgreSQL)."""
        return sum(t.rows_sqlite or 0 for t in self.tables)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok, "source": self.source, "pg_schema": self.pg_schema, "target": self.target,
            "rows": self.rows, "seconds": round(self.seconds, 3), "rows_per_second": round(self.rows_per_second),
            "tables": [t.as_dict() for t in self.tables], "metadata": [m.as_dict() for m in self.metadata],
        }


def load_mapped(conn: psycopg.Connection[Any], pg_schema: str) -> tuple[DatabaseInfo, list[MasterRow], list[TablePlan]]:
    """What sqlmite saved about the database in ``pg_schema``, or ``UnknownDatabaseError``."""
    known = conn.execute("SELECT to_regclass('sqlmite.databases')").fetchone()
    info = load_database_info(conn, pg_schema) if known and known[0] is not None else None
    if info is None:
        raise UnknownDatabaseError(f"PostgreSQL schema {pg_schema!r} holds no database sqlmite migrated "
                                   "(check --schema, or run sqlmite migrate first)")
    return info, load_master(conn, pg_schema), load_tables(conn, pg_schema)


def read_snapshot(conn: psycopg.Connection[Any]) -> None:
    """Start a read-only REPEATABLE READ transaction: every later query sees one state of PostgreSQL."""
    conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")


def verify(
    source_path: str | Path,
    settings: Settings | None = None,
    *,
    pg_schema: str | None = None,
    max_differences: int = MAX_DIFFERENCES,
    progress: Callable[[str], None] | None = None,
) -> VerifyReport:
    """Compare the SQLite file ``source_path`` with its copy in PostgreSQL; never modifies either.

    ``progress`` is called with each table's name before it is read (the CLI's status line).
    """
    settings = settings or load_settings()
    name = pg_schema or settings.schema or default_pg_schema(source_path)
    started = time.monotonic()
    source = open_source(source_path)
    try:
        source.execute("BEGIN")  # one snapshot of the file for the whole run, taken at the first read
        with ConnectionManager(settings, params=resolve_params(settings)) as manager:
            try:
                with manager.connection() as pg:
                    read_snapshot(pg)
                    report = _Verifier(source, pg, name, max_differences, progress).run(str(source_path),
                                                                                      manager.target)
            except psycopg.Error as exc:
                first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise BackendError(f"reading {manager.target} schema {name!r} failed: {first}") from None
    except apsw.Error as exc:
        raise SourceError(f"reading {str(source_path)!r} failed: {exc}") from None
    finally:
        if source.in_transaction:
            source.execute("ROLLBACK")
        source.close()
    report.seconds = time.monotonic() - started
    return report


class _Verifier:
    """One verify run over an open SQLite read transaction and an open PostgreSQL snapshot."""

    def __init__(self, source: apsw.Connection, pg: psycopg.Connection[Any], pg_schema: str, limit: int,
                 progress: Callable[[str], None] | None) -> None:
        self.source, self.pg, self.pg_schema, self.limit = source, pg, pg_schema, limit
        self.progress = progress or (lambda name: None)

    def run(self, source_path: str, target: str) -> VerifyReport:
        info, master, plans = load_mapped(self.pg, self.pg_schema)
        metadata = self._metadata(info, master)
        tables = [self._table(plan) for plan in plans]
        return VerifyReport(source_path, self.pg_schema, target, tables, metadata)

    # -- database-level facts -------------------------------------------------------------

    def _metadata(self, info: DatabaseInfo, master: list[MasterRow]) -> list[MetadataCheck]:
        src = self.source
        ours = list(read_master(src))
        checks = [_master_check(ours, master)]
        for pragma, saved in (("user_version", info.user_version), ("application_id", info.application_id)):
            value = src.execute(f"PRAGMA main.{pragma}").fetchall()[0][0]
            checks.append(MetadataCheck(pragma, str(value), str(saved), value == saved))
        names = {row.name for row in ours}
        for table, columns, saved_in in (("sqlite_sequence", "name, seq", "sqlmite.sequence"),
                                         ("sqlite_stat1", "tbl, idx, stat", "sqlmite.stat1")):
            theirs = self.pg.execute(f"SELECT {columns} FROM {saved_in} WHERE schema_name = %s",
                                     (self.pg_schema,)).fetchall()
            ours_rows = src.execute(f"SELECT {columns} FROM main.{table}").fetchall() if table in names else []
            checks.append(_rows_check(table, ours_rows, theirs))
        state = migration_state(self.pg, self.pg_schema)
        if state is not None and state.status != "complete":
            checks.append(MetadataCheck("migration", "", f"{state.status} (not finished: run sqlmite migrate "
                                                        "again)", False))
        return checks

    # -- tables ---------------------------------------------------------------------------

    def _sqlite(self, plan: TablePlan) -> Iterator[tuple[SqliteValue, ...]]:
        try:
            yield from sqlite_rows(self.source, plan)
        except UnicodeDecodeError as exc:
            raise SourceError(f"table {plan.name!r} holds text that is not valid UTF-8 ({exc.reason})") from None

    def _pg(self, plan: TablePlan) -> Iterator[tuple[SqliteValue, ...]]:
        return pg_rows(self.pg, self.pg_schema, plan)

    def _table(self, plan: TablePlan) -> TableCheck:
        self.progress(plan.name)
        try:
            rows_s, sum_s = checksum(self._sqlite(plan))
        except apsw.SQLError as exc:  # the table or a column is gone from the file
            rows_p, sum_p = checksum(self._pg(plan))
            return TableCheck(plan.name, None, rows_p, False, None, sum_p, note=f"in the SQLite file: {exc}")
        rows_p, sum_p = checksum(self._pg(plan))
        check = TableCheck(plan.name, rows_s, rows_p, rows_s == rows_p and sum_s == sum_p, sum_s, sum_p)
        if not check.match and self.limit > 0:
            check.first_differences = self._differences(plan, max(rows_s, rows_p))
        return check

    def _differences(self, plan: TablePlan, rows: int) -> list[RowDifference]:
        """The first few differing row keys, reading only the rows of a few differing buckets."""
        columns, key = key_of(plan)
        buckets = max(1, rows // BUCKET_ROWS)
        wanted: set[int] | None = None
        if buckets > 1:
            a = _bucket_sums(self._sqlite(plan), key, buckets)
            b = _bucket_sums(self._pg(plan), key, buckets)
            wanted = set(sorted(i for i in range(buckets) if a[i] != b[i])[: self.limit])
        ours = _pairs(self._sqlite(plan), key, buckets, wanted)
        theirs = _pairs(self._pg(plan), key, buckets, wanted)
        missing = {k for k, _ in ours - theirs}
        extra = {k for k, _ in theirs - ours}
        found = [RowDifference(columns, k, "changed" if k in extra else "missing in PostgreSQL") for k in missing]
        found += [RowDifference(columns, k, "extra in PostgreSQL") for k in extra - missing]
        found.sort(key=lambda d: [_sort_key(v) for v in d.key])
        return found[: self.limit]


def _bucket_sums(rows: Iterable[Sequence[SqliteValue]], key: Callable[[Any], Any], buckets: int) -> list[int]:
    sums = [0] * buckets
    digest = row_digest
    for row in rows:
        sums[hash(key(row)) % buckets] += digest(row)
    return sums


def _pairs(rows: Iterable[Sequence[SqliteValue]], key: Callable[[Any], Any], buckets: int,
           wanted: set[int] | None) -> Counter[tuple[Any, int]]:
    """(key, digest) of each row in the wanted buckets (all rows when ``wanted`` is None), as a multiset."""
    found: Counter[tuple[Any, int]] = Counter()
    for row in rows:
        k = key(row)
        if wanted is None or hash(k) % buckets in wanted:
            found[k, row_digest(row)] += 1
    return found


def key_of(plan: TablePlan) -> tuple[tuple[str, ...], Callable[[Sequence[SqliteValue]], tuple[SqliteValue, ...]]]:
    """Row identity in ``source_columns`` order: the rowid (kept or aliased), else the primary key."""
    if plan.keeps_rowid:
        names, idx = (plan.rowid_name,), [0]
    elif plan.rowid_column is not None:
        i = next(i for i, c in enumerate(plan.columns) if c.pg_name == plan.rowid_column)
        names, idx = (plan.columns[i].name,), [i]
    else:
        lookup = {c.name.lower(): i for i, c in enumerate(plan.columns)}
        idx = [lookup[n.lower()] for n in plan.primary_key] or list(range(len(plan.columns)))
        names = tuple(plan.columns[i].name for i in idx)
    if len(idx) == 1:
        only = idx[0]
        return names, lambda row: (row[only],)
    return names, itemgetter(*idx)  # type: ignore[return-value]


def _master_check(ours: list[MasterRow], saved: list[MasterRow]) -> MetadataCheck:
    if ours == saved:
        return MetadataCheck("sqlite_master", f"{len(ours)} rows", f"{len(saved)} rows", True)
    i = next(i for i, (a, b) in enumerate(zip([*ours, None], [*saved, None])) if a != b)

    def show(rows: list[MasterRow]) -> str:
        return f"row {i + 1}: {rows[i].type} {rows[i].name!r}" if i < len(rows) else f"{len(rows)} rows"

    return MetadataCheck("sqlite_master", show(ours), show(saved), False)


def _rows_check(name: str, ours: list[Any], saved: list[Any]) -> MetadataCheck:
    """Small internal tables compared as multisets of rows (their order carries no meaning)."""
    a, b = Counter(map(tuple, ours)), Counter(map(tuple, saved))
    if a == b:
        return MetadataCheck(name, f"{len(ours)} rows", f"{len(saved)} rows", True)

    def show(rows: Counter[tuple[Any, ...]]) -> str:
        first = sorted(rows.elements(), key=lambda r: [_sort_key(v) for v in r])[:3]
        return "; ".join("|".join(sql_literal(v) for v in row) for row in first) or "(none)"

    return MetadataCheck(name, f"{len(ours)} rows, only here: {show(a - b)}",
                         f"{len(saved)} rows, only here: {show(b - a)}", False)


def _sort_key(value: object) -> tuple[int, Any]:
    """SQLite's order of storage classes: NULL, numbers, text, blobs."""
    if value is None:
        return (0, 0)
    if isinstance(value, (int, float)):
        return (1, value)
    if isinstance(value, str):
        return (2, value)
    return (3, bytes(value))  # type: ignore[arg-type]


def sql_literal(value: object) -> str:
    """A value as SQLite would write it, so a key is shown with its storage class."""
    if value is None:
        return "NULL"
    if isinstance(value, float):
        return repr(value) if value == value and abs(value) != float("inf") else ("9e999" if value > 0 else "-9e999")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return "X'" + bytes(value).hex().upper() + "'"  # type: ignore[arg-type]


def _json_value(value: object) -> object:
    if value is None or isinstance(value, (int, str)) or (isinstance(value, float) and abs(value) != float("inf")):
        return value
    return sql_literal(value)


def _hex(value: int | None) -> str | None:
    return None if value is None else f"{value:016x}"
