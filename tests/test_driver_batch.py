"""``executemany`` differentially: each scenario runs on Python's sqlite3 and on sqlmite, and what
an application sees afterwards must be equal: rowcount, lastrowid, the exception (class and
message), every table's rows with their storage classes, and changes()/total_changes()/
last_insert_rowid(). INSERTs take the batch path (``dbapi/batch.py``); these scenarios are the
ones where it must hand a batch to the one-row path or give rowids exactly as SQLite does.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from driver_support import typed

import sqlmite
from sqlmite.dbapi.batch import BATCH_ROWS

SCHEMA = """
PRAGMA foreign_keys = ON;
CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, score REAL DEFAULT 1.5, n INTEGER, data BLOB,
                note TEXT COLLATE NOCASE UNIQUE, CHECK (n IS NULL OR n >= 0));
CREATE TABLE a (id INTEGER PRIMARY KEY AUTOINCREMENT, x);
CREATE TABLE h (x, y NUMERIC);
CREATE TABLE w (k TEXT PRIMARY KEY, v) WITHOUT ROWID;
CREATE TABLE parent (id INTEGER PRIMARY KEY);
CREATE TABLE child (id INTEGER PRIMARY KEY, p INTEGER REFERENCES parent (id));
INSERT INTO t (id, name, note) VALUES (50, 'existing', 'taken');
INSERT INTO parent VALUES (1);
"""
TABLES = {"t": "id", "a": "id", "h": "rowid", "w": "k", "parent": "id", "child": "id"}
T = "INSERT INTO t (id, name, score, n, data, note) VALUES (?, ?, ?, ?, ?, ?)"

# (statement, rows): rows None runs the statement once with execute(); a callable makes the rows
# (a fresh generator for each side).
SCENARIOS: dict[str, list[tuple[str, Any]]] = {
    "affinity, defaults and auto rowids": [
        (T, [(None, "a", 2, "12", b"\x00", "x1"), (None, 5, None, 3.0, None, None), (None, "c", "2.5", 7.5, "b", "X2")]),
        ("INSERT INTO t (name, n) VALUES (?, ?)", [("d", 1), ("e", "0x10"), ("f", " 4 ")]),
    ],
    "explicit and automatic rowids interleaved": [
        (T, [(None, "a", 1, 1, None, None), (100, "b", 1, 1, None, None), (None, "c", 1, 1, None, None),
             (7, "d", 1, 1, None, None), ("60", "e", 1, 1, None, None), (None, "f", 1, 1, None, None)]),
        ("INSERT INTO t (id, name) VALUES (NULL, ?)", [("g",), ("h",)]),
        ("INSERT INTO t (id, name) VALUES (5000, ?)", [("i",)]),
    ],
    "NOT NULL fails mid-batch": [(T, [(None, "a", 1, 1, None, None), (None, "b", 1, 1, None, None),
                                      (None, None, 1, 1, None, None), (None, "d", 1, 1, None, None)])],
    "a key PostgreSQL already holds": [(T, [(1, "a", 1, 1, None, None), (50, "b", 1, 1, None, None),
                                            (2, "c", 1, 1, None, None)])],
    "a NOCASE unique key within the batch": [(T, [(None, "a", 1, 1, None, "Same"), (None, "b", 1, 1, None, "sAME")])],
    "CHECK fails": [(T, [(None, "a", 1, 1, None, None), (None, "b", 1, -1, None, None)])],
    "a datatype mismatch on the rowid": [(T, [(None, "a", 1, 1, None, None), ("x", "b", 1, 1, None, None)])],
    "wrong number of values": [(T, [(None, "a", 1, 1, None, None), (None, "b")])],
    "a value sqlite3 cannot bind": [(T, [(None, "a", 1, 1, None, None), (None, object(), 1, 1, None, None)])],
    "booleans and big integers": [(T, [(None, True, False, True, None, None), (None, "b", 1, 2**63 - 1, None, None)])],
    "an integer too big for SQLite": [(T, [(None, "a", 1, 1, None, None), (None, "b", 1, 2**63, None, None)])],
    "AUTOINCREMENT remembers explicit rowids": [
        ("INSERT INTO a VALUES (?, ?)", [(100, "x"), (None, "y")]),
        ("DELETE FROM a", [()]),
        ("INSERT INTO a (x) VALUES (?)", [("z",), ("zz",)]),
    ],
    "a table with a hidden rowid": [("INSERT INTO h VALUES (?, ?)", [(1, "1.0"), ("a", 2), (None, "x")]),
                                    ("INSERT INTO h (rowid, x) VALUES (?, ?)", [(10, "r"), (None, "s")])],
    "WITHOUT ROWID": [("INSERT INTO w VALUES (?, ?)", [("k1", 1), ("k2", None), ("k1", 3)])],
    "a foreign key fails": [("INSERT INTO child VALUES (?, ?)", [(1, 1), (2, None), (3, 99), (4, 1)])],
    "expressions over the parameters": [("INSERT INTO t (name, n, note) VALUES (lower(?), ? * 2, ? || 'x')",
                                         [("ABC", 2, "n"), ("Déj", 3, None)])],
    "named parameters": [("INSERT INTO t (name, n) VALUES (:name, :n)", [{"name": "a", "n": 1}, {"name": "b", "n": 2}])],
    "more rows than one batch, the last batch failing": [
        ("INSERT INTO h (x) VALUES (?)", [(i,) for i in range(BATCH_ROWS + 5)]),
        (T, [(None, f"r{i}", 1, i, None, None) for i in range(BATCH_ROWS + 10)] + [(50, "dup", 1, 1, None, None)]),
    ],
    "a generator of rows, then UPDATE and DELETE": [
        (T, lambda: ((None, f"g{i}", i / 2, i, None, None) for i in range(5))),
        ("UPDATE t SET n = n + ? WHERE name = ?", [(10, "g1"), (20, "g2"), (30, "nobody")]),
        ("DELETE FROM t WHERE name = ?", [("g3",), ("g4",)]),
    ],
    "a SELECT is refused": [("SELECT * FROM t WHERE id = ?", [(1,)])],
}


@pytest.fixture
def pair(pg_dsn: str) -> Iterator[tuple[sqlite3.Connection, Any]]:
    reference = sqlite3.connect(":memory:")
    ours = sqlmite.connect("batch.db", database_url=pg_dsn, schema=f"bat_{uuid.uuid4().hex[:8]}")
    for conn in (reference, ours):
        conn.executescript(SCHEMA)
        conn.commit()
    yield reference, ours
    reference.close()
    ours.close()


def run(conn: Any, steps: list[tuple[str, Any]], one_by_one: bool = False) -> list[Any]:
    """Run the steps as an application would (``one_by_one``: each row by ``execute``, as ORMs
    insert); everything it could observe."""
    seen: list[Any] = []
    cursor = conn.cursor()
    cursor.execute("SELECT 1")
    for sql, rows in steps:
        try:
            if rows is None:
                cursor.execute(sql)
            elif one_by_one:
                for row in rows() if callable(rows) else rows:
                    cursor.execute(sql, row)
            else:
                cursor.executemany(sql, rows() if callable(rows) else rows)
            seen.append(("ok", cursor.rowcount, cursor.lastrowid))
        except Exception as exc:  # noqa: BLE001 - the exception is what is compared
            bases = [c.__name__ for c in type(exc).__mro__ if c.__module__ == "sqlite3"]
            seen.append(("error", bases[0] if bases else type(exc).__name__, str(exc)))
        seen.append(conn.execute("SELECT changes(), total_changes(), last_insert_rowid()").fetchone())
        seen.append(conn.in_transaction)
    conn.commit()
    for table, key in TABLES.items():
        seen.append([tuple(typed(v) for v in row)
                     for row in conn.execute(f"SELECT {key}, * FROM {table} ORDER BY {key}")])
    return seen


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_executemany_leaves_what_sqlite_leaves(pair: tuple[sqlite3.Connection, Any], scenario: str) -> None:
    reference, ours = pair
    assert run(ours, SCENARIOS[scenario]) == run(reference, SCENARIOS[scenario])


ONE_BY_ONE = [name for name in SCENARIOS if name not in ("a SELECT is refused", "more than one batch, the last batch failing")]


@pytest.mark.parametrize("scenario", ONE_BY_ONE)
def test_execute_row_by_row_leaves_what_sqlite_leaves(pair: tuple[sqlite3.Connection, Any], scenario: str) -> None:
    """The same rows through ``execute`` one at a time (a planned INSERT of one row each)."""
    reference, ours = pair
    assert run(ours, SCENARIOS[scenario], True) == run(reference, SCENARIOS[scenario], True)


def test_autocommit_keeps_the_rows_before_a_failure(pair: tuple[sqlite3.Connection, Any]) -> None:
    rows = [(None, "a", 1, 1, None, None), (None, "b", 1, 1, None, None), (50, "c", 1, 1, None, None)]
    seen = []
    for conn in pair:
        conn.isolation_level = None
        with pytest.raises(sqlite3.IntegrityError):
            conn.executemany(T, rows)
        assert not conn.in_transaction
        conn.rollback()  # nothing to undo: each row committed by itself
        seen.append(conn.execute("SELECT id, name FROM t ORDER BY id").fetchall())
    assert seen[0] == seen[1] == [(50, "existing"), (51, "a"), (52, "b")]


def test_plain_inserts_take_the_batch_path(pair: tuple[sqlite3.Connection, Any]) -> None:
    """The statement the scenarios above use is planned for batches (not silently one row at a time)."""
    _, ours = pair
    ours.executemany(T, [(None, f"r{i}", 1, i, None, None) for i in range(100)])
    assert ours._engine._batches[T] is not None
    ours.commit()
    assert ours.execute("SELECT count(*), max(id) FROM t").fetchone() == (101, 150)


def test_a_large_load_is_analyzed(pg_dsn: str) -> None:
    """After 50,000 rows from executemany the table has statistics, so the next reads' strays
    probe uses its index instead of scanning a table PostgreSQL has no statistics of yet."""
    ours = sqlmite.connect("load.db", database_url=pg_dsn, schema=f"ld_{uuid.uuid4().hex[:8]}")
    try:
        ours.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        ours.executemany("INSERT INTO t VALUES (?, ?)", ((i, f"v{i}") for i in range(1, 50_001)))
        ours.commit()
        table = f"{ours._engine.pg_schema}.t"
        assert ours._engine.pg.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass",
                                       (table,)).fetchone()[0] > 40_000
    finally:
        ours.close()
