"""round(x, n) on table data, differentially against APSW's SQLite: SQLite rounds the double's
exact decimal expansion half away from zero (its "%!.*f"), which PostgreSQL's float8 → numeric
(15 digits) would not; sqlmite.round_real computes the exact expansion."""

from __future__ import annotations

import math
import random
import struct
import uuid
from collections.abc import Iterator
from typing import Any

import apsw
import pytest
from driver_support import assert_same_rows

import sqlmite

FIXED = [2.675, -2.675, 1.005, 0.125, -0.125, 0.5, -0.5, 1.5, 2.5, -0.001, -0.004, 0.0, -0.0, 1e-300, 5e-324,
         -5e-324, 4503599627370496.0, 4503599627370497.0, -4503599627370495.5, 123456789.123456789, 0.1 + 0.2,
         1.2345678901234568e-05, 1e15 + 0.3, 9.995, 99.995, 0.045, 1.0000000000000002, float("inf"), float("-inf")]


def reals(count: int) -> list[float]:
    rng = random.Random(5)
    out = []
    while len(out) < count:
        kind = rng.random()
        if kind < 0.3:
            x = round(rng.uniform(-1000, 1000), rng.randint(0, 6)) + rng.choice([0.0, 5e-7, -5e-7, 0.005, 0.0005])
        elif kind < 0.5:
            x = rng.randint(-10**6, 10**6) / rng.choice([8, 16, 40, 200, 1000, 3])
        elif kind < 0.8:
            x = rng.uniform(-1, 1) * 10 ** rng.randint(-20, 16)
        else:
            x = struct.unpack("d", struct.pack("Q", rng.getrandbits(64)))[0]
        if not math.isnan(x):
            out.append(x)
    return out


@pytest.fixture(scope="module")
def pair(pg_dsn: str) -> Iterator[tuple[Any, Any]]:
    reference = apsw.Connection(":memory:")
    ours = sqlmite.connect("rounding.db", database_url=pg_dsn, schema=f"rd_{uuid.uuid4().hex[:8]}")
    rows = [(i, x, i % 40 - 5) for i, x in enumerate(FIXED + reals(600))] + [(10_000, None, 2), (10_001, 1.5, None)]
    for conn in (reference, ours):
        conn.execute("CREATE TABLE r (id INTEGER PRIMARY KEY, x REAL, n INTEGER)")
        conn.executemany("INSERT INTO r VALUES (?, ?, ?)", rows)
        conn.execute("CREATE TABLE i (id INTEGER PRIMARY KEY, v INTEGER)")
        conn.executemany("INSERT INTO i VALUES (?, ?)", [(1, 7), (2, -9007199254740993), (3, 2**62 + 1), (4, None)])
    ours.commit()
    yield reference, ours
    reference.close()
    ours.close()


def same(pair: tuple[Any, Any], sql: str) -> None:
    assert_same_rows(*pair, sql)


@pytest.mark.parametrize("places", ["1", "2", "3", "5", "10", "15", "17", "20", "30", "31", "-1", "NULL", "n"])
def test_reals(pair: tuple[Any, Any], places: str) -> None:
    same(pair, f"SELECT id, round(x, {places}) FROM r ORDER BY id")


def test_integers(pair: tuple[Any, Any]) -> None:
    same(pair, "SELECT id, round(v, 2), round(v, 0), round(v) FROM i ORDER BY id")


def test_in_expressions(pair: tuple[Any, Any]) -> None:
    same(pair, "SELECT id FROM r WHERE round(x, 2) = 2.68 OR round(x * 10, 1) > 1e6 ORDER BY id")
    same(pair, "SELECT round(sum(x), 2) FROM r WHERE abs(x) < 1e6")
