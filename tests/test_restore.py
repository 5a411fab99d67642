"""``sqlmite restore``: every case of its decision, against real files and real PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import apsw
import pytest
from sync_support import SyncProcess, assert_equal, child_env, jellyfin_file, settings_for, wait_caught_up

from sqlmite.errors import LineageError, SourceError
from sqlmite.sync import capture, restore, sync_status


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sqlmite", *args], capture_output=True, text=True, timeout=120,
                          env=child_env(), check=False)


def test_neither_side_exists_nothing_to_do(tmp_path: Path, pg_dsn: str) -> None:
    done = cli("restore", str(tmp_path / "jellyfin.db"), "--from", pg_dsn, "--schema", "r_none")
    assert done.returncode == 0, done.stderr
    assert "restore: none" in done.stdout
    assert not (tmp_path / "jellyfin.db").exists()


def test_first_install_loads_the_file_then_a_lost_file_is_rebuilt(tmp_path: Path, pg_dsn: str) -> None:
    db = jellyfin_file(tmp_path / "jellyfin.db", items=60)
    settings = settings_for(pg_dsn, "r_first")
    loaded = restore(db, settings, pg_schema="r_first")
    assert loaded.action == "loaded" and loaded.rows
    assert_equal(db, settings, "r_first")
    report = sync_status(db, settings, pg_schema="r_first")
    assert report.lineage == "same" and report.backlog == 0 and report.schema_current
    # Same lineage, same change log: the file is kept as it is.
    assert restore(db, settings, pg_schema="r_first").action == "kept"
    # The pod moves: the file is gone, PostgreSQL rebuilds it with capture already installed.
    (tmp_path / "node2").mkdir()
    moved = tmp_path / "node2" / "jellyfin.db"
    rebuilt = restore(moved, settings, pg_schema="r_first")
    assert rebuilt.action == "rebuilt" and rebuilt.generation == loaded.generation
    assert_equal(moved, settings, "r_first")
    conn = apsw.Connection(str(moved))
    assert capture.triggers_current(conn)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    # ...and sync continues on it without reloading: the rebuilt file and PostgreSQL agree.
    sync = SyncProcess(moved, pg_dsn, "r_first")
    try:
        sync.wait_ready()
        subprocess.run(["sqlite3", "-cmd", ".timeout 5000", str(moved), "UPDATE UserData SET PlayCount = 9"],
                       check=True)
        wait_caught_up(moved, settings, "r_first")
        assert_equal(moved, settings, "r_first")
        assert sync.metric('sqlmite_sync_reloads_total{reason="initial"}') == 0
    finally:
        sync.stop()


def test_an_older_copy_of_the_same_history_is_brought_up_to_date(tmp_path: Path, pg_dsn: str) -> None:
    db = jellyfin_file(tmp_path / "jellyfin.db", items=40)
    settings = settings_for(pg_dsn, "r_old")
    restore(db, settings, pg_schema="r_old")
    old = tmp_path / "old.db"
    with apsw.Connection(str(old)) as copy, copy.backup("main", apsw.Connection(str(db)), "main") as job:
        job.step(-1)
    sync = SyncProcess(db, pg_dsn, "r_old")
    try:
        sync.wait_ready()
        subprocess.run(["sqlite3", "-cmd", ".timeout 5000", str(db), "DELETE FROM ActivityLogs"], check=True)
        wait_caught_up(db, settings, "r_old")
    finally:
        sync.terminate()
        sync.stop()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    old.rename(db)
    result = restore(db, settings, pg_schema="r_old")
    assert result.action == "rebuilt" and "older" in result.reason
    assert result.replaced and Path(result.replaced).exists()
    assert_equal(db, settings, "r_old")


def test_a_different_lineage_is_refused_unless_a_side_is_preferred(tmp_path: Path, pg_dsn: str) -> None:
    ours = jellyfin_file(tmp_path / "jellyfin.db", items=30)
    settings = settings_for(pg_dsn, "r_other")
    restore(ours, settings, pg_schema="r_other")
    (tmp_path / "other").mkdir()
    theirs = jellyfin_file(tmp_path / "other" / "jellyfin.db", items=30, seed=99)  # never synced
    with pytest.raises(LineageError):
        restore(theirs, settings, pg_schema="r_other")
    refused = cli("restore", str(theirs), "--from", pg_dsn, "--schema", "r_other")
    assert refused.returncode == 8
    errors = [line for line in refused.stderr.splitlines() if line.startswith("sqlmite:")]
    assert len(errors) == 1 and "--prefer" in errors[0]
    # --prefer sqlite: PostgreSQL is reloaded from this file.
    loaded = cli("restore", str(theirs), "--from", pg_dsn, "--schema", "r_other", "--prefer", "sqlite", "--json")
    assert loaded.returncode == 0, loaded.stderr
    assert '"action": "loaded"' in loaded.stdout
    assert_equal(theirs, settings, "r_other")
    # Now the first file is the stranger: --prefer postgres replaces it and keeps it aside.
    with pytest.raises(LineageError):
        restore(ours, settings, pg_schema="r_other")
    replaced = restore(ours, settings, pg_schema="r_other", prefer="postgres")
    assert replaced.action == "rebuilt" and replaced.replaced and Path(replaced.replaced).exists()
    assert_equal(ours, settings, "r_other")


def test_a_missing_file_with_a_stale_wal_is_refused(tmp_path: Path, pg_dsn: str) -> None:
    db = jellyfin_file(tmp_path / "jellyfin.db", items=20)
    settings = settings_for(pg_dsn, "r_stale")
    restore(db, settings, pg_schema="r_stale")
    db.unlink()
    Path(f"{db}-wal").write_bytes(b"stale")
    with pytest.raises(SourceError, match="-wal"):
        restore(db, settings, pg_schema="r_stale")
    refused = cli("restore", str(db), "--from", pg_dsn, "--schema", "r_stale")
    assert refused.returncode == 4
    assert Path(f"{db}-wal").read_bytes() == b"stale"  # left untouched


def test_status_reports_both_sides(tmp_path: Path, pg_dsn: str) -> None:
    db = jellyfin_file(tmp_path / "jellyfin.db", items=20)
    restore(db, settings_for(pg_dsn, "r_status"), pg_schema="r_status")
    subprocess.run(["sqlite3", str(db), "UPDATE UserData SET Played = 1"], check=True)
    done = cli("status", str(db), pg_dsn, "--schema", "r_status", "--json")
    assert done.returncode == 0, done.stderr
    import json

    report = json.loads(done.stdout)
    assert report["lineage"] == "same" and report["backlog"] > 0 and report["lag_seconds"] >= 0
    table = cli("status", str(db), pg_dsn, "--schema", "r_status")
    assert "backlog" in table.stdout and table.returncode == 0
