"""The first lines of bench/migrate.py's report: the machine, PostgreSQL and the versions measured.

Figures depend on all of these, so every run prints them to tell runs apart.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from pathlib import Path

import apsw
import psutil
import psycopg
from _fixtures import admin
from _sqlmite_runs import default_jobs

# --------------------------------------------------------------------------------------------
# The machine.


def machine(dsn: str) -> list[tuple[str, str]]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = psutil.virtual_memory().total
    with admin(dsn) as pg:
        version = pg.execute("SELECT version()").fetchone()[0]
        settings = dict(pg.execute(
            "SELECT name, current_setting(name) FROM pg_settings WHERE name IN ('shared_buffers', "
            "'max_wal_size', 'synchronous_commit', 'fsync', 'wal_level', 'maintenance_work_mem', "
            "'max_parallel_maintenance_workers', 'full_page_writes', 'wal_compression')").fetchall())
        local = pg.info.host in ("localhost", "127.0.0.1", "::1") or pg.info.host.startswith("/")
    import sqlite3

    return [
        ("sqlmite", _sqlmite_version()),
        ("CPU", f"{cpu}, {os.cpu_count()} logical cores ({default_jobs()} usable)"),
        ("RAM", f"{ram / 2**30:.1f} GiB"),
        ("OS", f"{platform.system()} {platform.release()} ({platform.machine()})"),
        ("PostgreSQL", version.split(" on ")[0] + (" (same machine)" if local else " (remote)")),
        ("PostgreSQL settings", ", ".join(f"{k}={v}" for k, v in sorted(settings.items()))),
        ("Python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("SQLite (APSW)", f"{apsw.sqlite_lib_version()} (apsw {apsw.apswversion()}; stdlib sqlite3 "
                          f"{sqlite3.sqlite_version})"),
        ("psycopg", f"{psycopg.__version__} ({psycopg.pq.__impl__} libpq {psycopg.pq.version()})"),
        ("pgloader", pgloader_version() or "not installed"),
    ]


def _sqlmite_version() -> str:
    import sqlmite

    text = f"{getattr(sqlmite, '__version__', '?')}"
    try:
        rev = subprocess.run(["git", "-C", str(Path(__file__).resolve().parent), "describe", "--always", "--dirty"],
                             capture_output=True, text=True, timeout=10).stdout.strip()
        if rev:
            text += f" (git {rev})"
    except (OSError, subprocess.SubprocessError):
        pass
    return text


def pgloader_version() -> str | None:
    exe = shutil.which("pgloader")
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown version"
    return " ".join(out.split()[:3]) or "unknown version"
