"""Helpers for the sync tests: the sidecar and the writers run as separate processes, as in a pod."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import psycopg

from sqlmite.config import Settings, load_settings
from sqlmite.migrate import verify
from sqlmite.sync.status import sync_status
from sqlmite.testing.jellyfin import generate

SQLMITE = str(Path(sys.executable).with_name("sqlmite"))


def settings_for(dsn: str, schema: str) -> Settings:
    return load_settings(cli={"database_url": dsn, "schema": schema}, env={})


def jellyfin_file(path: Path, items: int = 150, seed: int = 7) -> Path:
    """A Jellyfin 12 database in WAL mode, as Jellyfin leaves it."""
    generate(path, items=items, version="12.0", seed=seed)
    subprocess.run(["sqlite3", str(path), "PRAGMA journal_mode=WAL"], check=True, capture_output=True)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def child_env() -> dict[str, str]:
    """The environment of a sqlmite child: no SQLMITE_* settings leaking in from the test run."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("SQLMITE_", "PG"))}


class SyncProcess:
    """``sqlmite sync`` as a child process, with its health port."""

    def __init__(self, path: Path, dsn: str, schema: str, *extra: str, log: Path | None = None) -> None:
        self.port = free_port()
        self.log_path = log or path.with_suffix(f".sync-{self.port}.log")
        self.log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [SQLMITE, "sync", str(path), "--to", dsn, "--schema", schema, "--listen", f"127.0.0.1:{self.port}",
             "--log-format", "json", *extra],
            stdout=self.log, stderr=subprocess.STDOUT, env=child_env())

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"sync exited with {self.proc.returncode}:\n{self.output()}")
            try:
                if self.get("/readyz")[0] == 200:
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.05)
        raise AssertionError(f"sync not ready after {timeout} s:\n{self.output()}")

    def metric(self, name: str) -> float:
        for line in self.get("/metrics")[1].splitlines():
            if line.startswith((name + " ", name + "{")):
                return float(line.rsplit(" ", 1)[1])
        raise KeyError(name)

    def terminate(self, timeout: float = 30.0) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.kill()
        self.log.close()

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")[-5000:]

    def events(self) -> list[dict[str, Any]]:
        out = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return out


def writer(path: Path, *args: str) -> subprocess.Popen[bytes]:
    """The Jellyfin-like writer (Python's sqlite3) in its own process."""
    return subprocess.Popen([sys.executable, "-m", "sqlmite.testing.workload", str(path), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finish_writer(proc: subprocess.Popen[bytes], timeout: float = 120.0) -> dict[str, Any]:
    out, errors = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, errors.decode()
    return json.loads(out.decode().strip().splitlines()[-1])


def wait_caught_up(path: Path, settings: Settings, schema: str, timeout: float = 60.0) -> None:
    """Until PostgreSQL has applied everything the file's log holds, and holds the file's schema."""
    deadline = time.monotonic() + timeout
    report = None
    while time.monotonic() < deadline:
        report = sync_status(path, settings, pg_schema=schema)
        if report.backlog == 0 and report.applied_seq == report.log_top and report.schema_current:
            return
        time.sleep(0.05)
    raise AssertionError(f"not caught up after {timeout} s: {report}")


def assert_equal(path: Path, settings: Settings, schema: str) -> None:
    report = verify(path, settings, pg_schema=schema)
    assert report.ok, report.as_dict()


def drop_database(dsn: str, schema: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as pg:
        pg.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        for table in ("databases", "sync_state"):
            if pg.execute(f"SELECT to_regclass('sqlmite.{table}')").fetchone()[0]:
                pg.execute(f"DELETE FROM sqlmite.{table} WHERE schema_name = %s", (schema,))
