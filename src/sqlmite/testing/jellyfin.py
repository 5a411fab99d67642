"""Jellyfin-shaped SQLite databases: the exact schema of a fresh jellyfin.db, and populated ones.

Jellyfin is the application sqlmite is first measured against, so tests and benchmarks need its
database without installing Jellyfin: the same ``sqlite_master`` DDL text, the same migration
history and placeholder row, and values in the exact forms EF Core writes (uppercase GUID text,
``yyyy-MM-dd HH:mm:ss.FFFFFFF`` datetimes, 0/1 booleans, float32-widened REALs, a BLOB blurhash).
The schema files are package data written from the reference facts (Jellyfin master c3ed1407 for
12.0, v10.11.11 for 10.11); nothing here reads outside the package.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from operator import itemgetter
from pathlib import Path
from types import MappingProxyType

from sqlmite.testing._jellyfin_accounts import make_account_extras, make_users
from sqlmite.testing._jellyfin_library import Library
from sqlmite.testing._jellyfin_media import TUPLE_COLUMNS
from sqlmite.testing._jellyfin_values import Maker

VERSIONS: tuple[str, ...] = ("12.0", "10.11")
"""Schema versions with a fixture: Jellyfin 12.0 (master) and 10.11."""

MIN_ITEMS = 20
"""Below this the tree (root, five system folders, one of each kind) does not fit."""

# Columns one version has and the other lacks; the builders set them and the sink drops them.
_VERSION_COLUMNS = frozenset({"OriginalLanguage", "ExtraIds", "IsOriginal"})
_BATCH_ROWS = 50_000
_first = itemgetter(0)
_SORTED = frozenset({"BaseItems", "MediaStreamInfos"})  # dict tables keyed by item id; others keep their order


def _check_version(version: str) -> None:
    if version not in VERSIONS:
        raise ValueError(f"unknown Jellyfin schema version {version!r}; known: {', '.join(VERSIONS)}")


def schema_sql(version: str = "12.0") -> str:
    """The fixture text: DDL, seed rows and ``PRAGMA journal_mode = 'wal'`` of a fresh jellyfin.db."""
    _check_version(version)
    fixture = resources.files("sqlmite.testing") / "fixtures" / f"jellyfin-{version}.sql"
    return fixture.read_text(encoding="utf-8")


def schema_statements(version: str = "12.0") -> list[str]:
    """The fixture split into statements, without comments or the final semicolon.

    CREATE statements come back exactly as SQLite keeps them in ``sqlite_master.sql``.
    """
    statements: list[str] = []
    buffer: list[str] = []
    for line in schema_sql(version).splitlines():
        if not buffer and (not line.strip() or line.startswith("--")):
            continue
        buffer.append(line)
        text = "\n".join(buffer)
        if sqlite3.complete_statement(text):
            statements.append(text.rstrip().removesuffix(";"))
            buffer = []
    if buffer:
        raise ValueError(f"fixture jellyfin-{version}.sql ends inside a statement")
    return statements


def _new_database(path: Path, version: str, defer_indexes: bool = False) -> tuple[sqlite3.Connection, list[str]]:
    """Creates ``path`` with the fixture applied in one transaction (refuses to overwrite a file).

    With ``defer_indexes`` the CREATE INDEX statements are returned instead of run, for the caller
    to run after a bulk load (sorting once beats updating 60 indexes row by row).
    """
    if path.exists():
        raise FileExistsError(f"{path} exists; a Jellyfin database is only created as a new file")
    conn = sqlite3.connect(path, isolation_level=None)
    deferred: list[str] = []
    try:
        statements = schema_statements(version)
        for statement in statements:
            if statement.startswith("PRAGMA"):
                conn.execute(statement)
        conn.execute("BEGIN")
        for statement in statements:
            if statement.startswith("PRAGMA"):
                continue
            if defer_indexes and statement.startswith(("CREATE INDEX", "CREATE UNIQUE INDEX")):
                deferred.append(statement)
            else:
                conn.execute(statement)
        conn.execute("COMMIT")
    except BaseException:
        conn.close()
        _remove(path)
        raise
    return conn, deferred


def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def create_schema(path: str | os.PathLike[str], version: str = "12.0") -> None:
    """An empty Jellyfin database as a fresh install leaves it: schema, history, placeholder, WAL mode."""
    _check_version(version)
    _new_database(Path(path), version)[0].close()


@dataclass(frozen=True)
class GeneratedStats:
    """What ``generate`` wrote: row count per table (every table of the schema) and their total."""

    path: Path
    version: str
    items: int
    seed: int
    rows: Mapping[str, int]
    seconds: float
    size_bytes: int

    @property
    def total(self) -> int:
        return sum(self.rows.values())


class _RowSink:
    """Per-table buffers written with ``executemany`` in large batches.

    Tuple tables use the builders' declared columns; dict tables use the columns the schema has,
    so one builder serves both versions (version-only keys are dropped, any other unknown key is
    a bug and raises). Item-keyed batches are sorted by their first column (the item id, mostly),
    which keeps the primary-key index inserts local; the account tables keep insertion order, so
    their AUTOINCREMENT ids follow it as in Jellyfin. A writer thread was tried and gave nothing:
    sqlite3 takes the GIL back for every row, so the two threads just take turns.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        self._columns = {n: tuple(r[1] for r in conn.execute(f'PRAGMA table_info("{n}")')) for n in names}
        self._tuples: dict[str, list[tuple[object, ...]]] = {}
        self._tuple_sql: dict[str, str] = {}
        self._dicts: dict[str, list[dict[str, object]]] = {}
        for table, columns in TUPLE_COLUMNS.items():
            if table not in self._columns:
                continue
            missing = set(columns) - set(self._columns[table])
            if missing:
                raise ValueError(f"{table} has no column(s) {sorted(missing)}")
            self._tuples[table] = []
            self._tuple_sql[table] = self._insert(table, columns)

    @staticmethod
    def _insert(table: str, columns: tuple[str, ...]) -> str:
        names = ", ".join(f'"{c}"' for c in columns)
        return f'INSERT INTO "{table}" ({names}) VALUES ({", ".join("?" * len(columns))})'

    def has(self, table: str) -> bool:
        return table in self._columns

    def rows(self, table: str) -> list[tuple[object, ...]]:
        return self._tuples[table]

    def records(self, table: str) -> list[dict[str, object]]:
        if table not in self._columns:
            raise KeyError(f"this schema has no table {table!r}")
        return self._dicts.setdefault(table, [])

    def flush_if_full(self) -> None:
        pending = sum(map(len, self._tuples.values())) + sum(map(len, self._dicts.values()))
        if pending >= _BATCH_ROWS:
            self.flush()

    def flush(self) -> None:
        """Writes the buffered rows; buffers are emptied in place (the builders keep them)."""
        for table, buffer in self._dicts.items():
            if not buffer:
                continue
            keys = set().union(*buffer)
            table_columns = self._columns[table]
            unknown = keys - set(table_columns) - _VERSION_COLUMNS
            if unknown:
                raise ValueError(f"{table} has no column(s) {sorted(unknown)}")
            columns = tuple(c for c in table_columns if c in keys)
            rows = [tuple(map(r.get, columns)) for r in buffer]
            if table in _SORTED:
                rows.sort(key=_first)
            self._conn.executemany(self._insert(table, columns), rows)
            buffer.clear()
        for table, rows in self._tuples.items():
            if rows:
                rows.sort(key=_first)
                self._conn.executemany(self._tuple_sql[table], rows)
                rows.clear()


def generate(
    path: str | os.PathLike[str],
    items: int = 1000,
    *,
    version: str = "12.0",
    seed: int = 0,
    users: int = 3,
) -> GeneratedStats:
    """A populated Jellyfin database at ``path`` (a new file) with ``items`` library items.

    Deterministic for a given seed. Loads with journaling and fsync off, then leaves the file in WAL
    mode as Jellyfin does, so the result is indistinguishable in shape from Jellyfin's own file.
    """
    _check_version(version)
    if items < MIN_ITEMS:
        raise ValueError(f"items must be at least {MIN_ITEMS}, got {items}")
    if users < 1:
        raise ValueError(f"users must be at least 1, got {users}")
    target = Path(path)
    started = time.perf_counter()
    conn, indexes = _new_database(target, version, defer_indexes=True)
    try:
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA cache_size = -262144")  # 256 MiB: index pages stay hot during the load
        conn.execute("PRAGMA temp_store = MEMORY")
        conn.execute("BEGIN")
        sink = _RowSink(conn)
        mk = Maker(seed)
        accounts = make_users(mk, sink, users)
        folders = Library(mk, sink, version, accounts.user_ids, items).build()
        make_account_extras(mk, sink, accounts, folders, items)
        sink.flush()
        for statement in indexes:
            conn.execute(statement)
        conn.execute("COMMIT")
        conn.execute("PRAGMA journal_mode = 'wal'")
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%' ORDER BY name")]
        rows = {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
    except BaseException:
        conn.close()
        _remove(target)
        raise
    conn.close()
    return GeneratedStats(path=target, version=version, items=items, seed=seed, rows=MappingProxyType(rows),
                          seconds=time.perf_counter() - started, size_bytes=target.stat().st_size)
