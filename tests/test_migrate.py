"""``sqlmite migrate`` against real SQLite files and real PostgreSQL: nothing lost, nothing bent.

Every test runs the command as a user does (a separate process), looks at what PostgreSQL now
holds, and compares it back with the SQLite file value by value, storage class included.

The first group answers, one test each, what pgloader 3.6.9 was measured to get wrong: REAL
shrunk to 4 bytes, NOT NULL dropped, text in an INTEGER column dropped while reporting success,
crashes on expression indexes and STRICT ``ANY`` columns, partial-index predicates, DESC,
COLLATE NOCASE, CHECK, views and triggers lost, and exit status 0 after every row failed.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import apsw
import psycopg
import pytest
from migration_support import (
    FIXTURES,
    assert_round_trip,
    assert_same_file,
    canon,
    errors_of,
    indexdef,
    make_db,
    migrate,
    migrate_json,
    row_counts,
    run,
    squash,
    user_tables_of,
)
from psycopg import errors as pgerrors

from sqlmite.testing import generate

EXACT_REALS = [0.1, 1e-300, -1e-300, 1 / 3, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, -2.5,
               math.pi, 16777217.0, 0.30000000000000004, 123456789.12345679, math.inf, -math.inf]

PGLOADER_SQL = """
CREATE TABLE measurements (id INTEGER PRIMARY KEY, value REAL NOT NULL, unit TEXT);
CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT NOT NULL, age INTEGER NOT NULL, email TEXT);
CREATE TABLE files (id INTEGER PRIMARY KEY, path TEXT NOT NULL, size INTEGER);
CREATE TABLE songs (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    artist TEXT,
    plays INTEGER NOT NULL DEFAULT 0 CHECK (plays >= 0),
    rating REAL,
    CONSTRAINT rating_range CHECK (rating IS NULL OR rating BETWEEN 0 AND 5)
);
CREATE INDEX songs_title_nocase ON songs (title COLLATE NOCASE);
CREATE INDEX songs_plays_desc ON songs (plays DESC, id);
CREATE UNIQUE INDEX songs_rated_once ON songs (artist, title) WHERE rating IS NOT NULL;
CREATE INDEX songs_lower_artist ON songs (lower(artist));
CREATE INDEX songs_score ON songs (plays * 2 + 1);
CREATE TABLE tags (id INTEGER PRIMARY KEY, name TEXT NOT NULL COLLATE NOCASE UNIQUE);
CREATE TABLE anything (id INTEGER PRIMARY KEY, v ANY, label TEXT NOT NULL) STRICT;
CREATE VIEW popular AS SELECT title, plays FROM songs WHERE plays > 10;
CREATE TRIGGER songs_never_negative BEFORE UPDATE OF plays ON songs WHEN NEW.plays < 0
BEGIN SELECT RAISE(ABORT, 'plays cannot go negative'); END;
CREATE TRIGGER people_lower_email AFTER INSERT ON people
BEGIN UPDATE people SET email = lower(NEW.email) WHERE id = NEW.id; END;
INSERT INTO people (name, age, email) VALUES ('Ada', 36, 'ADA@EXAMPLE.ORG'), ('Alan', 41, NULL), ('', 0, '');
INSERT INTO files (path, size) VALUES ('/a', 4096), ('/b', 'unknown'), ('/c', NULL), ('/d', '12abc'), ('/e', ''),
                                      ('/f', '42'), ('/g', 9223372036854775807);
INSERT INTO songs (title, artist, plays, rating) VALUES ('Song', 'Band', 12, 4.5), ('song', 'Band', 3, NULL),
    ('Song', 'Band', 0, NULL), ('Other', NULL, 99, 0), ('Ünïcode', 'Bänd', 11, 5);
INSERT INTO tags (name) VALUES ('rock'), ('Pop'), ('ünicode');
"""

ANY_VALUES: list[tuple[Any, ...]] = [
    (1, 42, "integer"), (2, 2.5, "real"), (3, "text", "text"), (4, b"\x00\x01\xff", "blob"), (5, None, "null"),
    (6, "42", "text that looks like an integer"), (7, -0.0, "negative zero"), (8, math.inf, "infinity"),
    (9, 9223372036854775807, "largest integer"), (10, "", "empty text"), (11, b"", "empty blob"),
    (12, 1e-300, "tiny real"),
]


@dataclass
class Migrated:
    source: Path
    schema: str
    work: Path
    summary: dict[str, Any]
    result: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def pgl(tmp_path_factory: pytest.TempPathFactory, pg_dsn: str) -> Migrated:
    """One database with everything pgloader lost, migrated once with ``--json``."""
    work = tmp_path_factory.mktemp("pgloader")
    source = make_db(work / "pgloader.db", PGLOADER_SQL, {
        "measurements": [(i + 1, v, "unit") for i, v in enumerate(EXACT_REALS)],
        "anything": ANY_VALUES,
    })
    result = migrate(source, pg_dsn, "pgl", work, "--json")
    assert result.returncode == 0, result.stderr
    return Migrated(source, "pgl", work, json.loads(result.stdout), result)


def test_real_columns_stay_double_precision_with_exact_values(pgl: Migrated, pg: psycopg.Connection) -> None:
    kind = pg.execute("SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                      "WHERE attrelid = 'pgl.measurements'::regclass AND attname = 'value'").fetchone()
    assert kind == ("double precision",)  # pgloader: real (4 bytes), 0.1 became 0.100000001490116
    stored = [r[0] for r in pg.execute("SELECT value FROM pgl.measurements ORDER BY id")]
    assert [canon(v) for v in stored] == [canon(v) for v in EXACT_REALS]  # bit for bit, natively
    assert pg.execute("SELECT count(*) FROM pgl.measurements WHERE value = 0.1::float8 "
                      "OR value = 1e-300::float8").fetchone() == (2,)
    assert pg.execute("SELECT count(*) FROM pgl.measurements WHERE _sqlmite_overflow IS NOT NULL").fetchone() == (0,)
    assert_round_trip(pgl.source, pg.info.dsn, "pgl", tables=["measurements"])


def test_not_null_constraints_are_kept(pgl: Migrated, pg: psycopg.Connection) -> None:
    not_null = dict(pg.execute(
        "SELECT c.relname || '.' || a.attname, a.attnotnull FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'pgl' AND a.attnum > 0 "
        "AND NOT a.attisdropped AND c.relkind = 'r'").fetchall())
    for column in ("measurements.value", "people.name", "people.age", "files.path", "songs.title", "songs.plays",
                   "tags.name", "anything.label"):
        assert not_null[column] is True, column
    for column in ("measurements.unit", "people.email", "files.size", "songs.artist", "songs.rating"):
        assert not_null[column] is False, column
    with pg.transaction(force_rollback=True):
        with pytest.raises(pgerrors.NotNullViolation), pg.transaction():
            pg.execute("INSERT INTO pgl.people (name, age) VALUES (NULL, 1)")
        with pytest.raises(pgerrors.NotNullViolation), pg.transaction():
            pg.execute("INSERT INTO pgl.measurements (value) VALUES (NULL)")
    assert_round_trip(pgl.source, pg.info.dsn, "pgl", tables=["people", "measurements"])


def test_text_in_an_integer_column_is_kept_and_comes_back_as_text(pgl: Migrated, pg: psycopg.Connection) -> None:
    rows = pg.execute("SELECT path, size, _sqlmite_overflow FROM pgl.files ORDER BY id").fetchall()
    assert rows == [
        ("/a", 4096, None),
        ("/b", None, {"size": ["t", "unknown"]}),  # pgloader dropped this row and reported success
        ("/c", None, None),
        ("/d", None, {"size": ["t", "12abc"]}),
        ("/e", None, {"size": ["t", ""]}),
        ("/f", 42, None),  # SQLite's INTEGER affinity made '42' an integer on insert
        ("/g", 9223372036854775807, None),
    ]
    loaded = {t["name"]: t["rows"] for t in pgl.summary["tables"]}
    assert loaded["files"] == 7 and pgl.summary["rows"] == sum(row_counts(pgl.source).values())
    assert_round_trip(pgl.source, pg.info.dsn, "pgl", tables=["files"])  # 'unknown' is TEXT again


def test_expression_indexes_and_a_strict_any_column_migrate(pgl: Migrated, pg: psycopg.Connection) -> None:
    assert 'lowerartistCOLLATE"C"' in squash(indexdef(pg, "pgl", "songs_lower_artist"))
    # SQLite's integer arithmetic, in numeric so that overflow does not raise
    assert "plays::numeric*2::numeric+1::numeric" in squash(indexdef(pg, "pgl", "songs_score"))
    valid = pg.execute("SELECT bool_and(i.indisvalid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                       "WHERE c.relname IN ('songs_lower_artist', 'songs_score') "
                       "AND c.relnamespace = 'pgl'::regnamespace").fetchone()
    assert valid == (True,)
    # the STRICT table's ANY column holds every storage class; each comes back as given
    counts = assert_round_trip(pgl.source, pg.info.dsn, "pgl", tables=["anything", "songs"])
    assert counts["anything"] == len(ANY_VALUES)
    declared = pg.execute("SELECT declared_type FROM sqlmite.columns WHERE schema_name = 'pgl' "
                          "AND table_name = 'anything' AND name = 'v'").fetchone()
    assert declared == ("ANY",)


def test_partial_predicate_desc_nocase_and_check_are_in_the_catalog(pgl: Migrated, pg: psycopg.Connection) -> None:
    partial = indexdef(pg, "pgl", "songs_rated_once")
    assert partial.startswith("CREATE UNIQUE INDEX") and squash(partial).endswith("WHERENOTratingISNULL"), partial
    assert "plays DESC NULLS LAST" in indexdef(pg, "pgl", "songs_plays_desc")
    assert 'lowertitleCOLLATE"C"' in squash(indexdef(pg, "pgl", "songs_title_nocase"))
    tags = [squash(r[0]) for r in pg.execute("SELECT indexdef FROM pg_indexes WHERE schemaname = 'pgl' "
                                             "AND tablename = 'tags'")]
    assert any("UNIQUEINDEX" in d and 'lowernameCOLLATE"C"' in d for d in tags), tags  # NOCASE UNIQUE column
    checks = sorted(squash(r[0]) for r in pg.execute("SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                                                     "WHERE conrelid = 'pgl.songs'::regclass AND contype = 'c'"))
    assert checks == ["CHECKplays>=0",
                      "CHECKratingISNULLORrating>='0'::doubleprecisionANDrating<='5'::doubleprecision"], checks
    # ... and PostgreSQL enforces them with SQLite's meaning (all undone at the end).
    with pg.transaction(force_rollback=True):
        pg.execute("INSERT INTO pgl.songs (title, artist, plays) VALUES ('Song', 'Band', 1)")  # unrated: allowed
        with pytest.raises(pgerrors.UniqueViolation), pg.transaction():
            pg.execute("INSERT INTO pgl.songs (title, artist, plays, rating) VALUES ('Song', 'Band', 1, 3)")
        with pytest.raises(pgerrors.CheckViolation), pg.transaction():
            pg.execute("UPDATE pgl.songs SET plays = -1 WHERE title = 'Other'")
        with pytest.raises(pgerrors.CheckViolation), pg.transaction():
            pg.execute("UPDATE pgl.songs SET rating = 5.5 WHERE title = 'Other'")
        with pytest.raises(pgerrors.UniqueViolation), pg.transaction():
            pg.execute("INSERT INTO pgl.tags (name) VALUES ('ROCK')")  # NOCASE: 'rock' is already there
        pg.execute("INSERT INTO pgl.tags (name) VALUES ('ÜNICODE')")  # NOCASE folds ASCII only, like SQLite
    assert_round_trip(pgl.source, pg.info.dsn, "pgl", tables=["songs", "tags"])


def test_views_and_triggers_are_kept_in_the_metadata(pgl: Migrated, pg: psycopg.Connection) -> None:
    conn = apsw.Connection(str(pgl.source), flags=apsw.SQLITE_OPEN_READONLY)
    expected = conn.execute("SELECT type, name, sql FROM sqlite_master WHERE type IN ('view', 'trigger') "
                            "ORDER BY rowid").fetchall()
    conn.close()
    assert [r[1] for r in expected] == ["popular", "songs_never_negative", "people_lower_email"]
    saved = pg.execute("SELECT type, name, sql FROM sqlmite.master WHERE schema_name = 'pgl' "
                       "AND type IN ('view', 'trigger') ORDER BY seq").fetchall()
    assert [tuple(r) for r in saved] == expected  # verbatim
    for kind, name, _ in expected:
        assert any(f"{kind} {name!r}" in note for note in pgl.summary["notes"]), (name, pgl.summary["notes"])
    assert_round_trip(pgl.source, pg.info.dsn, "pgl")  # every table, sqlite_master in order


def test_json_summary_shape(pgl: Migrated) -> None:
    s = pgl.summary
    assert set(s) >= {"source", "pg_schema", "target", "backup", "resumed", "seconds", "rows", "rows_per_second",
                      "tables", "skipped", "notes"}
    assert s["source"] == str(pgl.source) and s["pg_schema"] == "pgl" and s["resumed"] is False
    assert s["skipped"] == [] and s["seconds"] > 0 and isinstance(s["rows_per_second"], int)
    assert sorted(t["name"] for t in s["tables"]) == sorted(user_tables_of(pgl.source))
    assert all(set(t) == {"name", "rows", "seconds"} for t in s["tables"])
    counts = row_counts(pgl.source)
    assert {t["name"]: t["rows"] for t in s["tables"]} == {n: counts[n] for n in user_tables_of(pgl.source)}
    assert s["target"].startswith("postgresql://")
    assert Path(s["backup"]).parent == pgl.work / "backups" and Path(s["backup"]).is_file()
    # progress goes to stderr as plain lines (no terminal here), one per loaded table
    assert re.search(r"loading \d+ tables, [\d,]+ rows", pgl.result.stderr), pgl.result.stderr
    for name in user_tables_of(pgl.source):
        assert f"loaded {name} rows=" in pgl.result.stderr


FAILING_CASES = {
    # case: (extra SQL, exit code, the error line says, loader processes of the first run)
    "text that is not UTF-8": (
        "INSERT INTO bad (n, s) VALUES (2, CAST(X'C328' AS TEXT));",  # 0xC3 0x28: not UTF-8
        6, ["not valid UTF-8", "table 'bad', column 's', row 2"], "1"),
    "a WITHOUT ROWID key that is not UTF-8": (
        "CREATE TABLE keyed (k TEXT PRIMARY KEY, v) WITHOUT ROWID;"
        "INSERT INTO keyed VALUES ('fine', 1), (CAST(X'FF41' AS TEXT), 2);",
        6, ["not valid UTF-8", "table 'keyed', column 'k'"], "2"),
    "rows violating a CHECK that SQLite did not enforce": (
        "PRAGMA ignore_check_constraints = 1; INSERT INTO bad (n, s) VALUES (-5, 'negative');",
        5, ["check constraint", "bad"], "1"),
}


@pytest.mark.parametrize("case", list(FAILING_CASES))
def test_a_failing_run_exits_non_zero(case: str, tmp_path: Path, pg: psycopg.Connection) -> None:
    extra, code, says, jobs = FAILING_CASES[case]
    schema = f"fail_{list(FAILING_CASES).index(case)}"
    source = make_db(tmp_path / "fails.db", f"""
        CREATE TABLE good (id INTEGER PRIMARY KEY, v TEXT);
        INSERT INTO good (v) VALUES ('fine'), ('also fine');
        CREATE TABLE bad (id INTEGER PRIMARY KEY, n INTEGER CHECK (n > 0), s TEXT);
        INSERT INTO bad (n, s) VALUES (1, 'ok');
        {extra}
    """)
    before = source.read_bytes()

    def fails(*options: str, jobs: str = "1") -> str:
        result = migrate(source, pg.info.dsn, schema, tmp_path, "--jobs", jobs, *options)
        assert result.returncode == code, (case, result.returncode, result.stderr)  # pgloader: 0
        lines = errors_of(result)
        assert len(lines) == 1, result.stderr
        assert all(text in lines[0] for text in says), lines[0]
        assert "migrated" not in result.stdout
        assert source.read_bytes() == before
        status = pg.execute("SELECT status FROM sqlmite.migrations WHERE schema_name = %s", (schema,)).fetchone()
        assert status == ("loading",)  # never marked complete
        return lines[0]

    fails(jobs=jobs)
    if code == 6:  # the table that failed is neither marked loaded nor holds rows
        table = "bad" if "'bad'" in says[1] else "keyed"
        loaded = {r[0] for r in pg.execute("SELECT table_name FROM sqlmite.loaded_tables WHERE schema_name = %s",
                                           (schema,))}
        assert table not in loaded
        assert pg.execute(f"SELECT count(*) FROM {schema}.{table}").fetchone() == (0,)
    fails()  # the same command, resuming, fails the same way: never a success the second time
    fails("--replace")  # and starting over from scratch too (it crashed: --replace resumed a dropped schema)


# ---- whole databases ----------------------------------------------------------------------------


@pytest.mark.parametrize("items", [2000, pytest.param(10_000, marks=pytest.mark.slow)])
def test_jellyfin_database_round_trips(items: int, tmp_path: Path, pg: psycopg.Connection) -> None:
    source = tmp_path / "jellyfin.db"
    generate(source, items)
    schema = f"jf_{items}"
    result = migrate(source, pg.info.dsn, schema, tmp_path, "--jobs", "2")
    assert result.returncode == 0, result.stderr
    counts = row_counts(source)
    total = sum(n for name, n in counts.items() if not name.startswith("sqlite_"))
    assert f"{total:,} rows in 33 tables" in result.stdout, result.stdout
    # progress: plain lines on stderr when not on a terminal, one per table
    assert "loading 33 tables" in result.stderr
    assert len(re.findall(r"loaded \S+ rows=\d+", result.stderr)) == 33
    # the backup: printed, a valid SQLite database equal to the source
    printed = re.findall(r"^backup: (.+)$", result.stdout, re.M)
    assert len(printed) == 1
    backup = Path(printed[0])
    assert backup.parent == tmp_path / "backups" and backup.is_file()
    check = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
    assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    check.close()
    assert row_counts(backup) == counts
    assert_same_file(source, backup, pg.info.dsn, schema)
    # every table: same rows, values and storage classes
    compared = assert_round_trip(source, pg.info.dsn, schema, export_to=tmp_path / "exported.db")
    assert compared == {n: c for n, c in counts.items() if not n.startswith("sqlite_")}


TORTURE_EXTRA: dict[str, list[tuple[Any, ...]]] = {
    # typeless columns: every class, the edges of each
    "loose": [
        (2, 2.5, "two"), (-0.0, math.inf, -math.inf), (9223372036854775807, -9223372036854775808, 5e-324),
        ("nul\x00inside", "\x00", "trailing nul\x00"), ("", None, b""), (None, b"\x00", ""),
        (b"\xff\xfe", "ünïcödé 𝄞", 1.7976931348623157e308), ("123", "1e5", "0x10"),
    ],
    "kv": [("neg zero", -0.0), ("inf", math.inf), ("-inf", -math.inf), ("min", -9223372036854775808),
           ("nul", "a\x00b"), ("big real", 1e300)],
    "strict_things": [(7, "negative zero", -0.0, b"\x00", -0.0), (8, "inf", math.inf, None, -math.inf),
                      (9, "nul text", None, None, "x\x00y"), (10, "min int", -1e-300, None, -9223372036854775808)],
    "affinities": [(5, -0.0, -0.0, math.inf, "\x00", 0.5, "\x00", "a\x00")],
    "not_null_strays": [(5, "nul\x00", "nul\x00", b"")],
}


def make_torture(path: Path) -> Path:
    sql = (FIXTURES / "torture.sql").read_text() + (FIXTURES / "migrate_torture.sql").read_text()
    return make_db(path, sql, TORTURE_EXTRA)


def test_torture_database_round_trips(tmp_path: Path, pg: psycopg.Connection) -> None:
    source = make_torture(tmp_path / "torture.db")
    conn = apsw.Connection(str(source))
    classes = set(conn.execute("SELECT typeof(a) FROM loose UNION SELECT typeof(b) FROM loose "
                               "UNION SELECT typeof(c) FROM loose").fetchall())
    assert classes == {("integer",), ("real",), ("text",), ("blob",), ("null",)}
    assert conn.execute("SELECT seq > (SELECT max(\"Id\") FROM \"Artists\") FROM sqlite_sequence "
                        "WHERE name = 'Artists'").fetchall() == [(1,)]
    violated = conn.execute("PRAGMA foreign_key_check").fetchall()
    assert {r[0] for r in violated} == {"reviews"}
    conn.close()
    before = source.read_bytes()

    summary = migrate_json(source, pg.info.dsn, "torture", tmp_path)
    assert source.read_bytes() == before
    notes = " | ".join(summary["notes"])
    assert "table 'reviews', foreign key" in notes and "NOT VALID" in notes, notes
    not_valid = pg.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                           "WHERE conrelid = 'torture.reviews'::regclass AND contype = 'f' "
                           "AND NOT convalidated").fetchall()
    assert not_valid and all("albums" in d or "Artists" in d for _, d in not_valid), not_valid
    # NOT NULL columns holding strays: NULL still refused, through the overflow-aware CHECK
    nn = dict(pg.execute("SELECT attname, attnotnull FROM pg_attribute WHERE attrelid = "
                         "'torture.not_null_strays'::regclass AND attnum > 0").fetchall())
    assert nn["n"] is False and nn["t"] is False and nn["r"] is False
    with pg.transaction(force_rollback=True):
        for column in ("n", "t", "r"):
            with pytest.raises(pgerrors.CheckViolation), pg.transaction():
                pg.execute(f"UPDATE torture.not_null_strays SET {column} = NULL WHERE id = 1")
    # WITHOUT ROWID tables keep their key and get no rowid column
    for table in ("tracks", "kv"):
        columns = [r[0] for r in pg.execute("SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass "
                                            "AND attnum > 0", (f"torture.{table}",))]
        assert "_sqlmite_rowid" not in columns
        assert pg.execute("SELECT count(*) FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'p'",
                          (f"torture.{table}",)).fetchone() == (1,)
    # the NUMERIC column: integral reals too big for 64 bits and non-integral reals both come back REAL
    prices = dict(apsw.Connection(str(source)).execute("SELECT id, typeof(price) FROM albums").fetchall())
    assert prices[5] == prices[6] == prices[10] == "real" and prices[4] == "integer" and prices[7] == "text"
    assert_round_trip(source, pg.info.dsn, "torture", export_to=tmp_path / "exported.db")
    # the same proof as a user gets it: `sqlmite verify`, and `sqlmite export` back to a file
    checked = run("verify", str(source), "--to", pg.info.dsn, "--schema", "torture", "--data-dir", str(tmp_path))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    back = tmp_path / "back.db"
    written = run("export", str(back), "--from", pg.info.dsn, "--schema", "torture", "--data-dir", str(tmp_path))
    assert written.returncode == 0, written.stderr
    assert_same_file(source, back, pg.info.dsn, "torture")


def test_integer_primary_keys_continue_where_sqlite_would(tmp_path: Path, pg: psycopg.Connection) -> None:
    sql = """
    CREATE TABLE auto (id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT);
    INSERT INTO auto (v) VALUES ('a'), ('b'), ('c'), ('d'), ('e');
    DELETE FROM auto WHERE id >= 4;                       -- max(id) 3, sqlite_sequence 5
    CREATE TABLE plain (id INTEGER PRIMARY KEY, v TEXT);
    INSERT INTO plain VALUES (1, 'a'), (2, 'b'), (10, 'j');
    DELETE FROM plain WHERE id = 10;                      -- no AUTOINCREMENT: max(id) + 1 = 3
    CREATE TABLE hidden (v TEXT);                          -- a rowid table without an alias
    INSERT INTO hidden (rowid, v) VALUES (1, 'a'), (7, 'g');
    """
    source = make_db(tmp_path / "ids.db", sql)
    migrate_json(source, pg.info.dsn, "ids", tmp_path)
    assert_round_trip(source, pg.info.dsn, "ids")
    # the same inserts in SQLite (on a copy) and in PostgreSQL get the same ids
    copy = tmp_path / "ids-copy.db"
    copy.write_bytes(source.read_bytes())
    lite = sqlite3.connect(copy, isolation_level=None)
    expected = []
    for _ in range(2):
        expected.append(lite.execute("INSERT INTO auto (v) VALUES ('new') RETURNING id").fetchone()[0])
        expected.append(lite.execute("INSERT INTO plain (v) VALUES ('new') RETURNING id").fetchone()[0])
        expected.append(lite.execute("INSERT INTO hidden (v) VALUES ('new') RETURNING rowid").fetchone()[0])
    lite_seq = lite.execute("SELECT seq FROM sqlite_sequence WHERE name = 'auto'").fetchone()[0]
    lite.close()
    assert expected == [6, 3, 8, 7, 4, 9]
    got = []
    for _ in range(2):
        got.append(pg.execute("INSERT INTO ids.auto (v) VALUES ('new') RETURNING id").fetchone()[0])
        got.append(pg.execute("INSERT INTO ids.plain (v) VALUES ('new') RETURNING id").fetchone()[0])
        got.append(pg.execute("INSERT INTO ids.hidden (v) VALUES ('new') RETURNING _sqlmite_rowid").fetchone()[0])
    assert got == expected
    assert pg.execute("SELECT seq FROM sqlmite.sequence WHERE schema_name = 'ids' AND name = 'auto'").fetchone() \
        == (lite_seq,)


# ---- a live application writing during the migration -------------------------------------------


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_text_with_nul_migrates_in_not_null_and_nullable_text_columns(tmp_path: Path, pg_dsn: str, jobs: str) -> None:
    """The lean scan proves these columns hold only text; U+0000 inside the text still has to
    reach the overflow column, NOT NULL or not (found after the scan stopped looking inside text)."""
    source = tmp_path / "nul.db"
    conn = apsw.Connection(str(source))
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, must TEXT NOT NULL, may TEXT, num INTEGER NOT NULL);"
                 "INSERT INTO t VALUES (1, 'plain', 'plain', 'text'),"
                 " (2, 'a' || char(0) || 'b', 'c' || char(0) || 'd', 'e' || char(0));"
                 "CREATE TABLE u (k TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID;"
                 "INSERT INTO u VALUES ('x', 'y' || char(0))")
    conn.close()
    result = migrate(source, pg_dsn, f"nul{jobs}", tmp_path / "work", "--jobs", jobs)
    assert result.returncode == 0, result.stderr
    assert_round_trip(source, pg_dsn, f"nul{jobs}")
