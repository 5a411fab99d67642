"""Writers sqlmite does not control: the Jellyfin-like workload process, the sqlite3 shell script
and the EF Core migration replay (SQLite only, no PostgreSQL).

A sync sidecar is tested against these, so they must themselves leave sound databases (integrity,
foreign keys) and must really change rows of every kind they claim to.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sqlmite.testing import create_schema, generate
from sqlmite.testing._jellyfin_values import PLACEHOLDER_ID, format_datetime
from sqlmite.testing.ef_migrations import (
    MigrationStep,
    ReplayError,
    migration_steps,
    replay,
    step_script,
)
from sqlmite.testing.workload import KINDS, Workload, sqlite3_shell_script

GUID = re.compile(r"^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$")
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{0,6}[1-9])?$")
MASTER = "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY rowid"


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("library") / "jellyfin.db"
    generate(path, items=200, seed=1)
    return path


@pytest.fixture
def db(library: Path, tmp_path: Path) -> Path:
    """A private copy of the generated library (generate leaves no -wal file behind)."""
    return Path(shutil.copy(library, tmp_path / "jellyfin.db"))


def _ids(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {r[0] for r in conn.execute("SELECT Id FROM BaseItems")}


def _check(path: Path, before: set[str], since: str) -> None:
    """Sound file, and every kind of work visible: new and deleted items, progress, edits."""
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    after = _ids(path)
    new, gone = after - before, before - after
    assert new and gone
    marks = ", ".join("?" * len(new))
    for table in ("AncestorIds", "MediaStreamInfos", "ItemValuesMap", "BaseItemImageInfos", "BaseItemProviders"):
        assert conn.execute(f'SELECT count(*) FROM "{table}" WHERE ItemId IN ({marks})', list(new)).fetchone()[0]
    rows = conn.execute(f"SELECT Id, DateCreated, PresentationUniqueKey FROM BaseItems WHERE Id IN ({marks})",
                        list(new)).fetchall()
    assert all(GUID.match(i) and DATETIME.match(d) and key for i, d, key in rows)
    assert conn.execute("SELECT count(*) FROM UserData WHERE LastPlayedDate >= ?", (since,)).fetchone()[0]
    assert conn.execute("SELECT count(*) FROM BaseItems WHERE DateLastSaved >= ?", (since,)).fetchone()[0]
    assert conn.execute("SELECT count(*) FROM UserData WHERE ItemId = ? AND RetentionDate >= ?",
                        (PLACEHOLDER_ID, since)).fetchone()[0]
    conn.close()


def _since() -> str:
    return format_datetime(int(time.time()) - 1)


def _workload(db: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "sqlmite.testing.workload", str(db), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _summary(process: subprocess.Popen[str]) -> dict[str, object]:
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0 and not err, err
    lines = out.splitlines()
    assert len(lines) == 1
    summary = json.loads(lines[0])
    assert set(summary) == {"transactions", "rows", "seconds", "stopped_by"}
    assert set(summary["transactions"]) == set(summary["rows"]) == set(KINDS)
    return summary


def _wait_for_commit(db: Path, process: subprocess.Popen[str]) -> None:
    """Returns once the writer has committed something (its signal handlers are in by then)."""
    conn = sqlite3.connect(db)
    start = conn.execute("PRAGMA data_version").fetchone()[0]
    deadline = time.monotonic() + 20
    while conn.execute("PRAGMA data_version").fetchone()[0] == start:
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    conn.close()


# -- the workload process ----------------------------------------------------------------------------


def test_workload_for_seconds_changes_every_kind(db: Path) -> None:
    before, since = _ids(db), _since()
    summary = _summary(_workload(db, "--seconds", "2", "--seed", "3", "--scan-size", "20"))
    assert summary["stopped_by"] == "seconds" and 2 <= summary["seconds"] < 5
    assert all(summary["transactions"][kind] > 0 and summary["rows"][kind] > 0 for kind in KINDS)
    assert summary["rows"]["scan"] > 20 * summary["transactions"]["scan"]  # items and their rows
    _check(db, before, since)


def test_workload_for_transactions_with_a_mix(db: Path) -> None:
    before, since = _ids(db), _since()
    process = _workload(db, "--transactions", "150", "--seed", "4", "--mix", "scan=1,progress=4,delete=1,update=2")
    summary = _summary(process)
    assert summary["stopped_by"] == "transactions" and sum(summary["transactions"].values()) == 150
    assert summary["rows"]["progress"] == summary["transactions"]["progress"]  # one row each
    _check(db, before, since)


def test_workload_exits_0_on_sigterm(db: Path) -> None:
    process = _workload(db, "--rate", "50", "--mix", "progress=1,update=1")
    _wait_for_commit(db, process)
    process.send_signal(signal.SIGTERM)
    summary = _summary(process)
    assert summary["stopped_by"] == "signal" and summary["transactions"]["progress"] > 0
    assert summary["transactions"]["scan"] == summary["transactions"]["delete"] == 0


def test_workload_stops_at_the_stop_file(db: Path, tmp_path: Path) -> None:
    stop = tmp_path / "stop"
    process = _workload(db, "--stop-file", str(stop), "--rate", "100")
    _wait_for_commit(db, process)
    stop.touch()
    assert _summary(process)["stopped_by"] == "stop-file"


def test_workload_as_a_library(db: Path) -> None:
    with pytest.raises(ValueError, match="weights"):
        Workload(db, mix={"scan": 0.0})
    with pytest.raises(FileNotFoundError):
        Workload(db.with_name("missing.db"))
    workload = Workload(db, seed=5, mix={"scan": 1, "delete": 1}, scan_size=25)
    summary = workload.run(transactions=6)
    workload.close()
    assert sum(summary.transactions.values()) == 6 and summary.rows["progress"] == 0
    assert summary.rows["scan"] > 25 * summary.transactions["scan"]
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


# -- the sqlite3 shell script ------------------------------------------------------------------------


def test_shell_script_runs_twice_in_the_sqlite3_shell(db: Path) -> None:
    script = sqlite3_shell_script(seed=2, transactions=80)
    assert script.startswith("PRAGMA foreign_keys=ON;\n")
    assert script.count("PRAGMA defer_foreign_keys") >= 2  # the seed gives scans, as well as deletes
    before, since = _ids(db), _since()
    for _ in range(2):  # new ids are drawn by SQLite, so a second run does not collide
        result = subprocess.run(["sqlite3", str(db)], input=script, capture_output=True, text=True, check=False)
        assert result.returncode == 0 and not result.stderr, result.stderr
    _check(db, before, since)


# -- the EF Core migration replay --------------------------------------------------------------------


def test_replay_builds_the_12_0_schema_step_by_step(tmp_path: Path) -> None:
    steps = migration_steps()
    assert steps[0].name == "prelude" and len(steps) == 56
    seen: list[str] = []
    path = tmp_path / "replayed.db"
    replay(path, between=lambda step: seen.append(step.name))
    assert seen == [step.name for step in steps]
    create_schema(tmp_path / "fresh.db")
    replayed, fresh = sqlite3.connect(path), sqlite3.connect(tmp_path / "fresh.db")
    # The whole sqlite_master, creation order included; the fixture has the lock table too.
    assert replayed.execute(MASTER).fetchall() == fresh.execute(MASTER).fetchall()
    history = [r[0] for r in replayed.execute('SELECT "MigrationId" FROM "__EFMigrationsHistory" ORDER BY rowid')]
    assert history == [step.name for step in steps[1:]]
    # The fixture also lists Jellyfin's code migrations, which EF does not run.
    assert set(history) < {r[0] for r in fresh.execute('SELECT "MigrationId" FROM "__EFMigrationsHistory"')}
    assert replayed.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert replayed.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def test_step_script_keeps_foreign_key_pragmas_outside_transactions() -> None:
    rebuilds = [step for step in migration_steps() if "ef_temp_" in step.sql]
    assert rebuilds
    for step in rebuilds:
        depth = 0
        for line in step_script(step).splitlines():
            depth += {"BEGIN;": 1, "COMMIT;": -1}.get(line, 0)
            assert depth in (0, 1)
            if line.startswith("PRAGMA"):
                assert depth == 0, (step.name, line)
        assert depth == 0


def test_replay_fails_loudly_and_rolls_the_step_back(tmp_path: Path) -> None:
    path = tmp_path / "bad.db"
    bad = MigrationStep("broken", 'CREATE TABLE "Kept" (x);\nINSERT INTO "Missing" VALUES (1);\n')
    with pytest.raises(ReplayError, match="Missing") as failure:
        replay(path, [bad])
    assert failure.value.step == "broken"
    assert sqlite3.connect(path).execute("SELECT name FROM sqlite_master").fetchall() == []
