"""printf()/format() on table data, differentially against APSW's SQLite: sqlmite.printf walks
the format as SQLite's printf.c does (flags, widths and precisions in bytes or, with ``!``, in
characters, ``*`` from the arguments, thousands separators, 64-bit two's complement for ``%x``,
quoting conversions, ``%c`` repeats, ordinals, an unknown conversion ending the output).

Formats are generated (seeded) from every flag, width, precision and conversion; each must give
SQLite's text row by row or be refused by name (floating point, text read as a number)."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from typing import Any

import apsw
import pytest

import sqlmite

ROWS = [(1, 0, "abc", 2), (2, -1, "héllo wörld", -3), (3, 9223372036854775807, "", 0), (4, -9223372036854775808, None, 7),
        (5, None, "it's", None), (6, 1234567, 'x"y', 12), (7, 42, "✓✓✓", 1), (8, 11, "a", -2147483649), (9, 3, "bc", 5),
        (10, 112, "Z", 2147483648), (11, 13, "%d", 3), (12, 1000, "ab'c'd", -1)]
FIXED = ["%d", "%5d", "%-5d|", "%05d", "%+d", "% d", "%,d", "%,015d", "%.3d", "%x", "%X", "%#x", "%#o", "%o", "%u",
         "%s", "%10s|", "%-10s|", "%.2s", "%!.2s", "%!10s|", "%q", "%Q", "%w", "%.2q", "%c", "%5c|", "%.3c", "%-4.3c|",
         "%r", "%5r", "%%", "a%", "%n", "%y rest", "%lld", "%ld", "%*d", "%-*d|", "%.*s", "x%sy%dz", "%#X", "%p",
         "%!5c|", "%!.3Q", "%0d", "%08.3d", "%+05d", "plain text", "", "%", "%%%d%%", "%5%|", "%-5%|"]


def formats(count: int) -> list[str]:
    rng = random.Random(3)
    out = []
    for _ in range(count):
        pieces = []
        for _ in range(rng.randint(1, 3)):
            flags = "".join(rng.sample("-+ #!0,", rng.randint(0, 3)))
            width = rng.choice(["", "", "1", "5", "12", "*"])
            precision = rng.choice(["", "", ".0", ".2", ".7", ".*", "."])
            length = rng.choice(["", "", "", "l", "ll"])
            conversion = rng.choice("ddiixXousssqQwcr%ny")
            pieces.append(rng.choice(["", "<", " : "]) + f"%{flags}{width}{precision}{length}{conversion}")
        out.append("".join(pieces) + rng.choice(["", ">"]))
    return out


@pytest.fixture(scope="module")
def pair(pg_dsn: str) -> Iterator[tuple[Any, Any]]:
    reference = apsw.Connection(":memory:")
    ours = sqlmite.connect("printf.db", database_url=pg_dsn, schema=f"pf_{uuid.uuid4().hex[:8]}")
    for conn in (reference, ours):
        conn.execute("CREATE TABLE p (id INTEGER PRIMARY KEY, i INTEGER, t TEXT, w INTEGER)")
        conn.executemany("INSERT INTO p VALUES (?, ?, ?, ?)", ROWS)
    ours.commit()
    yield reference, ours
    reference.close()
    ours.close()


def run(pair: tuple[Any, Any], sql: str) -> bool:
    """True when sqlmite ran the statement (and answered as SQLite); False when it refused it."""
    reference, ours = pair
    try:
        expected = [tuple(r) for r in reference.execute(sql)]
    except (apsw.TooBigError, UnicodeDecodeError):  # past SQLite's string limit, or a precision cutting a
        with pytest.raises(sqlmite.Error):         # character in two (invalid UTF-8): sqlmite fails too
            ours.execute(sql).fetchall()
        return True
    try:
        got = ours.execute(sql).fetchall()
    except sqlmite.NotSupportedError:
        return False
    assert got == expected, sql
    return True


@pytest.mark.parametrize("fmt", FIXED)
@pytest.mark.parametrize("args", ["i", "t", "w, i", "w, t", "i, t, i", "w, w, t"])
def test_fixed_formats(pair: tuple[Any, Any], fmt: str, args: str) -> None:
    run(pair, f"SELECT id, printf('{fmt}', {args}), format('{fmt}', {args}) FROM p ORDER BY id")


def test_generated_formats(pair: tuple[Any, Any]) -> None:
    ran = 0
    cases = formats(300)
    for fmt in cases:
        ran += run(pair, f"SELECT id, printf('{fmt}', w, i, w, t, i, w, t) FROM p ORDER BY id")
        ran += run(pair, f"SELECT id, printf('{fmt}', w, w, i, w, i, w, i) FROM p ORDER BY id")
    assert ran >= len(cases)  # at least half of the statements run (the rest read text as numbers)


def test_format_from_the_data(pair: tuple[Any, Any]) -> None:
    run(pair, "SELECT id, printf(t, i, w) FROM p WHERE id IN (1, 3, 11) ORDER BY id")
    run(pair, "SELECT printf(NULL, i), printf(), printf(id) FROM p ORDER BY id")


@pytest.mark.parametrize("sql", [
    "SELECT printf('%.2f', i) FROM p",  # SQLite's own floating-point digits
    "SELECT printf('%g', w) FROM p",
    "SELECT printf('%d', t) FROM p WHERE t <> ''",  # SQLite reads the text's numeric prefix
    "SELECT printf('%s', 1.5 * i) FROM p",  # a real's text is SQLite's own
])
def test_refused_by_name(pair: tuple[Any, Any], sql: str) -> None:
    with pytest.raises(sqlmite.NotSupportedError):
        pair[1].execute(sql).fetchall()
