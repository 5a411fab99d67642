"""``sqlmite migrate`` while things happen: a writer keeps writing, the migration is killed and resumed."""


import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
from migration_support import (
    _env,
    assert_round_trip,
    errors_of,
    migrate,
    migrate_args,
    migrate_json,
    pg_counts,
    row_counts,
    run,
    user_tables_of,
)

from sqlmite.testing import generate

WRITER = textwrap.dedent("""
    import json, os, random, sqlite3, sys, time
    path, stop, accounts = sys.argv[1], sys.argv[2], int(sys.argv[3])
    conn = sqlite3.connect(path, timeout=60, isolation_level=None)
    conn.execute("PRAGMA synchronous = NORMAL")
    rng = random.Random(7)
    k = conn.execute("SELECT v FROM meta WHERE k = 'last'").fetchone()[0]
    commits, errors = 0, []
    print("ready", flush=True)
    while not os.path.exists(stop):
        try:
            conn.execute("BEGIN IMMEDIATE")
            n = k + 1
            conn.execute("INSERT INTO ledger_a (seq, note) VALUES (?, ?)", (n, f"a{n}"))
            conn.execute("INSERT INTO ledger_b (seq, note) VALUES (?, ?)", (n, f"b{n}"))
            src, dst, amount = rng.randrange(accounts) + 1, rng.randrange(accounts) + 1, rng.randrange(1, 100)
            conn.execute("UPDATE accounts SET balance = balance - ? WHERE id = ?", (amount, src))
            conn.execute("UPDATE accounts SET balance = balance + ? WHERE id = ?", (amount, dst))
            conn.execute("UPDATE filler SET version = ?, payload = randomblob(300) WHERE id = ?", (n, n))
            conn.execute("UPDATE meta SET v = ? WHERE k = 'last'", (n,))
            conn.execute("COMMIT")
            k, commits = n, commits + 1
        except Exception as exc:  # the test asserts there are none
            errors.append(repr(exc))
            try:
                conn.execute("ROLLBACK")
            except Exception:
                pass
        time.sleep(0.002)
    conn.close()
    print(json.dumps({"commits": commits, "errors": errors, "last": k}), flush=True)
""")

ACCOUNTS, BALANCE, FILLER_ROWS = 50, 1000, 60_000


def test_a_writer_during_the_migration_sees_one_snapshot_and_no_error(tmp_path: Path, pg: psycopg.Connection) -> None:
    source = tmp_path / "live.db"
    conn = sqlite3.connect(source, isolation_level=None)
    conn.executescript(f"""
        PRAGMA journal_mode = wal;
        CREATE TABLE meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL);
        INSERT INTO meta VALUES ('last', 0);
        CREATE TABLE ledger_a (seq INTEGER PRIMARY KEY, note TEXT NOT NULL);
        CREATE TABLE ledger_b (seq INTEGER PRIMARY KEY, note TEXT NOT NULL);
        CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL);
        CREATE TABLE filler (id INTEGER PRIMARY KEY, version INTEGER NOT NULL, payload BLOB);
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {ACCOUNTS})
        INSERT INTO accounts SELECT i, {BALANCE} FROM n;
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {FILLER_ROWS})
        INSERT INTO filler SELECT i, 0, randomblob(300) FROM n;
    """)
    conn.close()
    stop = tmp_path / "stop"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(source), str(stop), str(ACCOUNTS)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
        time.sleep(0.3)

        def last() -> int:
            c = sqlite3.connect(source, timeout=60)
            try:
                return int(c.execute("SELECT v FROM meta WHERE k = 'last'").fetchone()[0])
            finally:
                c.close()

        first = last()
        result = migrate(source, pg.info.dsn, "live", tmp_path, "--jobs", "2", "--json")
        after = last()
        time.sleep(0.2)
    finally:
        stop.touch()
        out, err = writer.communicate(timeout=60)
    assert result.returncode == 0, result.stderr
    report = json.loads(out.strip().splitlines()[-1])
    assert report["errors"] == [], report  # the application never noticed the migration
    assert writer.returncode == 0, err
    assert after - first > 50, (first, after)  # it really was writing throughout

    # the source is intact
    check = sqlite3.connect(source)
    assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    check.close()

    # PostgreSQL holds one state the application committed: every invariant of its transactions holds
    (snap,) = pg.execute("SELECT v FROM live.meta WHERE k = 'last'").fetchone()
    assert first <= snap <= after and snap > 0, (first, snap, after)
    a = [r[0] for r in pg.execute("SELECT seq FROM live.ledger_a ORDER BY seq")]
    b = [r[0] for r in pg.execute("SELECT seq FROM live.ledger_b ORDER BY seq")]
    assert a == b == list(range(1, snap + 1))
    assert pg.execute("SELECT sum(balance) FROM live.accounts").fetchone() == (ACCOUNTS * BALANCE,)
    versions = pg.execute("SELECT id, version FROM live.filler WHERE version > 0 ORDER BY id").fetchall()
    assert versions == [(i, i) for i in range(1, snap + 1)]
    assert pg.execute("SELECT count(*) FROM live.filler").fetchone() == (FILLER_ROWS,)
    # ... and exactly the backup snapshot it was loaded from
    summary = json.loads(result.stdout)
    assert_round_trip(Path(summary["backup"]), pg.info.dsn, "live")


# ---- interrupted and resumed ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def big_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Jellyfin-shaped database that takes a few seconds to migrate (generated once)."""
    path = tmp_path_factory.mktemp("big") / "library.db"
    generate(path, 20_000)
    return path


def pg_state(pg: psycopg.Connection, schema: str) -> dict[str, Any]:
    """Everything a migration may have changed in PostgreSQL for ``schema``."""
    state: dict[str, Any] = {
        "relations": pg.execute("SELECT c.relname, c.relkind, c.relfilenode FROM pg_class c JOIN pg_namespace n "
                                "ON n.oid = c.relnamespace WHERE n.nspname IN (%s, 'sqlmite') ORDER BY 1",
                                (schema,)).fetchall(),
        "migrations": pg.execute("SELECT * FROM sqlmite.migrations ORDER BY 1").fetchall(),
        "loaded": pg.execute("SELECT * FROM sqlmite.loaded_tables ORDER BY 1, 2").fetchall(),
        "databases": pg.execute("SELECT schema_name, generation FROM sqlmite.databases ORDER BY 1").fetchall(),
    }
    state["counts"] = pg_counts(pg, schema)
    return state


def test_killed_migration_resumes_without_duplicates_and_dry_run_changes_nothing(
        big_db: Path, tmp_path: Path, pg: psycopg.Connection) -> None:
    schema = "resumed"
    before = big_db.read_bytes()
    args = [sys.executable, "-m", "sqlmite", *migrate_args(big_db, pg.info.dsn, schema, tmp_path, "--jobs", "2")]
    # its own process group: SIGKILL reaches the command and its loader processes at once, as a
    # crash or an OOM kill of the service would
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env(),
                            start_new_session=True)
    tables = len(user_tables_of(big_db))
    loaded = 0
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if pg.execute("SELECT to_regclass('sqlmite.loaded_tables')").fetchone()[0] is not None:
                loaded = pg.execute("SELECT count(*) FROM sqlmite.loaded_tables WHERE schema_name = %s",
                                    (schema,)).fetchone()[0]
                if loaded:
                    break
            time.sleep(0.02)
    finally:
        with_group_killed(proc)
    assert loaded, f"no table loaded before the command ended (exit {proc.returncode})"
    time.sleep(0.5)  # let PostgreSQL finish aborting the killed loaders' transactions
    # (a loader may have committed one more table between the poll and the kill: count again)
    marked = {r[0] for r in pg.execute("SELECT table_name FROM sqlmite.loaded_tables WHERE schema_name = %s",
                                       (schema,))}
    assert 0 < len(marked) < tables, f"not caught mid-load: {len(marked)} of {tables} tables"
    assert pg.execute("SELECT status FROM sqlmite.migrations WHERE schema_name = %s", (schema,)).fetchone() \
        == ("loading",)
    backups = sorted((tmp_path / "backups").glob("*.db"))  # (readers of a WAL backup leave -wal/-shm)
    assert len(backups) == 1

    # --dry-run now: no PostgreSQL change, no backup, the interrupted state untouched
    state = pg_state(pg, schema)
    dry_dir = tmp_path / "dry"
    dry = run(*migrate_args(big_db, pg.info.dsn, schema, dry_dir, "--dry-run", "--json"))
    assert dry.returncode == 0, dry.stderr
    report = json.loads(dry.stdout)
    assert set(report) == {"ddl", "tables", "notes"} and len(report["tables"]) == tables
    assert pg_state(pg, schema) == state
    assert not (dry_dir / "backups").exists() and sorted((tmp_path / "backups").glob("*.db")) == backups

    # the same command again: resumes from the same snapshot, skips what was loaded, duplicates nothing
    summary = migrate_json(big_db, pg.info.dsn, schema, tmp_path, "--jobs", "2")
    assert summary["resumed"] is True and summary["backup"] == str(backups[0])
    assert sorted(summary["skipped"]) == sorted(marked)
    assert {t["name"] for t in summary["tables"]} | set(summary["skipped"]) == user_tables_of(big_db)
    assert not set(summary["skipped"]) & {t["name"] for t in summary["tables"]}
    assert sorted((tmp_path / "backups").glob("*.db")) == backups  # no second backup
    source_counts = {n: c for n, c in row_counts(big_db).items() if not n.startswith("sqlite_")}
    assert pg_counts(pg, schema) == source_counts
    assert pg.execute("SELECT status FROM sqlmite.migrations WHERE schema_name = %s", (schema,)).fetchone() \
        == ("complete",)
    assert big_db.read_bytes() == before
    # a third run is refused: the migration is complete
    again = migrate(big_db, pg.info.dsn, schema, tmp_path)
    assert again.returncode == 7 and "--replace" in errors_of(again)[0]


def with_group_killed(proc: subprocess.Popen[Any]) -> None:
    """SIGKILL ``proc``'s process group (it was started in a session of its own) and reap it."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=30)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # loader processes of the group are reaped by init
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
