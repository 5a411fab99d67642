"""SQLite's JSON functions on JSON held in TEXT columns, differentially against APSW's SQLite (the
SQLite sqlmite answers as; Python's sqlite3 may link one whose JSON code is older).

Documents are generated (seeded): nested objects and arrays, repeated keys, keys with dots,
blanks and escapes, strings with every escape, numbers in every RFC 8259 form and past 64 bits,
whitespace of every kind between tokens. Each path of each function must give SQLite's value
and storage class, row by row.
"""

from __future__ import annotations

import json
import random
import re
import uuid
from collections.abc import Iterator
from typing import Any

import apsw
import pytest
from driver_support import assert_same_rows

import sqlmite

NUMBERS = ["0", "-0", "1", "-1", "42", "9223372036854775807", "-9223372036854775808", "9223372036854775808",
           "-9223372036854775809", "123456789012345678901234567890", "1.5", "-2.5e-3", "1e5", "1E+5", "1.0",
           "0.1", "1.7976931348623157e308", "1e400", "-1e400", "5e-324", "1.50", "100E-2", "3.14159265358979323846"]
STRINGS = ['"x"', '""', '"a b"', '"line\\nbreak"', '"quote\\"d"', '"back\\\\slash"', '"sl\\/ash"', '"\\u00e9t\\u00E9"',
           '"é ✓ 😀"', '"\\ud83d\\ude00"', '"tab\\there"', '"\\b\\f\\r"', '"12"', '"null"']
KEYS = ["a", "b", "a.b", "a b", "x", "A", "é", "", "$", "0"]
BLANKS = ["", "", "", " ", "  ", "\t", "\n", "\r\n", " \t"]


def value(rng: random.Random, depth: int) -> str:
    kind = rng.random()
    if depth >= 3 or kind < 0.45:
        return rng.choice([*NUMBERS, *STRINGS, "true", "false", "null"])

    def blank() -> str:
        return rng.choice(BLANKS)

    if kind < 0.75:
        members = [f'{blank()}"{rng.choice(KEYS)}"{blank()}:{blank()}{value(rng, depth + 1)}{blank()}'
                   for _ in range(rng.randint(0, 4))]
        return "{" + ",".join(members) + blank() + "}"
    items = [f"{blank()}{value(rng, depth + 1)}{blank()}" for _ in range(rng.randint(0, 4))]
    return "[" + ",".join(items) + blank() + "]"


def documents(count: int) -> list[str]:
    rng = random.Random(11)
    fixed = ['{"a": 1, "a": 2}', '{"a":{"b":[10, {"c": "deep"}]}, "a.b": "dotted", "a b": [true, false, null]}',
             ' [1, 2, 3] ', '"just a string"', "12", "-0", "1e5", "true", "null", "[]", "{}", '{"a\\u0041": 5}',
             '[[[[1]]], {"x": {"y": [null]}}]', '{"0": "zero", "": "empty", "$": "dollar"}']
    return fixed + [rng.choice(BLANKS) + value(rng, 0) + rng.choice(BLANKS) for _ in range(count)]


ESCAPED_KEY = documents(0).index('{"a\\u0041": 5}')  # the document whose key is written with an escape
BAD = ["", " ", "[1, 2", "{'a': 1}", "{a: 1}", "[1,]", "01", ".5", "1.", "+1", "NaN", "0x10", "[1] // c",
       '"raw\x01control"', '{"a" 1}', "[1 2]", "tru", '"\\x41"', '"\\u12"', "[1]]", "{}{}"]
PATHS = ["$", "$.a", "$.b", "$.a.b", '$."a.b"', "$.a b", "$.x", "$.x.y", "$[0]", "$[1]", "$[2]", "$[#-1]",
         "$[#-2]", "$.a[0]", "$.a[#-1]", "$.a.b[1].c", "$.é", '$.""', "$.$", "$.0", "$[00]", "$[#]", "$.A"]
ABBREVIATED = ["'a'", "'b'", "'a.b'", "'a b'", "0", "1", "-1", "'[0]'", "'[#-1]'", "'$.a'", "'é'", "'0'"]
TEXTS = ["plain", "", "quote \" and \\ back", "tab\tnew\nline\rret", "\x01\x02\x1f\x7f", "é ✓ 😀", "</script>", "'",
         "null", "12"]


@pytest.fixture(scope="module")
def pair(pg_dsn: str) -> Iterator[tuple[Any, Any]]:
    reference = apsw.Connection(":memory:")
    ours = sqlmite.connect("json.db", database_url=pg_dsn, schema=f"js_{uuid.uuid4().hex[:8]}")
    docs = [(i, d) for i, d in enumerate(documents(200))] + [(10_000, None)]
    texts = [(i, t, i * 7 - 20 if i % 3 else None) for i, t in enumerate(TEXTS)] + [(100, None, 5)]
    for conn in (reference, ours):
        conn.execute("CREATE TABLE j (id INTEGER PRIMARY KEY, d TEXT)")
        conn.execute("CREATE TABLE bad (id INTEGER PRIMARY KEY, d TEXT)")
        conn.execute("CREATE TABLE v (id INTEGER PRIMARY KEY, t TEXT, n INTEGER)")
        conn.executemany("INSERT INTO j VALUES (?, ?)", docs)
        conn.executemany("INSERT INTO bad VALUES (?, ?)", list(enumerate(BAD)))
        conn.executemany("INSERT INTO v VALUES (?, ?, ?)", texts)
    ours.commit()
    yield reference, ours
    reference.close()
    ours.close()


def same(pair: tuple[Any, Any], sql: str) -> None:
    assert_same_rows(*pair, sql)


def test_documents_are_valid_json(pair: tuple[Any, Any]) -> None:
    """The generated documents are RFC 8259 JSON (Python's reader agrees), so every one runs."""
    for _, d in pair[0].execute("SELECT id, d FROM j WHERE d IS NOT NULL"):
        json.loads(d)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("function", ["json_extract(d, {})", "d ->> {}", "d -> {}", "json_type(d, {})",
                                      "json_array_length(d, {})"])
def test_paths(pair: tuple[Any, Any], function: str, path: str) -> None:
    call = function.format("'" + path + "'")
    same(pair, f"SELECT id, {call} FROM j ORDER BY id")


@pytest.mark.parametrize("path", ABBREVIATED)
@pytest.mark.parametrize("operator", ["->", "->>"])
def test_abbreviated_paths(pair: tuple[Any, Any], operator: str, path: str) -> None:
    same(pair, f"SELECT id, d {operator} {path} FROM j ORDER BY id")


@pytest.mark.parametrize("call", ["json(d)", "json_valid(d)", "json_type(d)", "json_array_length(d)",
                                  "json_extract(d, '$.a', '$[0]', '$.zz')", "json_quote(d)",
                                  "json_array(d, json(d), d -> '$.a', json_extract(d, '$', '$.a'))",
                                  "json_object('doc', json(d), 'raw', d, 'first', d -> 0)"])
def test_whole_documents(pair: tuple[Any, Any], call: str) -> None:
    same(pair, f"SELECT id, {call} FROM j ORDER BY id")


def test_validity_of_malformed_text(pair: tuple[Any, Any]) -> None:
    same(pair, "SELECT id, json_valid(d) FROM bad ORDER BY id")


@pytest.mark.parametrize("call", ["json(d)", "json_extract(d, '$')", "d -> '$'", "json_type(d)"])
def test_malformed_text_fails(pair: tuple[Any, Any], call: str) -> None:
    """SQLite fails on malformed JSON (it takes JSON5 too); sqlmite fails as well, never answers."""
    reference, ours = pair
    for (row_id,) in list(reference.execute("SELECT id FROM bad")):
        sql = f"SELECT {call} FROM bad WHERE id = {row_id}"
        try:
            expected = list(reference.execute(sql))
        except apsw.Error:
            with pytest.raises((sqlmite.OperationalError, sqlmite.NotSupportedError)):
                ours.execute(sql).fetchall()
            continue
        try:
            assert ours.execute(sql).fetchall() == [tuple(r) for r in expected]
        except sqlmite.NotSupportedError:  # JSON5 or raw control characters: SQLite's lenient reader only
            pass


@pytest.mark.parametrize("call", [
    "json_quote(t)", "json_quote(n)", "json_array(t, n, NULL)", "json_array()", "json_object()",
    "json_object('t', t, 'n', n, t, 1)", "json_object('nested', json_object('t', t), 'list', json_array(n, t))",
    "json_array(json_quote(t), json('[1, 2]'))", "json_extract(json_object('t', t, 'n', n), '$.t')",
    "json_object('t', t) ->> 't'", "json_type(json_array(t, n), '$[1]')",
    # json_extract keeps SQLite's JSON subtype for arrays and objects (embedded), ->> does not (quoted)
    ("json_array(json_extract(json_object('t', t, 'l', json_array(n)), '$.t'), "
    "json_extract(json_object('l', json_array(n, t)), '$.l'), json_object('l', json_array(n)) ->> '$.l')"),
    "json_quote(json_extract(json_array(t, n, json('true')), '$[2]'))",
])
def test_building(pair: tuple[Any, Any], call: str) -> None:
    reference, ours = pair
    sql = f"SELECT id, {call} FROM v ORDER BY id"
    try:
        expected = [tuple(r) for r in reference.execute(sql)]
    except apsw.Error as exc:  # a NULL label: SQLite's own error
        with pytest.raises(sqlmite.OperationalError, match=re.escape(str(exc).split(": ")[-1])):
            ours.execute(sql).fetchall()
        return
    assert ours.execute(sql).fetchall() == expected


@pytest.mark.parametrize("sql", [
    "SELECT json_group_array(t ORDER BY id), json_group_object(t, n ORDER BY id DESC) FROM v",
    ("SELECT n % 2, json_group_array(json_object('id', id, 't', t) ORDER BY t DESC, id) FROM v GROUP BY n % 2 "
     "ORDER BY 1"),
    "SELECT json_group_array(n ORDER BY id) FROM v WHERE id < 0",
    "SELECT json_group_object(t, json_array(n) ORDER BY id) FROM v",
])
def test_aggregates(pair: tuple[Any, Any], sql: str) -> None:
    same(pair, sql)


@pytest.mark.parametrize("sql", [
    "SELECT id FROM j WHERE json_extract(d, '$.a') + 1 = 2",  # a class known per row, inside arithmetic
    "SELECT id FROM j WHERE json_extract(d, '$.a') = id",  # a column would give it affinity first
    "SELECT json_extract(d, d) FROM j",  # a path from the data
    "SELECT json_extract(d, '$.a[x]') FROM j",  # a path SQLite reports for some documents only
    "SELECT json_extract(d, '$.\"a\\\"b\"') FROM j",
    "SELECT json_array(1.5, d) FROM j",  # SQLite's own digits for reals
    "SELECT json_group_array(d) FROM j",  # SQLite's scan order
    "SELECT json_valid(d, 6) FROM j",
    "SELECT json_array(coalesce(json(d), 'x')) FROM j",  # whether SQLite keeps it JSON depends on the expression
    "SELECT json(X'00') FROM j",
])
def test_refused_by_name(pair: tuple[Any, Any], sql: str) -> None:
    with pytest.raises(sqlmite.NotSupportedError):
        pair[1].execute(sql).fetchall()


def test_json_values_in_writes(pair: tuple[Any, Any]) -> None:
    """UPDATE and INSERT ... SELECT store what the functions give, as SQLite stores it."""
    reference, ours = pair
    for conn in (reference, ours):
        conn.execute("CREATE TABLE out (id INTEGER PRIMARY KEY, a TEXT, b TEXT)")
        conn.execute("INSERT INTO out SELECT id, json_object('t', t, 'n', n), json_array(t) FROM v")
        conn.execute("UPDATE out SET b = json(a) -> '$.t' WHERE id % 2 = 0")
    same(pair, "SELECT * FROM out ORDER BY id")
    ours.rollback()


@pytest.mark.parametrize("condition", [
    "json_extract(d, '$.a') = 1", "d ->> 'a' = 1.0", "d ->> 'a' > 1", "d ->> '$[0]' < 'x'", "d ->> 'a' = 'x'",
    "json_extract(d, '$.a') IS NULL", "json_extract(d, '$.a') IS NOT NULL", "d ->> 'a' IN (1, 2, 'x', NULL)",
    "d ->> 'a' NOT IN (1, 'x')", "d ->> '$[0]' BETWEEN 0 AND 100", "d ->> 'b' = d ->> 'a'",
    "9223372036854775807 < d ->> '$'", "d ->> '$' = 9223372036854775808.0", "d ->> '$' >= 1e308",
    "d ->> '$' = 0", "-1 <= d ->> '$[0]'", "d ->> 'x' = X'41'", "d ->> 'a' < X'00'", "NOT (d ->> 'a' = 2)",
])
def test_conditions(pair: tuple[Any, Any], condition: str) -> None:
    """A JSON value in WHERE compares as SQLite compares values without affinity."""
    same(pair, f"SELECT id FROM j WHERE {condition} ORDER BY id")


EDITS = ["json_set(d, {p}, 'v')", "json_set(d, {p}, json('[1, {{\"k\": 2}}]'), '$.new', 7)", "json_insert(d, {p}, 0)",
         "json_replace(d, {p}, NULL)", "json_remove(d, {p})", "json_remove(d, {p}, '$[0]')",
         "json_set(d, {p}, json_object('t', 'x'), {p} || '.deeper', 1)"]


@pytest.mark.parametrize("path", ["$", "$.a", "$.a.b", "$.x.y", "$[0]", "$[2]", "$[#]", "$[#-1]", "$.a[#]", "$.zz[0]",
                                  '$."a.b"', "$.a[9]"])
@pytest.mark.parametrize("edit", EDITS)
def test_editing(pair: tuple[Any, Any], edit: str, path: str) -> None:
    """json_set/insert/replace/remove edit the text as SQLite does (first of repeated keys, members
    in order, missing objects created), on every generated document."""
    call = edit.format(p="'" + path + "'")
    same(pair, f"SELECT id, {call} FROM j WHERE id <> {ESCAPED_KEY} ORDER BY id")


def test_editing_keys_written_with_escapes_is_refused(pair: tuple[Any, Any]) -> None:
    """SQLite keeps a key's escapes as written; rebuilding the object would change them."""
    with pytest.raises(sqlmite.NotSupportedError):
        pair[1].execute(f"SELECT json_set(d, '$.b', 1) FROM j WHERE id = {ESCAPED_KEY}").fetchall()


def test_a_subquerys_json_is_text(pair: tuple[Any, Any]) -> None:
    """SQLite's JSON subtype does not cross a scalar subquery: its JSON is embedded as a string."""
    same(pair, "SELECT id, json_object('inner', (SELECT json_array(t, n) FROM v WHERE v.id = 1)) FROM v ORDER BY id")


@pytest.mark.parametrize("function", ["json_each", "json_tree"])
@pytest.mark.parametrize("path", ["", ", '$'", ", '$.a'", ", '$[1]'", ", '$.x.y'", ", '$.zz'", ", NULL"])
def test_table_functions(pair: tuple[Any, Any], function: str, path: str) -> None:
    """json_each/json_tree over each generated document: key, value, type, atom, fullkey, path."""
    reference, ours = pair
    # Repeated keys make rows that only their document order tells apart: compared as multisets.
    sql = (f"SELECT j.id, e.key, e.value, e.type, e.atom, e.fullkey, e.path FROM j, {function}(j.d{path}) AS e "
           f"WHERE j.id <> {ESCAPED_KEY}")
    assert sorted(map(repr, ours.execute(sql).fetchall())) == sorted(repr(tuple(r)) for r in reference.execute(sql))


@pytest.mark.parametrize("sql", [
    (f"SELECT id FROM j WHERE id <> {ESCAPED_KEY} AND EXISTS (SELECT 1 FROM json_each(j.d) AS e WHERE e.value = 'x') "
    "ORDER BY id"),
    (f"SELECT j.id, count(*) FROM j, json_each(j.d) AS e WHERE j.id <> {ESCAPED_KEY} AND e.type = 'integer' "
    "GROUP BY j.id ORDER BY j.id"),
    (f"SELECT j.id, e.fullkey FROM j LEFT JOIN json_each(j.d) AS e ON e.key = 'a' WHERE j.id <> {ESCAPED_KEY} "
    "ORDER BY j.id, e.fullkey"),
    (f"SELECT j.id, e.fullkey FROM j JOIN json_tree(j.d) AS e ON e.atom > 100 WHERE j.id <> {ESCAPED_KEY} "
    "ORDER BY j.id, e.fullkey"),
    "SELECT v.id, e.value FROM v, json_each(json_array(v.t, v.n)) AS e ORDER BY v.id, e.fullkey",
    # IN over values whose class varies per row, as EF Core asks about primitive collections
    f"SELECT id FROM j WHERE id <> {ESCAPED_KEY} AND 1 IN (SELECT value FROM json_each(j.d)) ORDER BY id",
    (f"SELECT id, 'x' IN (SELECT e.value FROM json_each(j.d) AS e), 2 NOT IN (SELECT value FROM json_each(j.d)), "
    f"NULL IN (SELECT value FROM json_each(j.d)) FROM j WHERE id <> {ESCAPED_KEY} ORDER BY id"),
    (f"SELECT id FROM j WHERE id <> {ESCAPED_KEY} AND json_extract(d, '$[0]') IN (SELECT value FROM json_each(d)) "
    "ORDER BY id"),
])
def test_table_functions_in_queries(pair: tuple[Any, Any], sql: str) -> None:
    same(pair, sql)


@pytest.mark.parametrize("sql", [
    "SELECT e.id, e.parent FROM j, json_each(j.d) AS e",  # SQLite's offsets into its binary JSON
    "SELECT * FROM j, json_each(j.d)",
    "SELECT e.value + 1 FROM j, json_each(j.d) AS e",  # a class known per row, inside arithmetic
    "SELECT t IN (SELECT value FROM json_each(json_array('plain', 12))) FROM v",  # t's affinity would convert 12
    "SELECT e.key FROM j, json_each(j.d) AS e ORDER BY e.key",  # sorting values of several classes
    f"SELECT e.fullkey FROM j, json_each(j.d) AS e WHERE j.id = {ESCAPED_KEY}",  # keys shown as written
])
def test_table_functions_refused(pair: tuple[Any, Any], sql: str) -> None:
    with pytest.raises(sqlmite.NotSupportedError):
        pair[1].execute(sql).fetchall()


@pytest.mark.parametrize("sql", [
    "SELECT id, typeof(json_extract(d, '$.a')), typeof(d ->> '$[0]'), typeof(d -> '$') FROM j ORDER BY id",
    ("SELECT id, CAST(json_extract(d, '$.a') AS INTEGER), CAST(d ->> '$.a' AS REAL) FROM j "
    "WHERE json_type(d, '$.a') IN ('integer', 'real', 'true', 'false', 'null') OR json_type(d, '$.a') IS NULL "
    "ORDER BY id"),
    ("SELECT id, CASE WHEN typeof(json_extract(d, '$[0]')) IN ('integer', 'text') "
     "THEN CAST(json_extract(d, '$[0]') AS TEXT) END FROM j ORDER BY id"),
    ("SELECT id FROM j WHERE CASE WHEN typeof(d ->> '$[0]') = 'integer' THEN CAST(json_extract(d, '$[0]') AS INTEGER) "
     "END > 5 ORDER BY id"),
])
def test_per_row_values_in_typeof_and_cast(pair: tuple[Any, Any], sql: str) -> None:
    same(pair, sql)


def test_cast_of_text_to_a_number_is_refused(pair: tuple[Any, Any]) -> None:
    with pytest.raises(sqlmite.NotSupportedError):  # SQLite reads the text's numeric prefix
        pair[1].execute("SELECT CAST(json_extract('{\"a\": \"12x\"}', '$.a') AS INTEGER) FROM v").fetchall()
