"""SQLite's date and time functions on table data, differentially against APSW's SQLite (the
SQLite sqlmite answers as; Python's sqlite3 may link an older one whose date code differs).

Time strings in every form SQLite parses and many it rejects (generated, seeded), julian day
and unix numbers, each function with and without modifiers: every answer must be SQLite's.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from typing import Any

import apsw
import pytest

import sqlmite

FIXED = [
    "2024-01-15", "2024-01-15 10:20:30", "2024-01-15T10:20:30.123", "2024-02-30", "2023-02-29 23:59:59.9995",
    "2024-01-15 10:20", "2024-01-15 10:20:30Z", "2024-01-15 10:20:30+05:30", "2024-01-15 10:20:30 -01:00",
    "10:20:30", "24:00", "24:00:30", "2024-01-15 24:00", "2024-13-01", "2024-1-5", "garbage", "", "2459580.5",
    " 2459580.5 ", "1e6", "-0001-01-01", "0000-01-01", "9999-12-31 23:59:59.999", "2024-01-15 10:20:30.",
    "2024-01-15  10:20", "2024-01-15 T10:20", "12:60", "2024-01-31", "1970-01-01 00:00:00", "2000-02-29 12:00:00.5",
    "-1975-10-21 12:00", "2024-06-30 23:59:60", "2024-01-15 10:20:30+14:59", "2024-01-15 10:20:30+15:00",
]
NUMBERS = [2459580.5, 0.0, 1.0, 5373484.4, 5373484.5, -1.0, 1700000000.0, 86400.0, 2451545.0, 1e-9]
FUNCTIONS = [
    "date({})", "time({})", "datetime({})", "julianday({})", "unixepoch({})",
    "strftime('%Y-%m-%d %H:%M:%S %f %j %W %w %u %s %e %k %I %l %p %P %R %T %F %%', {})",
]
MODIFIERS = [
    "'+1 day'", "'-3 hours'", "'+1 month'", "'-13 months'", "'+1.5 months'", "'start of month'",
    "'start of year', '+2 years'", "'start of day', '+90 minutes', '+30.5 seconds'", "'+1 year'", "'unixepoch'",
    "'+25 hours'", "'+1 days'", "'+1 day', 'unixepoch'", "'-0.5 days'", "'+59 seconds'", "'START OF MONTH'",
    "'+1.25 years'", "'-1 month', 'start of month'",
    "'weekday 0'", "'weekday 3'", "'WEEKDAY 6', 'start of day'", "'weekday 7'", "'weekday 1.5'", "'weekday 2.0'",
    "'subsec'", "'+1.5 seconds', 'subsec'", "'subsecond', '+10 minutes'", "'unixepoch', 'subsec'",
]


def generated(count: int) -> list[str]:
    """Time strings near SQLite's grammar: right and wrong digits, separators, fractions, zones."""
    rng = random.Random(7)
    out = []
    for _ in range(count):
        y = rng.choice(["2024", "1999", "0001", "9999", "-0044", "20x4", "202"])
        mo = rng.choice(["01", "02", "12", "13", "00", "1"])
        d = rng.choice(["01", "28", "29", "30", "31", "32", "00"])
        sep = rng.choice([" ", "T", "  ", "", "t"])
        h = rng.choice(["00", "12", "23", "24", "25"])
        mi = rng.choice(["00", "30", "59", "60"])
        sec = rng.choice(["", ":00", ":59", ":60", ":5"])
        frac = rng.choice(["", ".5", ".123", ".9999", ".", ".0001"]) if sec else ""
        zone = rng.choice(["", "Z", "z", "+01:00", "-12:30", "+14:00", "+15:00", " +02:00", "+1:00"])
        date = f"{y}-{mo}-{d}"
        clock = f"{h}:{mi}{sec}{frac}{zone}"
        out.append(rng.choice([date, f"{date}{sep}{clock}", clock, f" {date}", f"{date}{sep}{clock} "]))
    return out


@pytest.fixture(scope="module")
def pair(pg_dsn: str) -> Iterator[tuple[Any, Any]]:
    reference = apsw.Connection(":memory:")
    ours = sqlmite.connect("datetimes.db", database_url=pg_dsn, schema=f"dt_{uuid.uuid4().hex[:8]}")
    rows = [(i, text, None) for i, text in enumerate(FIXED + generated(150))]
    rows += [(1000 + i, None, number) for i, number in enumerate(NUMBERS)]
    for conn in (reference, ours):
        conn.execute("CREATE TABLE d (id INTEGER PRIMARY KEY, t TEXT, r REAL)")
        conn.executemany("INSERT INTO d VALUES (?, ?, ?)", rows)
    ours.commit()
    yield reference, ours
    reference.close()
    ours.close()


@pytest.mark.parametrize("function", FUNCTIONS)
@pytest.mark.parametrize("modifiers", ["", *MODIFIERS])
def test_text_values(pair: tuple[Any, Any], function: str, modifiers: str) -> None:
    call = function.format("t" + (f", {modifiers}" if modifiers else ""))
    sql = f"SELECT id, t, {call} FROM d WHERE t IS NOT NULL ORDER BY id"
    reference, ours = pair
    assert ours.execute(sql).fetchall() == list(reference.execute(sql))


@pytest.mark.parametrize("function", FUNCTIONS)
@pytest.mark.parametrize("modifiers", ["", "'unixepoch'", "'+1 day'", "'start of month'"])
def test_number_values(pair: tuple[Any, Any], function: str, modifiers: str) -> None:
    call = function.format("r" + (f", {modifiers}" if modifiers else ""))
    sql = f"SELECT id, r, {call}, {function.format('CAST(r AS INTEGER)')} FROM d WHERE r IS NOT NULL ORDER BY id"
    reference, ours = pair
    assert ours.execute(sql).fetchall() == list(reference.execute(sql))


@pytest.mark.parametrize("sql", [
    "SELECT date(t, 'localtime') FROM d",  # the machine's zone: not PostgreSQL's to know
    "SELECT date(t, 'weekday  1') FROM d",  # SQLite also reads other spacings; only 'weekday N' so far
    "SELECT strftime('%J', t) FROM d",
    "SELECT date(t, t) FROM d",  # a modifier from the data
    "SELECT strftime(t, t) FROM d",
])
def test_refused_by_name(pair: tuple[Any, Any], sql: str) -> None:
    with pytest.raises(sqlmite.NotSupportedError):
        pair[1].execute(sql)
