"""verify and export against real SQLite files and real PostgreSQL.

A torture database (every storage-class mix, edge values, WITHOUT ROWID, AUTOINCREMENT with a
sequence ahead of the data, a trigger that must not fire again, a view, ANALYZE statistics) and
a Jellyfin-shaped one are migrated, exported back and compared with the original value by value,
storage class included; verify must catch tampering in PostgreSQL and judge a source that
another process keeps writing as one snapshot.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import apsw
import psycopg
import pytest

import sqlmite.migrate as package
from sqlmite.config import Settings, load_settings
from sqlmite.errors import BackendError
from sqlmite.migrate import migrate
from sqlmite.migrate.export import OutputExistsError, export
from sqlmite.migrate.verify import (
    RowDifference,
    UnknownDatabaseError,
    checksum,
    row_digest,
    verify,
)
from sqlmite.testing import generate

VALUES: dict[str, list[Any]] = {
    # Bound through SQLite, so each column's affinity decides what is stored, as in any application.
    "anything": [0, 1, -1, 2**63 - 1, -(2**63), 1.5, -0.0, 0.0, float("inf"), float("-inf"), 5e-324,
                 1.7976931348623157e308, "", "text", "a\x00b", "123", b"", b"\x00\xff", None, "😀 emoji",
                 "e\u0301 ẞ"],
    "n": [7, "abc", "12abc", 1.5, b"\x01", None, "", 2**63 - 1, -(2**63), "x\x00y"],
    "r": [1.0, -0.0, float("inf"), float("-inf"), 5, "x", None, 2.5e-308],
    "t": ["x", "", "a\x00b", 42, b"blob", 1.5, None, "ünïcödé"],
    "b": [b"", b"\x00", "text", 7, None, 2.5, b"\xff" * 300],
    "num": [3.0, 2.5, "1e3", -0.0, "abc", None, 10**18, b"\x02", "0x10"],
}
THINGS = 60


def torture_sql() -> str:
    return textwrap.dedent("""
        PRAGMA user_version = 7;
        PRAGMA application_id = 1397838157;
        CREATE TABLE things (id INTEGER PRIMARY KEY AUTOINCREMENT, anything, n INTEGER, r REAL, t TEXT,
                             b BLOB, num NUMERIC);
        CREATE TABLE keyless (a, b TEXT);
        CREATE TABLE pairs (k TEXT NOT NULL, n INTEGER NOT NULL, v, PRIMARY KEY (k, n)) WITHOUT ROWID;
        CREATE TABLE parents (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
        CREATE TABLE children (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parents (id), label TEXT);
        CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT, what TEXT NOT NULL);
        CREATE INDEX things_n ON things (n);
        CREATE INDEX children_parent ON children (parent_id);
        CREATE VIEW thing_texts AS SELECT id, t FROM things WHERE t IS NOT NULL;
    """)


def make_torture(path: Path) -> None:
    conn = apsw.Connection(str(path))
    conn.execute(torture_sql())
    with conn:
        for i in range(1, THINGS + 1):
            row = [values[(i + k) % len(values)] for k, values in enumerate(VALUES.values())]
            conn.execute("INSERT INTO things VALUES (?, ?, ?, ?, ?, ?, ?)", (i, *row))
        conn.execute("DELETE FROM things WHERE id > ?", (THINGS - 2,))  # sqlite_sequence stays ahead
        conn.executemany("INSERT INTO keyless VALUES (?, ?)",
                         [(v, f"row {i}") for i, v in enumerate(VALUES["anything"] * 10)])
        conn.execute("DELETE FROM keyless WHERE rowid % 7 = 0")  # rowids with gaps
        conn.executemany("INSERT INTO pairs VALUES (?, ?, ?)",
                         [(f"k{i % 5}", i, VALUES["t"][i % len(VALUES["t"])]) for i in range(40)])
        conn.executemany("INSERT INTO parents VALUES (?, ?)", [(i, f"parent {i}") for i in range(1, 6)])
        conn.executemany("INSERT INTO children VALUES (?, ?, ?)",
                         [(i, 1 + i % 5 if i % 4 else None, f"child {i}") for i in range(1, 30)])
        conn.executemany("INSERT INTO audit (what) VALUES (?)", [(f"event {i}",) for i in range(10)])
        conn.execute("DELETE FROM audit WHERE id > 8")
        conn.execute("INSERT INTO keyless (rowid, a, b) VALUES (?, ?, ?)", (2**62, b"\x00" * 100_000, "big"))
    # Created after the data: if it fired on restored rows, audit and things.t would change.
    conn.execute("""CREATE TRIGGER things_audit AFTER INSERT ON things BEGIN
        INSERT INTO audit (what) VALUES ('inserted ' || NEW.id);
        UPDATE things SET t = 'touched by trigger' WHERE id = NEW.id;
    END""")
    conn.execute("ANALYZE")
    conn.execute("PRAGMA journal_mode = wal").fetchall()
    conn.close()


@pytest.fixture(scope="module")
def settings(pg_dsn: str) -> Settings:
    return load_settings(cli={"database_url": pg_dsn}, env={})


@pytest.fixture(scope="module")
def torture_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("torture") / "torture.db"
    make_torture(path)
    return path


@pytest.fixture(scope="module")
def jellyfin_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("jellyfin") / "jellyfin.db"
    generate(path, 300)
    return path


def load(source: Path, settings: Settings, pg_schema: str) -> None:
    migrate(source, settings, pg_schema=pg_schema, make_backup=False, replace=True)


@pytest.fixture(scope="module")
def torture_pg(torture_db: Path, settings: Settings) -> str:
    load(torture_db, settings, "torture")
    return "torture"


@pytest.fixture(scope="module")
def jellyfin_pg(jellyfin_db: Path, settings: Settings) -> str:
    load(jellyfin_db, settings, "jellyfin")
    return "jellyfin"


# -- helpers that read a file through SQLite, with storage classes ---------------------------

def open_ro(path: Path) -> apsw.Connection:
    return apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READONLY)


def master(conn: apsw.Connection) -> list[tuple[Any, ...]]:
    return conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY rowid").fetchall()


def exact(value: Any) -> tuple[str, str]:
    """A value with its Python type and ``repr`` (so -0.0 differs from 0.0)."""
    return type(value).__name__, repr(value)


def typed_rows(conn: apsw.Connection, table: str) -> list[tuple[Any, ...]]:
    """Every row as (typeof, value) pairs, rowid included where there is one, in a stable order."""
    cols = [r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')]
    without_rowid = conn.execute("SELECT wr FROM pragma_table_list WHERE name = ?", (table,)).fetchall()
    rowid = [] if (without_rowid and without_rowid[0][0]) or table.startswith("sqlite_") else ["rowid"]
    select = ", ".join(f'typeof({c}), {c}' for c in [*rowid, *(f'"{c}"' for c in cols)])
    order = ", ".join(str(i) for i in range(2, 2 * (len(rowid) + len(cols)) + 1, 2))
    return [tuple(exact(v) for v in row) for row in conn.execute(f'SELECT {select} FROM "{table}" ORDER BY {order}')]


def tables(conn: apsw.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]


# -- canonical checksum ------------------------------------------------------------------

def test_digest_tells_storage_classes_and_boundaries_apart() -> None:
    rows = [(1,), (1.0,), ("1",), (b"1",), (None,), (0.0,), (-0.0,), ("",), (b"",), ("ab", "c"), ("a", "bc"),
            (2**63 - 1,), (-(2**63),), (float("inf"),), ("a\x00b",), ("a",)]
    assert len({row_digest(r) for r in rows}) == len(rows)
    assert checksum(rows) == checksum(reversed(rows))
    assert checksum(rows[:-1]) != checksum(rows)
    assert package.verify is verify and package.export is export
    with pytest.raises(TypeError):
        row_digest((True,))


# -- export: the way back ---------------------------------------------------------------

@pytest.mark.parametrize("case", ["torture", "jellyfin"])
def test_export_rebuilds_the_file_value_for_value(case: str, request: pytest.FixtureRequest, settings: Settings,
                                                  tmp_path: Path) -> None:
    source: Path = request.getfixturevalue(f"{case}_db")
    pg_schema: str = request.getfixturevalue(f"{case}_pg")
    assert verify(source, settings, pg_schema=pg_schema).ok
    out = tmp_path / "exported.db"
    report = export(settings, out, pg_schema=pg_schema)
    original, exported = open_ro(source), apsw.Connection(str(out))
    assert master(exported) == master(original)
    for pragma in ("user_version", "application_id", "page_size", "encoding", "auto_vacuum", "journal_mode"):
        assert exported.execute(f"PRAGMA {pragma}").fetchall() == original.execute(f"PRAGMA {pragma}").fetchall()
    assert tables(exported) == tables(original)
    for table in tables(original):
        if table == "sqlite_stat4":
            # Known gap: the metadata keeps sqlite_stat1 only, so STAT4 samples come back empty.
            assert typed_rows(exported, table) == []
        elif table in ("sqlite_sequence", "sqlite_stat1"):  # restored as sets; their row order is not data
            assert sorted(typed_rows(exported, table)) == sorted(typed_rows(original, table)), table
        else:
            assert typed_rows(exported, table) == typed_rows(original, table), table
    assert exported.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert exported.execute("PRAGMA foreign_key_check").fetchall() == []
    assert report.rows == sum(exported.execute(f'SELECT count(*) FROM "{t}"').fetchall()[0][0]
                              for t in tables(original) if not t.startswith("sqlite_"))
    assert report.rows_per_second > 0 and report.mb_per_second > 0
    exported.close()
    assert verify(out, settings, pg_schema=pg_schema).ok
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_restored_rows_fire_no_trigger(torture_pg: str, settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "t.db"
    export(settings, out, pg_schema=torture_pg)
    conn = open_ro(out)
    assert conn.execute("SELECT count(*) FROM things WHERE t = 'touched by trigger'").fetchall() == [(0,)]
    assert conn.execute("SELECT max(id) FROM audit").fetchall() == [(8,)]
    assert conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'things'").fetchall() == [(THINGS,)]
    assert conn.execute("SELECT count(*) FROM sqlite_stat1").fetchall()[0][0] > 0
    # The trigger itself came back and works.
    rw = apsw.Connection(str(out))
    rw.execute("INSERT INTO things (anything) VALUES (1)")
    assert rw.execute("SELECT what FROM audit ORDER BY id DESC LIMIT 1").fetchall() == [(f"inserted {THINGS + 1}",)]


def test_export_refuses_an_existing_file_and_leaves_nothing_when_it_fails(
        torture_db: Path, torture_pg: str, settings: Settings, pg_dsn: str, tmp_path: Path) -> None:
    out = tmp_path / "taken.db"
    out.write_bytes(b"precious")
    with pytest.raises(OutputExistsError, match="--replace") as refused:
        export(settings, out, pg_schema=torture_pg)
    assert refused.value.exit_code == 7 and out.read_bytes() == b"precious"
    stale_wal = tmp_path / "fresh.db-wal"
    stale_wal.write_bytes(b"an old WAL would be replayed into the new file")
    with pytest.raises(OutputExistsError, match="fresh.db-wal"):
        export(settings, tmp_path / "fresh.db", pg_schema=torture_pg)
    with pytest.raises(UnknownDatabaseError, match="nosuch") as unknown:
        export(settings, tmp_path / "x.db", pg_schema="nosuch")
    assert unknown.value.exit_code == 2
    # A table vanishing from PostgreSQL fails the export midway: no file, no temporary file.
    load(torture_db, settings, "broken")
    with psycopg.connect(pg_dsn) as pg:
        pg.execute('DROP TABLE broken."audit"')
    with pytest.raises(BackendError, match="audit"):
        export(settings, tmp_path / "broken.db", pg_schema="broken")
    with pytest.raises(BackendError, match="audit"):
        verify(torture_db, settings, pg_schema="broken")
    with psycopg.connect(pg_dsn) as pg:  # an interrupted migration is not exported
        pg.execute("UPDATE sqlmite.migrations SET status = 'loading' WHERE schema_name = 'broken'")
    with pytest.raises(UnknownDatabaseError, match="unfinished migration"):
        export(settings, tmp_path / "broken.db", pg_schema="broken")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh.db-wal", "taken.db"]
    # --replace overwrites, and drops the stale WAL instead of letting SQLite replay it.
    export(settings, tmp_path / "fresh.db", pg_schema=torture_pg, replace=True)
    assert not stale_wal.exists()
    export(settings, out, pg_schema=torture_pg, replace=True)
    assert open_ro(out).execute("PRAGMA integrity_check").fetchall() == [("ok",)]


# -- verify: catching differences -------------------------------------------------------------

def _tamper(pg_dsn: str, pg_schema: str) -> None:
    with psycopg.connect(pg_dsn) as pg:
        pg.execute(f'UPDATE "{pg_schema}".things SET n = n + 1 WHERE id = 7')  # a native value
        # A storage class alone: the integer 1 becomes the real 1.0 in the overflow column.
        row = pg.execute(f"""UPDATE "{pg_schema}".things
                             SET _sqlmite_overflow = jsonb_set(_sqlmite_overflow, '{{anything}}', '["r", "1.0"]')
                             WHERE id = 22 AND _sqlmite_overflow -> 'anything' = '["i", 1]' RETURNING id""").fetchall()
        assert row == [(22,)]
        pg.execute(f"""DELETE FROM "{pg_schema}".pairs WHERE k = 'k3' AND n = 13""")
        pg.execute(f"""INSERT INTO "{pg_schema}".keyless (_sqlmite_rowid, b) VALUES (999999, 'extra')""")
        pg.execute("UPDATE sqlmite.sequence SET seq = seq + 1 WHERE schema_name = %s AND name = 'audit'",
                   (pg_schema,))
        pg.execute("UPDATE sqlmite.databases SET user_version = 8 WHERE schema_name = %s", (pg_schema,))


EXPECTED = {
    "things": [RowDifference(("id",), (7,), "changed"), RowDifference(("id",), (22,), "changed")],
    "pairs": [RowDifference(("k", "n"), ("k3", 13), "missing in PostgreSQL")],
    "keyless": [RowDifference(("rowid",), (999999,), "extra in PostgreSQL")],
}


@pytest.fixture(scope="module")
def tampered(torture_db: Path, settings: Settings, pg_dsn: str) -> str:
    load(torture_db, settings, "tampered")
    _tamper(pg_dsn, "tampered")
    return "tampered"


@pytest.mark.parametrize("bucket_rows", [2048, 4])  # one bucket, and many (the bounded-memory path)
def test_verify_names_each_differing_row(torture_db: Path, tampered: str, settings: Settings, bucket_rows: int,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # The package's ``verify`` (the function) shadows the module's name as an attribute.
    monkeypatch.setattr(importlib.import_module("sqlmite.migrate.verify"), "BUCKET_ROWS", bucket_rows)
    report = verify(torture_db, settings, pg_schema=tampered)
    assert not report.ok
    differing = {t.name: t.first_differences for t in report.tables if not t.match}
    assert differing == EXPECTED
    counts = {t.name: (t.rows_sqlite, t.rows_pg) for t in report.tables}
    assert counts["pairs"] == (40, 39) and counts["keyless"][1] == counts["keyless"][0] + 1
    bad = {m.name: (m.sqlite, m.pg) for m in report.metadata if not m.match}
    assert bad["user_version"] == ("7", "8")
    assert "'audit'|10" in bad["sqlite_sequence"][0] and "'audit'|11" in bad["sqlite_sequence"][1]
    assert set(bad) == {"user_version", "sqlite_sequence"}


def test_verify_reports_a_changed_schema(tmp_path: Path, torture_db: Path, torture_pg: str,
                                         settings: Settings) -> None:
    changed = tmp_path / "changed.db"
    conn = apsw.Connection(str(changed))
    with conn.backup("main", open_ro(torture_db), "main") as job:
        job.step(-1)
    conn.execute("CREATE INDEX extra_index ON parents (name)")
    conn.execute("DROP TABLE children")
    conn.close()
    report = verify(changed, settings, pg_schema=torture_pg)
    master_check = next(m for m in report.metadata if m.name == "sqlite_master")
    assert not master_check.match and "children" in master_check.sqlite + master_check.pg
    children = next(t for t in report.tables if t.name == "children")
    assert children.rows_sqlite is None and not children.match and "no such table" in (children.note or "")


# -- verify: one snapshot of a source that keeps changing ---------------------------------

WRITER = textwrap.dedent("""
    import sys, time, apsw
    conn = apsw.Connection(sys.argv[1])
    conn.set_busy_timeout(5000)
    pairs, deadline = int(sys.argv[2]), time.monotonic() + float(sys.argv[3])
    while True:
        for _ in range(pairs):
            with conn:  # both tables always change together
                conn.execute("INSERT INTO a (v) VALUES (randomblob(16))")
                conn.execute("INSERT INTO b (v) VALUES (randomblob(16))")
        if time.monotonic() >= deadline:
            break
    conn.close()
""")


@pytest.fixture
def busy_db(tmp_path: Path, settings: Settings) -> Path:
    path = tmp_path / "busy.db"
    conn = apsw.Connection(str(path))
    conn.execute("PRAGMA journal_mode = wal").fetchall()
    conn.execute("CREATE TABLE a (id INTEGER PRIMARY KEY, v BLOB); CREATE TABLE b (id INTEGER PRIMARY KEY, v BLOB)")
    with conn:
        for _ in range(3000):
            conn.execute("INSERT INTO a (v) VALUES (randomblob(16))")
            conn.execute("INSERT INTO b (v) VALUES (randomblob(16))")
    conn.close()
    load(path, settings, "busy")
    return path


def _write(path: Path, pairs: int, seconds: float = 0.0) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(pairs), str(seconds)])


def test_verify_reads_a_concurrently_written_source_as_one_snapshot(busy_db: Path, settings: Settings) -> None:
    # Deterministic: another process commits rows to both tables after table a was read.
    def between_tables(table: str) -> None:
        if table == "b":
            assert _write(busy_db, 10).wait(30) == 0

    report = verify(busy_db, settings, pg_schema="busy", progress=between_tables)
    assert report.ok, report.as_dict()
    assert [(t.rows_sqlite, t.rows_pg) for t in report.tables] == [(3000, 3000), (3000, 3000)]
    after = verify(busy_db, settings, pg_schema="busy")
    assert [(t.rows_sqlite, t.rows_pg) for t in after.tables] == [(3010, 3000), (3010, 3000)]
    for t in after.tables:
        assert t.first_differences == [RowDifference(("id",), (k,), "missing in PostgreSQL")
                                       for k in range(3001, 3006)]
    # And while a writer runs flat out: the two tables always agree with each other.
    writer = _write(busy_db, 20, seconds=3.0)
    try:
        deadline = time.monotonic() + 3.0
        runs = 0
        while time.monotonic() < deadline or runs < 2:
            report = verify(busy_db, settings, pg_schema="busy")
            a, b = report.tables
            assert a.rows_sqlite == b.rows_sqlite, report.as_dict()
            assert [d.key for d in a.first_differences] == [d.key for d in b.first_differences]
            runs += 1
    finally:
        assert writer.wait(30) == 0


# -- the command line -----------------------------------------------------------------------

def run(*args: str, dsn: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SQLMITE_", "PG"))}
    env["SQLMITE_DATABASE_URL"] = dsn
    env["COLUMNS"] = "200"  # rich wraps table cells at the terminal width
    return subprocess.run([sys.executable, "-m", "sqlmite", *args], capture_output=True, text=True, env=env,
                          timeout=120, stdin=subprocess.DEVNULL)


def test_cli_verify_and_export(torture_db: Path, torture_pg: str, tampered: str, pg_dsn: str,
                               tmp_path: Path) -> None:
    good = run("verify", str(torture_db), "--schema", torture_pg, dsn=pg_dsn)
    assert good.returncode == 0, good.stderr
    assert "everything matches" in good.stdout
    bad = run("verify", str(torture_db), "--schema", tampered, dsn=pg_dsn)
    assert bad.returncode == 1, bad.stderr
    for text in ("things", "id=7", "pairs", "k='k3', n=13", "missing in PostgreSQL", "user_version"):
        assert text in bad.stdout
    summary = json.loads(run("verify", str(torture_db), "--schema", tampered, "--json", dsn=pg_dsn).stdout)
    assert summary["ok"] is False
    keyless = next(t for t in summary["tables"] if t["name"] == "keyless")
    assert keyless["first_differences"] == [{"key": {"rowid": 999999}, "kind": "extra in PostgreSQL"}]
    unknown = run("verify", str(torture_db), "--schema", "nosuch", dsn=pg_dsn)
    assert unknown.returncode == 2 and "nosuch" in unknown.stderr

    out = tmp_path / "torture.db"  # its stem names the schema when --schema is not given
    exported = run("export", str(out), "--from", pg_dsn, "--json", dsn="")
    assert exported.returncode == 0, exported.stderr
    assert json.loads(exported.stdout)["rows"] > 0
    again = run("export", str(out), "--from", pg_dsn, dsn="")
    assert again.returncode == 7 and "--replace" in again.stderr
    assert run("export", str(out), "--replace", dsn=pg_dsn).returncode == 0
    assert run("verify", str(out), dsn=pg_dsn).returncode == 0
    bad_url = run("export", str(tmp_path / "y.db"), "--from", "postgresql://x@[bad", dsn="")
    assert bad_url.returncode == 2 and "--from" in bad_url.stderr
