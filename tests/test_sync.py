"""The sync sidecar against real writers in other processes and real PostgreSQL.

Each test runs ``sqlmite sync`` as a child process (as in a pod), drives the file with a writer
sqlmite does not control (Python's sqlite3 in another process, or the sqlite3 shell), waits
until PostgreSQL has applied the whole change log, and proves equality with ``verify``.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from sync_support import (
    SyncProcess,
    assert_equal,
    child_env,
    finish_writer,
    jellyfin_file,
    settings_for,
    wait_caught_up,
    writer,
)

from sqlmite.sync.restore import restore
from sqlmite.testing.ef_migrations import migration_steps, replay
from sqlmite.testing.workload import sqlite3_shell_script


def shell(db: Path, sql: str) -> None:
    """The sqlite3 shell as the application, with a busy timeout as every application sharing a file sets."""
    subprocess.run(["sqlite3", "-bail", "-cmd", ".timeout 10000", str(db), sql], check=True, capture_output=True)


def test_python_writer_is_followed_and_restore_rebuilds_the_same_file(tmp_path: Path, pg_dsn: str) -> None:
    db = jellyfin_file(tmp_path / "jellyfin.db")
    settings = settings_for(pg_dsn, "jf_python")
    sync = SyncProcess(db, pg_dsn, "jf_python")
    try:
        sync.wait_ready()
        summary = finish_writer(writer(db, "--seconds", "3", "--seed", "1", "--scan-size", "20"))
        assert all(summary["transactions"][kind] > 0 for kind in ("scan", "progress", "update"))
        wait_caught_up(db, settings, "jf_python")
        assert_equal(db, settings, "jf_python")
        assert sync.get("/healthz")[0] == 200
        assert sync.get("/readyz")[0] == 200
        assert sync.metric("sqlmite_sync_rows_applied_total") > 0
        assert sync.metric("sqlmite_sync_batches_applied_total") > 1
        assert sync.metric("sqlmite_sync_backlog_changes") == 0
        assert sync.metric("sqlmite_sync_last_apply_timestamp_seconds") > time.time() - 60
        assert "sqlmite_pool_connections" in sync.get("/metrics")[1]
        assert sync.terminate() == 0
        # The change log stays bounded: applied entries are trimmed (the newest one is kept).
        rows = subprocess.run(["sqlite3", str(db), "SELECT count(*) FROM _sqlmite_changes"],
                              capture_output=True, text=True, check=True).stdout
        assert int(rows) <= 1
    finally:
        sync.stop()
    events = [e["message"] for e in sync.events()]
    assert "attached" in events and "final flush done" in events
    # The file rebuilt from PostgreSQL in an empty directory is the same database.
    (tmp_path / "new").mkdir()
    rebuilt = tmp_path / "new" / "jellyfin.db"
    result = restore(rebuilt, settings, pg_schema="jf_python")
    assert result.action == "rebuilt"
    assert_equal(rebuilt, settings, "jf_python")
    assert_equal(db, settings, "jf_python")  # and the live file still is (restore changed nothing)


def test_sqlite3_shell_writer_is_followed(tmp_path: Path, pg_dsn: str) -> None:
    db = jellyfin_file(tmp_path / "jellyfin.db")
    settings = settings_for(pg_dsn, "jf_shell")
    sync = SyncProcess(db, pg_dsn, "jf_shell")
    try:
        sync.wait_ready()
        subprocess.run(["sqlite3", str(db)], input=sqlite3_shell_script(3, 60), text=True, check=True,
                       capture_output=True)
        wait_caught_up(db, settings, "jf_shell")
        assert_equal(db, settings, "jf_shell")
    finally:
        sync.stop()


def test_ef_core_migrations_replayed_under_sync_while_a_writer_writes(tmp_path: Path, pg_dsn: str) -> None:
    """Jellyfin's whole schema history, ef_temp_ rebuilds included, on a file that sync follows."""
    db = tmp_path / "jellyfin.db"
    settings = settings_for(pg_dsn, "jf_ef")
    steps = migration_steps()
    sync = SyncProcess(db, pg_dsn, "jf_ef")  # starts before the file exists, and waits for it
    stop = tmp_path / "stop"
    try:
        replay(db, steps[:2])  # the history tables and ActivityLogs exist from here on
        sync.wait_ready()
        logger = subprocess.Popen([sys.executable, "-c", _ACTIVITY_WRITER, str(db), str(stop)])
        try:
            replay(db, steps[2:])
        finally:
            stop.touch()
            assert logger.wait(60) == 0
        wait_caught_up(db, settings, "jf_ef")
        assert_equal(db, settings, "jf_ef")
        assert sync.metric('sqlmite_sync_reloads_total{reason="schema"}') >= 1
    finally:
        sync.stop()


# Writes ActivityLogs rows (Jellyfin's activity log) in small transactions until told to stop.
_ACTIVITY_WRITER = """
import os, sqlite3, sys, time
db, stop = sys.argv[1], sys.argv[2]
conn = sqlite3.connect(db, timeout=60, isolation_level=None)
conn.execute("PRAGMA foreign_keys=ON")
n = 0
while not os.path.exists(stop):
    conn.execute("BEGIN IMMEDIATE")
    cols = [r[1] for r in conn.execute('PRAGMA table_info("ActivityLogs")')]
    values = {"Name": f"event {n}", "Type": "SessionStarted", "UserId": "00000000-0000-0000-0000-000000000001",
              "DateCreated": "2026-11-25 10:00:00", "LogSeverity": 2, "RowVersion": 0, "Overview": None,
              "ShortOverview": None, "ItemId": None}
    names = [c for c in cols if c in values]
    conn.execute(f'INSERT INTO "ActivityLogs" ({", ".join(names)}) VALUES ({", ".join("?" for _ in names)})',
                 [values[c] for c in names])
    if n % 5 == 0:
        conn.execute('UPDATE "ActivityLogs" SET "Name" = "Name" || \\'+\\' WHERE "Id" = (SELECT min("Id") FROM "ActivityLogs")')
    if n % 7 == 0:
        conn.execute('DELETE FROM "ActivityLogs" WHERE "Id" = (SELECT max("Id") - 3 FROM "ActivityLogs")')
    conn.execute("COMMIT")
    n += 1
    time.sleep(0.005)
"""


def test_sigterm_flushes_then_exits_zero(tmp_path: Path, pg_dsn: str) -> None:
    db = jellyfin_file(tmp_path / "jellyfin.db", items=50)
    settings = settings_for(pg_dsn, "jf_term")
    sync = SyncProcess(db, pg_dsn, "jf_term", "--poll-interval", "5")  # it would not look again for 5 s
    try:
        sync.wait_ready()
        shell(db, "UPDATE UserData SET PlayCount = PlayCount + 1")
        assert sync.terminate(timeout=20) == 0
    finally:
        sync.stop()
    assert_equal(db, settings, "jf_term")


def test_crash_at_random_moments_loses_nothing(tmp_path: Path, pg_dsn: str) -> None:
    """SIGKILL the sidecar while a writer writes; a restarted one catches up and verifies equal."""
    crash_trials(tmp_path, pg_dsn, "jf_crash", trials=4, seed=11)


@pytest.mark.slow
def test_crash_fifty_times(tmp_path: Path, pg_dsn: str) -> None:
    crash_trials(tmp_path, pg_dsn, "jf_crash50", trials=50, seed=12)


def crash_trials(tmp_path: Path, pg_dsn: str, schema: str, trials: int, seed: int) -> None:
    import random

    rng = random.Random(seed)
    db = jellyfin_file(tmp_path / "jellyfin.db", items=100)
    settings = settings_for(pg_dsn, schema)
    for trial in range(trials):
        load = writer(db, "--seconds", "2.5", "--seed", str(trial), "--scan-size", "10")
        sync = SyncProcess(db, pg_dsn, schema)
        try:
            time.sleep(rng.uniform(0.05, 2.0))  # anywhere: attaching, reloading, mid-batch, trimming
            sync.kill()
        finally:
            sync.stop()
        finish_writer(load)
        again = SyncProcess(db, pg_dsn, schema)
        try:
            again.wait_ready()
            wait_caught_up(db, settings, schema)
            assert_equal(db, settings, schema)
        finally:
            again.stop()


def test_postgres_restart_during_sync(tmp_path: Path) -> None:
    """A PostgreSQL restart (its own embedded server here) loses nothing; sync resumes by itself."""
    from sqlmite.backend.embedded import EmbeddedServer

    server = EmbeddedServer(tmp_path / "pg", delete_on_exit=True)
    dsn = server.start()
    db = jellyfin_file(tmp_path / "jellyfin.db", items=80)
    settings = settings_for(dsn, "jf_restart")
    sync = SyncProcess(db, dsn, "jf_restart")
    try:
        sync.wait_ready()
        load = writer(db, "--seconds", "4", "--seed", "5", "--scan-size", "10")
        time.sleep(1.0)
        server.halt()
        time.sleep(1.5)  # writes go on while PostgreSQL is down
        server.restart()
        finish_writer(load)
        wait_caught_up(db, settings, "jf_restart", timeout=90)
        assert_equal(db, settings, "jf_restart")
        # The outage was seen: a failed step, or connections the pool found broken (its checkout
        # retries may absorb a short outage without a step failing).
        seen = sync.metric('sqlmite_sync_errors_total{kind="backend"}') + sync.metric(
            'sqlmite_pool_connections_lost_total{pool="sqlmite"}') + sync.metric(
            'sqlmite_pool_connection_errors_total{pool="sqlmite"}')
        assert seen >= 1
        assert sync.proc.poll() is None
    finally:
        sync.stop()
        server.stop()


def test_schema_changes_of_every_kind(tmp_path: Path, pg_dsn: str) -> None:
    db = jellyfin_file(tmp_path / "jellyfin.db", items=40)
    settings = settings_for(pg_dsn, "jf_ddl")
    sync = SyncProcess(db, pg_dsn, "jf_ddl")
    try:
        sync.wait_ready()
        for sql in (
            "CREATE TABLE Notes (Id INTEGER PRIMARY KEY, Body TEXT NOT NULL); INSERT INTO Notes (Body) VALUES ('a'), ('b');",
            "CREATE INDEX IX_Notes_Body ON Notes (Body);",
            "ALTER TABLE Notes ADD COLUMN Stars INTEGER DEFAULT 3; UPDATE Notes SET Stars = 5 WHERE Id = 1;",
            "ALTER TABLE Notes RENAME COLUMN Body TO Text; INSERT INTO Notes (Text) VALUES ('c');",
            "ALTER TABLE Notes RENAME TO Remarks; DELETE FROM Remarks WHERE Id = 2;",
            "INSERT INTO Remarks (Text) VALUES ('after the rename');",
            "DROP TABLE Remarks;",
            "CREATE TABLE Pairs (A TEXT, B TEXT, PRIMARY KEY (A, B)) WITHOUT ROWID; INSERT INTO Pairs VALUES ('x', 'y');",
            "INSERT INTO Pairs VALUES ('y', 'z'); DELETE FROM Pairs WHERE A = 'x';",
        ):
            shell(db, sql)
            wait_caught_up(db, settings, "jf_ddl")
            assert_equal(db, settings, "jf_ddl")
    finally:
        sync.stop()


def test_application_writes_never_fail_and_replace_is_handled(tmp_path: Path, pg_dsn: str) -> None:
    """Strict application settings (trusted_schema=OFF, recursive triggers), REPLACE deleting a row
    on a UNIQUE key without delete triggers, an UPDATE moving a rowid, a value of a new class."""
    db = tmp_path / "app.db"
    schema = ("PRAGMA journal_mode=WAL; CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT UNIQUE, v NUMERIC NOT NULL); "
              "CREATE TABLE u (name TEXT, n INT); INSERT INTO t (k, v) VALUES ('a', 1), ('b', 2); "
              "INSERT INTO u VALUES ('x', 1);")
    shell(db, schema)
    settings = settings_for(pg_dsn, "app")
    sync = SyncProcess(db, pg_dsn, "app")
    try:
        sync.wait_ready()
        for sql in (
            "PRAGMA trusted_schema=OFF; INSERT INTO t (k, v) VALUES ('c', 3);",
            "INSERT OR REPLACE INTO t (k, v) VALUES ('a', 10);",  # deletes row 1 without a delete trigger
            "PRAGMA recursive_triggers=ON; REPLACE INTO t (k, v) VALUES ('b', 20);",
            "UPDATE t SET id = 100 WHERE k = 'c';",
            "UPDATE t SET v = 'not a number' WHERE k = 'a';",  # a class the native column cannot hold
            "INSERT INTO t (k, v) VALUES ('d', 4) ON CONFLICT (k) DO UPDATE SET v = excluded.v;",
            "INSERT INTO t (k, v) VALUES ('d', 5) ON CONFLICT (k) DO UPDATE SET v = excluded.v;",
            "UPDATE u SET rowid = 7; DELETE FROM u; INSERT INTO u VALUES ('y', 2);",
        ):
            shell(db, sql)
        wait_caught_up(db, settings, "app")
        assert_equal(db, settings, "app")
    finally:
        sync.stop()


def test_sync_refuses_a_file_of_another_lineage(tmp_path: Path, pg_dsn: str) -> None:
    (tmp_path / "a").mkdir()
    first = jellyfin_file(tmp_path / "a" / "jellyfin.db", items=20)
    sync = SyncProcess(first, pg_dsn, "jf_lineage")
    try:
        sync.wait_ready()
    finally:
        sync.terminate()
        sync.stop()
    (tmp_path / "b").mkdir()
    other = jellyfin_file(tmp_path / "b" / "jellyfin.db", items=20, seed=9)
    refused = subprocess.run([sys.executable, "-m", "sqlmite", "sync", str(other), "--to", pg_dsn, "--schema",
                              "jf_lineage", "--listen", "127.0.0.1:0"], capture_output=True, text=True, timeout=60,
                             check=False, env=child_env(), stdin=subprocess.DEVNULL)
    assert refused.returncode == 8, refused.stderr
    assert "different" in refused.stderr or "not the file" in refused.stderr



def test_a_file_replaced_underneath_stops_sync_and_restart_refuses_the_older_copy(tmp_path: Path,
                                                                                  pg_dsn: str) -> None:
    """As when an application restores a plain file copy of its database over the live one."""
    db = jellyfin_file(tmp_path / "jellyfin.db", items=20)
    sync = SyncProcess(db, pg_dsn, "jf_swap")
    try:
        sync.wait_ready()
        copy = tmp_path / "copy.db"
        shell(db, f"VACUUM INTO '{copy}'")
        shell(copy, "PRAGMA journal_mode=WAL")
        shell(db, "DELETE FROM ActivityLogs")
        time.sleep(0.3)
        for suffix in ("-wal", "-shm"):  # the copy replaces the database and its journals
            Path(f"{db}{suffix}").unlink()
        copy.rename(db)
        assert sync.proc.wait(30) == 4
        assert "replaced" in sync.output()
    finally:
        sync.stop()
    again = SyncProcess(db, pg_dsn, "jf_swap")
    try:
        assert again.proc.wait(60) == 8
        assert "older" in again.output()
    finally:
        again.stop()
