"""What the migration tests share: running the command, reading both sides, comparing them.

The direct comparison here shares no code with ``sqlmite verify``'s hashing, so each checks the other.
"""


import json
import os
import re
import sqlite3
import struct
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import apsw
import psycopg

from sqlmite.config import load_settings
from sqlmite.mapping.ddl import TablePlan
from sqlmite.mapping.expressions import quote_ident
from sqlmite.mapping.metadata import load_tables
from sqlmite.migrate.export import export
from sqlmite.migrate.rows import pg_rows
from sqlmite.migrate.verify import verify

FIXTURES = Path(__file__).parent / "fixtures"

# ---- running the command ---------------------------------------------------------------------


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SQLMITE_", "PG"))}
    env.update(extra or {})
    return env


def run(*args: str, env: dict[str, str] | None = None, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sqlmite", *args], capture_output=True, text=True,
                          env=_env(env), timeout=timeout, stdin=subprocess.DEVNULL)


def migrate_args(source: Path, dsn: str, schema: str, work: Path, *extra: str) -> list[str]:
    """``sqlmite migrate`` with everything it writes kept under ``work``."""
    return ["migrate", str(source), "--to", dsn, "--schema", schema, "--backup-dir", str(work / "backups"),
            "--data-dir", str(work / "data"), *extra]


def migrate(source: Path, dsn: str, schema: str, work: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    result = run(*migrate_args(source, dsn, schema, work, *extra))
    assert "Traceback" not in result.stderr, result.stderr
    return result


def migrate_json(source: Path, dsn: str, schema: str, work: Path, *extra: str) -> dict[str, Any]:
    result = migrate(source, dsn, schema, work, "--json", *extra)
    assert result.returncode == 0, result.stderr
    summary: dict[str, Any] = json.loads(result.stdout)
    return summary


def errors_of(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("sqlmite:")]


# ---- comparing back --------------------------------------------------------------------------
# Rows read back from PostgreSQL (``pg_rows`` + the saved plans of ``load_tables``) against SQLite's
# own ``typeof(c), c``; ``assert_round_trip`` then also asks ``verify`` and, with ``export_to``,
# compares an exported file the same direct way.


def canon(value: object) -> tuple[str, object]:
    """A value with its storage class; reals by their 8 bytes, so -0.0, inf and every bit count."""
    if value is None:
        return ("null", None)
    kind = type(value)
    if kind is int:
        return ("integer", value)
    if kind is float:
        return ("real", struct.pack(">d", value).hex())
    if kind is str:
        return ("text", value)
    if kind in (bytes, bytearray, memoryview):
        return ("blob", bytes(value).hex())  # type: ignore[arg-type]
    raise AssertionError(f"not a SQLite value: {value!r} ({kind.__name__})")


def sqlite_side(conn: apsw.Connection, plan: TablePlan) -> Counter[tuple[tuple[str, object], ...]]:
    """The table's rows as SQLite stores them: each value checked against SQLite's own ``typeof``."""
    # a kept rowid is named unquoted (rowid, _rowid_ or oid: whichever no column hides)
    exprs = plan.source_columns[:1] if plan.keeps_rowid else []
    exprs += [quote_ident(c.name) for c in plan.columns]
    sql = f"SELECT {', '.join(f'typeof({e}), {e}' for e in exprs)} FROM main.{quote_ident(plan.name)}"
    rows: Counter[tuple[tuple[str, object], ...]] = Counter()
    for raw in conn.execute(sql):
        row = tuple(canon(v) for v in raw[1::2])
        assert [c[0] for c in row] == list(raw[0::2]), (plan.name, raw)
        rows[row] += 1
    return rows


def pg_side(pg: psycopg.Connection[Any], pg_schema: str, plan: TablePlan) -> Counter[tuple[tuple[str, object], ...]]:
    return Counter(tuple(canon(v) for v in row) for row in pg_rows(pg, pg_schema, plan))


def _diff(a: Counter[Any], b: Counter[Any]) -> str:
    only_a, only_b = list((a - b).elements())[:3], list((b - a).elements())[:3]
    return f"only in SQLite: {only_a}; only in PostgreSQL: {only_b}"


def user_tables(conn: apsw.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                       "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'")}


def master_rows(conn: apsw.Connection) -> list[tuple[Any, ...]]:
    return conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY rowid").fetchall()


def assert_round_trip(source: Path, dsn: str, pg_schema: str, *, tables: list[str] | None = None,
                      export_to: Path | None = None) -> dict[str, int]:
    """PostgreSQL holds exactly the SQLite file: rows (value and storage class), master, sequence.

    Returns rows per table. ``tables`` limits the row comparison; ``export_to`` also exports the
    schema back to a SQLite file there (when export exists) and compares it with the source.
    """
    counts: dict[str, int] = {}
    conn = apsw.Connection(str(source), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        with psycopg.connect(dsn) as pg:
            plans = load_tables(pg, pg_schema)
            assert {p.name for p in plans} == user_tables(conn)
            for plan in plans:
                if tables is not None and plan.name not in tables:
                    continue
                ours, theirs = sqlite_side(conn, plan), pg_side(pg, pg_schema, plan)
                assert ours == theirs, f"table {plan.name!r} differs: {_diff(ours, theirs)}"
                counts[plan.name] = sum(ours.values())
            saved = pg.execute("SELECT type, name, tbl_name, sql FROM sqlmite.master WHERE schema_name = %s "
                               "ORDER BY seq", (pg_schema,)).fetchall()
            assert [tuple(r) for r in saved] == master_rows(conn)
            names = {r[1] for r in saved}
            if "sqlite_sequence" in names:
                seq = pg.execute("SELECT name, seq FROM sqlmite.sequence WHERE schema_name = %s",
                                 (pg_schema,)).fetchall()
                assert sorted(seq) == sorted(conn.execute("SELECT name, seq FROM sqlite_sequence").fetchall())
            status = pg.execute("SELECT status FROM sqlmite.migrations WHERE schema_name = %s", (pg_schema,))
            assert status.fetchone() == ("complete",)
        settings = load_settings(cli={"database_url": dsn}, env={})
        report = verify(source, settings, pg_schema=pg_schema)
        assert report.ok, json.dumps(report.as_dict(), default=str)[:2000]
        if export_to is not None:
            export(settings, export_to, pg_schema=pg_schema)
            assert_same_file(source, export_to, dsn, pg_schema)
    finally:
        conn.close()
    return counts


def assert_same_file(source: Path, copy: Path, dsn: str, pg_schema: str) -> None:
    """Two SQLite files hold the same schema, pragmas and rows (compared through SQLite)."""
    a = apsw.Connection(str(source), flags=apsw.SQLITE_OPEN_READONLY)
    b = apsw.Connection(str(copy), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        assert b.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert master_rows(a) == master_rows(b)
        for pragma in ("user_version", "application_id", "page_size", "encoding", "auto_vacuum"):
            assert a.execute(f"PRAGMA {pragma}").fetchall() == b.execute(f"PRAGMA {pragma}").fetchall(), pragma
        with psycopg.connect(dsn) as pg:
            plans = load_tables(pg, pg_schema)
        for plan in plans:
            ours, theirs = sqlite_side(a, plan), sqlite_side(b, plan)
            assert ours == theirs, f"exported table {plan.name!r} differs: {_diff(ours, theirs)}"
    finally:
        a.close()
        b.close()


def row_counts(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {n: conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}
    finally:
        conn.close()


def pg_counts(pg: psycopg.Connection[Any], pg_schema: str) -> dict[str, int]:
    counts = {}
    for name, pg_name in pg.execute("SELECT table_name, pg_name FROM sqlmite.tables WHERE schema_name = %s",
                                    (pg_schema,)).fetchall():
        counts[name] = pg.execute(f"SELECT count(*) FROM {quote_ident(pg_schema)}.{quote_ident(pg_name)}").fetchone()[0]
    return counts


def make_db(path: Path, sql: str, rows: dict[str, list[tuple[Any, ...]]] | None = None) -> Path:
    """A SQLite file from a script, then parameter rows per table (values SQL cannot spell)."""
    conn = apsw.Connection(str(path))
    try:
        conn.execute(sql)
        with conn:
            for table, values in (rows or {}).items():
                marks = ", ".join("?" * len(values[0]))
                conn.executemany(f"INSERT INTO {quote_ident(table)} VALUES ({marks})", values)
    finally:
        conn.close()
    return path


def squash(sql: str) -> str:
    """PostgreSQL's deparsed SQL without blanks and parentheses (their placement varies by version)."""
    return re.sub(r"[\s()]", "", sql)


def indexdef(pg: psycopg.Connection[Any], schema: str, name: str) -> str:
    row = pg.execute("SELECT indexdef FROM pg_indexes WHERE schemaname = %s AND indexname = %s",
                     (schema, name)).fetchone()
    assert row is not None, f"index {name!r} missing in PostgreSQL"
    return str(row[0])


# ---- what pgloader got wrong -------------------------------------------------------------------


def user_tables_of(path: Path) -> set[str]:
    conn = apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        return user_tables(conn)
    finally:
        conn.close()
