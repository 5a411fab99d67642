"""The command line, run as a user runs it: a separate process, real SQLite files, real PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import apsw
import psycopg
import pytest

from sqlmite.testing import create_schema


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("SQLMITE_", "PG"))}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "sqlmite", *args], capture_output=True, text=True,
                          env=full_env, timeout=120, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def jellyfin_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "jellyfin.db"
    create_schema(path)
    return path


def test_help_teaches(jellyfin_db: Path) -> None:
    result = run("--help")
    assert result.returncode == 0
    for command in ("schema", "generate", "demo", "config", "restore", "sync", "status"):
        assert command in result.stdout
    assert "embedded" in result.stdout
    assert "--dry-run" in run("schema", "--help").stdout
    sync_help = run("sync", "--help").stdout
    for option in ("--listen", "--grace", "--ready-lag", "Example:"):
        assert option in sync_help
    assert "--prefer" in run("restore", "--help").stdout


def test_demo_syncs_a_live_database_and_restores_it(tmp_path: Path, pg_dsn: str) -> None:
    result = run("demo", "--items", "60", "--seconds", "2", "--data-dir", str(tmp_path),
                 env={"SQLMITE_DATABASE_URL": pg_dsn})
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("everything matches") == 2
    assert "the writer committed" in result.stdout


def test_sync_listen_must_be_host_port(tmp_path: Path) -> None:
    result = run("sync", str(tmp_path / "x.db"), "--listen", "nine", env={"SQLMITE_DATABASE_URL": "postgresql://x@127.0.0.1:1/x"})
    assert result.returncode == 2
    assert "--listen" in result.stderr


def test_dry_run_prints_ddl_and_touches_nothing(jellyfin_db: Path) -> None:
    before = jellyfin_db.read_bytes()
    result = run("schema", str(jellyfin_db), "--dry-run", env={"SQLMITE_DATABASE_URL": "postgresql://x@127.0.0.1:1/x"})
    assert result.returncode == 0, result.stderr
    assert 'CREATE TABLE "jellyfin"."BaseItems"' in result.stdout
    assert jellyfin_db.read_bytes() == before


def test_schema_is_created_and_reported_as_json(jellyfin_db: Path, pg_dsn: str) -> None:
    result = run("schema", str(jellyfin_db), "--schema", "jf_cli", "--json", env={"SQLMITE_DATABASE_URL": pg_dsn})
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["pg_schema"] == "jf_cli" and len(summary["tables"]) == 33
    with psycopg.connect(pg_dsn) as conn:
        count = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'jf_cli'").fetchone()[0]
    assert count == 33
    again = run("schema", str(jellyfin_db), "--schema", "jf_cli", env={"SQLMITE_DATABASE_URL": pg_dsn})
    assert again.returncode == 7 and "--replace" in again.stderr
    replaced = run("schema", str(jellyfin_db), "--schema", "jf_cli", "--replace", env={"SQLMITE_DATABASE_URL": pg_dsn})
    assert replaced.returncode == 0, replaced.stderr


def test_json_logs_carry_the_audit_trail(jellyfin_db: Path, pg_dsn: str) -> None:
    result = run("schema", str(jellyfin_db), "--schema", "jf_audit", "--log-format", "json",
                 env={"SQLMITE_DATABASE_URL": pg_dsn})
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    ddl = [e for e in events if e.get("event") == "ddl"]
    assert len(ddl) > 100
    assert all(e["role"] and e["target"].startswith("postgresql://") and e["object"] for e in ddl)
    assert any(e.get("event") == "connection opened" for e in events)


@pytest.mark.parametrize(
    ("setup", "code", "says"),
    [
        ("missing", 4, "no such file"),
        ("not-a-db", 4, "not a SQLite database"),
        ("bad-config", 2, "SQLMITE_POOL_SIZE"),
        ("unreachable", 3, "unreachable"),
    ],
)
def test_bad_input_gives_one_clear_line_and_a_documented_exit_code(tmp_path: Path, jellyfin_db: Path, setup: str,
                                                                    code: int, says: str) -> None:
    env = {"SQLMITE_DATABASE_URL": "postgresql://jellyfin:hunter2secret@127.0.0.1:1/jellyfin",
           "SQLMITE_RETRY_ATTEMPTS": "1", "SQLMITE_CONNECT_TIMEOUT": "2"}
    source = jellyfin_db
    if setup == "missing":
        source = tmp_path / "nope.db"
    elif setup == "not-a-db":
        source = tmp_path / "text.db"
        source.write_text("hello, I am not a database" * 100)
    elif setup == "bad-config":
        env["SQLMITE_POOL_SIZE"] = "many"
    result = run("schema", str(source), env=env)
    assert result.returncode == code, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("sqlmite:")]
    assert len(errors) == 1 and says in errors[0]
    assert "Traceback" not in result.stderr
    assert "hunter2secret" not in result.stderr + result.stdout


def test_config_shows_sources_and_masks_secrets(tmp_path: Path) -> None:
    config = tmp_path / "sqlmite.toml"
    config.write_text('pool_size = 3\nlog_format = "json"\n')
    result = run("config", "--config", str(config), "--json",
                 env={"SQLMITE_DATABASE_URL": "postgresql://jellyfin:hunter2secret@db:5432/jellyfin",
                      "SQLMITE_POOL_SIZE": "4"})
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["backend"] == "url"
    assert shown["settings"]["pool_size"] == {"value": "4", "source": "env"}  # env beats the file
    assert shown["settings"]["log_format"] == {"value": "json", "source": "file"}
    assert shown["settings"]["database_url"]["value"] == "postgresql://jellyfin:***@db:5432/jellyfin"
    assert shown["ignored"] == []
    assert "hunter2secret" not in result.stdout + result.stderr


def test_source_file_is_never_modified(tmp_path: Path, pg_dsn: str) -> None:
    path = tmp_path / "app.db"
    conn = apsw.Connection(str(path))
    conn.execute("PRAGMA journal_mode=wal; CREATE TABLE t(id INTEGER PRIMARY KEY, v); INSERT INTO t(v) VALUES (1)")
    conn.close()
    before = path.read_bytes()
    result = run("schema", str(path), env={"SQLMITE_DATABASE_URL": pg_dsn})
    assert result.returncode == 0, result.stderr
    assert path.read_bytes() == before
    # A WAL reader, like any SQLite connection, may create the -wal/-shm pair; it writes no pages.
    assert {p.name for p in tmp_path.iterdir()} <= {"app.db", "app.db-wal", "app.db-shm"}
    wal = tmp_path / "app.db-wal"
    assert not wal.exists() or wal.stat().st_size == 0


def test_a_misspelt_variable_is_named_in_a_warning(jellyfin_db: Path) -> None:
    result = run("schema", str(jellyfin_db), "--dry-run", env={"SQLMITE_POOLSIZE": "3"})
    assert result.returncode == 0
    assert "SQLMITE_POOLSIZE is not a sqlmite setting" in result.stderr
