"""What bench/driver.py measures on: the schema, the rows, and the statements.

One SQLite file (stdlib ``sqlite3``, WAL) holds ``items`` (``--rows`` rows, six typed columns,
an index on ``category``) and ``categories`` (100 rows). ``sqlmite migrate`` (its Python API,
the driver's PRIMARY profile, no backup) copies it into the run's PostgreSQL schema, so the
driver, raw psycopg and SQLite all read the same rows; the driver then opens that schema with
``sqlmite.connect(file, database_url=..., schema=...)`` as docs/driver.md describes.
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlmite.config import load_settings
from sqlmite.mapping.ddl import Profile
from sqlmite.migrate.run import migrate

CATEGORIES = 100
Row = tuple[int, str, int, float | None, int, str]

COLUMNS = "id, name, category, price, qty, created"
TABLE_DDL = ("CREATE TABLE {name} (id INTEGER PRIMARY KEY, name TEXT NOT NULL, category INTEGER NOT NULL, "
             "price REAL, qty INTEGER, created TEXT)")
INDEX_DDL = "CREATE INDEX {name}_category ON {name} (category)"

POINT_SELECT = "SELECT * FROM items WHERE id = ?"
INSERT = f"INSERT INTO {{name}} ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"

# The representative statements whose translation is timed: (label, SQLite text); see params_for.
STATEMENTS: list[tuple[str, str]] = [
    ("point SELECT by primary key", POINT_SELECT),
    ("join + WHERE + ORDER BY + LIMIT",
     ("SELECT i.id, i.name, c.title, i.price FROM items AS i JOIN categories AS c ON c.id = i.category "
      "WHERE i.qty > ? AND i.price < ? ORDER BY i.price DESC LIMIT 20")),
    ("aggregate + GROUP BY",
     "SELECT category, count(*), sum(qty), max(price) FROM items WHERE qty > ? GROUP BY category"),
    ("INSERT (one row)", INSERT.format(name="items")),
    ("UPDATE by primary key", "UPDATE items SET qty = ?, price = ? WHERE id = ?"),
]


def make_row(rng: random.Random, i: int) -> Row:
    """Row ``i``: an int key, a name, a category, a price (2% NULL), a quantity, an ISO date."""
    price = None if rng.random() < 0.02 else round(rng.uniform(0.5, 999.5), 2)
    day = 1 + rng.randrange(365)
    return (i, f"item {i:07d} {rng.choice(WORDS)}", rng.randrange(CATEGORIES), price, rng.randrange(1000),
            f"2024-{1 + (day - 1) // 31 % 12:02d}-{1 + (day - 1) % 28:02d} {rng.randrange(24):02d}:00:00")


WORDS = ("red", "green", "blue", "large", "small", "boxed", "spare", "classic", "deluxe", "basic")


def params_for(label: str, i: int, rows: int, rng: random.Random) -> tuple[Any, ...]:
    """Parameters of call ``i`` of a statement: different every call, so the bound text is never repeated."""
    if label.startswith("point"):
        return (1 + rng.randrange(rows),)
    if label.startswith("join"):
        return (rng.randrange(900, 1000), round(rng.uniform(1, 999), 3))
    if label.startswith("aggregate"):
        return (rng.randrange(1000),)
    if label.startswith("INSERT"):
        return make_row(rng, rows + 1 + i)
    return (rng.randrange(1000), round(rng.uniform(1, 999), 3), 1 + rng.randrange(rows))


def build_sqlite(path: Path, rows: int, seed: int) -> float:
    """The SQLite file (WAL) with ``items`` and ``categories``; seconds taken."""
    started = time.monotonic()
    rng = random.Random(seed)
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("CREATE TABLE categories (id INTEGER PRIMARY KEY, title TEXT NOT NULL)")
        conn.execute(TABLE_DDL.format(name="items"))
        conn.execute(INDEX_DDL.format(name="items"))
        conn.executemany("INSERT INTO categories VALUES (?, ?)", [(i, f"category {i}") for i in range(CATEGORIES)])
        conn.executemany(f"INSERT INTO items ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                         (make_row(rng, i) for i in range(1, rows + 1)))
        conn.commit()
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return time.monotonic() - started


def migrate_into(path: Path, dsn: str, schema: str) -> tuple[float, int]:
    """``sqlmite migrate`` of the file into ``schema`` (PRIMARY profile, as the driver creates tables)."""
    result = migrate(path, load_settings(cli={"database_url": dsn}), pg_schema=schema, profile=Profile.PRIMARY,
                     make_backup=False, jobs=1)
    return result.seconds, result.rows


def insert_rows(count: int, seed: int) -> list[Row]:
    """The rows every executemany writes (ids 1..count into an empty table)."""
    rng = random.Random(seed + 1)
    return [make_row(rng, i) for i in range(1, count + 1)]


def same_rows(got: Sequence[Sequence[Any]], want: Sequence[Sequence[Any]]) -> str | None:
    """None if equal, else what differs first."""
    if len(got) != len(want):
        return f"{len(got):,} rows instead of {len(want):,}"
    for g, w in zip(got, want, strict=True):
        if tuple(g) != tuple(w):
            return f"row {tuple(g)!r} instead of {tuple(w)!r}"
    return None
