#!/usr/bin/env python
"""Benchmark of ``sqlmite migrate`` (and ``sqlmite export``) against anchors measured in the same run.

    python bench/migrate.py [--items N] [--dsn DSN] [--scale 4]

Targets are ratios against anchors measured in this very run on the same PostgreSQL, never
absolute numbers: migrate >= 5x pgloader's rows/s, migrate >= 0.5x a plain binary COPY of the
same rows, and peak memory of the migrate (its process and its workers) < 300 MB and flat when
the database is ``--scale`` times larger. See bench/README.md for what each figure means.

Everything runs in a fresh PostgreSQL database created (and dropped) for the run; pgloader, when
installed, gets two more. Generated SQLite files are cached in ``--workdir`` keyed by items and
seed, so reruns skip generation. Nothing in src/ is changed or monkey-patched: migrate runs in a
subprocess through its public Python API, and its phases are timed from the outside (progress
callbacks, its audit log lines, and the appearance of its backup file).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import apsw
import psutil
import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_ITEMS = 60_000  # ~17.4 rows per item: ~1.04 M rows
MIN_ROWS = 1_000_000
TARGET_VS_PGLOADER = 5.0
TARGET_VS_CEILING = 0.5
TARGET_PEAK_MB = 300.0
FLAT_GROWTH = 0.10  # peak at --scale x may exceed the 1x peak by this fraction ...
FLAT_SLACK_MB = 10.0  # ... plus this much noise, and still count as flat
SAMPLE_EVERY = 0.05  # seconds between RSS samples of the process tree
PSS_EVERY = 4  # PSS (smaps_rollup, costlier) every this many samples
MB = 1e6

# The migrate runs here, in a fresh interpreter started with -c: spawn-started workers then import
# only what they unpickle (as they do under the `sqlmite` CLI), not this benchmark's modules.
_MIGRATE_CHILD = r"""
import json, logging, sys, time
from pathlib import Path
spec = json.loads(sys.argv[1])
t_process = time.monotonic()
from sqlmite.config import load_settings
from sqlmite.migrate import migrate
from sqlmite.observe.log import setup_logging

events = []
def ev(kind, **fields):
    events.append({"t": time.monotonic(), "kind": kind, **fields})

class Recorder(logging.Handler):  # sqlmite's log lines (audit: one per DDL statement applied)
    def emit(self, record):
        fields = getattr(record, "sqlmite_fields", {})
        ev("log", logger=record.name, message=record.getMessage(), **{k: str(v) for k, v in fields.items()})

class Progress:
    def start(self, tables): ev("load_start", tables=len(tables), rows=sum(n for _, n in tables))
    def advance(self, table, rows): pass
    def done(self, loaded): ev("table_done", name=loaded.name, rows=loaded.rows, seconds=loaded.seconds)
    def note(self, message): ev("note", message=message)

setup_logging("json", "info")  # as `--log-format json`: the audit lines are emitted
logging.getLogger("sqlmite").handlers[:] = [Recorder()]
settings = load_settings(cli={"database_url": spec["dsn"]})
t_imported = time.monotonic()
ev("start")
result = migrate(spec["source"], settings, pg_schema=spec["schema"], backup_dir=Path(spec["backup_dir"]),
                 progress=Progress())
ev("end")
Path(spec["out"]).write_text(json.dumps({
    "t_process": t_process, "t_imported": t_imported, "seconds": result.seconds, "rows": result.rows,
    "backup": result.backup, "resumed": result.resumed, "events": events,
    "tables": [{"name": t.name, "rows": t.rows, "seconds": t.seconds} for t in result.loaded],
    "post_data": [s.sql for s in result.plan.post_data],
}))
"""

_EXPORT_CHILD = r"""
import json, sys, time
from pathlib import Path
spec = json.loads(sys.argv[1])
from sqlmite.config import load_settings
from sqlmite.migrate.export import export
settings = load_settings(cli={"database_url": spec["dsn"]})
report = export(settings, spec["target"], pg_schema=spec["schema"])
Path(spec["out"]).write_text(json.dumps({"rows": report.rows, "seconds": report.seconds,
                                         "size_bytes": report.size_bytes}))
"""


# --------------------------------------------------------------------------------------------
# Measuring a subprocess: wall time, peak RSS / PSS of its whole process tree, its max RSS.


@dataclass
class Measured:
    returncode: int
    t0: float
    t1: float
    peak_tree_rss: int = 0  # bytes, sum over the process tree, sampled every SAMPLE_EVERY
    peak_tree_pss: int = 0  # bytes, same with PSS (shared pages counted once), sampled less often
    max_procs: int = 0
    maxrss: int = 0  # bytes: ru_maxrss of the child and its reaped descendants (wait4); see README
    parent_maxrss: int = 0  # bytes: this process's own ru_maxrss when the child was started
    hwm: dict[int, int] = field(default_factory=dict)  # pid -> VmHWM bytes (kernel's own peak RSS)
    procs: list[psutil.Process] = field(default_factory=list, repr=False)  # the tree as last listed
    marks: dict[str, float] = field(default_factory=dict)
    output: str = ""
    aborted: str | None = None

    @property
    def wall(self) -> float:
        return self.t1 - self.t0

    @property
    def max_hwm(self) -> int:
        """Peak RSS of the largest single process of the tree (VmHWM: exact, not sampled)."""
        return max(self.hwm.values(), default=0)

    @property
    def hwm_sum(self) -> int:
        """Sum of every process's own peak: an upper bound of the tree's peak (the peaks need not coincide)."""
        return sum(self.hwm.values())


def run_measured(cmd: list[str], *, watch: tuple[Path, str] | None = None, timeout: float | None = None,
                 abort_pattern: str | None = None, cwd: Path | None = None) -> Measured:
    """Run ``cmd`` to its end, sampling its process tree's memory every ``SAMPLE_EVERY`` seconds.

    ``watch`` (directory, glob): records when a matching file first appears (``marks["seen"]``).
    ``abort_pattern``: kill the child when its output shows it (pgloader hangs after a crash).
    """
    with tempfile.TemporaryFile("w+b") as output:
        parent_maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=output, stderr=subprocess.STDOUT, cwd=cwd)
        measured = Measured(returncode=-1, t0=t0, t1=t0, parent_maxrss=parent_maxrss)
        root = psutil.Process(proc.pid)
        n = 0
        next_sample = t0
        while True:
            pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            _sample(root, measured, pss=n % PSS_EVERY == 0)
            n += 1
            now = time.monotonic()
            if watch is not None and "seen" not in measured.marks and any(watch[0].glob(watch[1])):
                measured.marks["seen"] = now
            if n % 20 == 0 and (abort_pattern or timeout):
                reason = None
                if timeout and now - t0 > timeout:
                    reason = f"timed out after {timeout:.0f} s"
                elif abort_pattern:
                    output.seek(0)
                    if abort_pattern.encode() in output.read():
                        reason = f"crashed ({abort_pattern!r} in its output)"
                if reason:
                    measured.aborted = reason
                    _kill_tree(root)
            next_sample += SAMPLE_EVERY
            time.sleep(max(0.0, next_sample - time.monotonic()))
        measured.t1 = time.monotonic()
        proc.returncode = os.waitstatus_to_exitcode(status)
        measured.returncode = proc.returncode
        measured.maxrss = rusage.ru_maxrss * 1024  # KiB on Linux
        output.seek(0)
        measured.output = output.read().decode("utf-8", "replace")
    return measured


def _sample(root: psutil.Process, measured: Measured, *, pss: bool) -> None:
    """One sample; the tree is re-listed only with each PSS sample (listing reads every /proc/PID/stat)."""
    if pss or not measured.procs:
        try:
            measured.procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            return
    procs = measured.procs
    rss = pss_total = 0
    for p in procs:
        try:
            rss += p.memory_info().rss
            if pss:
                pss_total += p.memory_full_info().pss
        except psutil.Error:
            pass
        hwm = _vm_hwm(p.pid)
        if hwm is not None:
            measured.hwm[p.pid] = max(measured.hwm.get(p.pid, 0), hwm)
    measured.peak_tree_rss = max(measured.peak_tree_rss, rss)
    measured.peak_tree_pss = max(measured.peak_tree_pss, pss_total)
    measured.max_procs = max(measured.max_procs, len(procs))


def _vm_hwm(pid: int) -> int | None:
    """The kernel's peak RSS of ``pid`` since its exec (unlike ru_maxrss, not inherited from the parent)."""
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _kill_tree(root: psutil.Process) -> None:
    try:
        victims = [*root.children(recursive=True), root]
    except psutil.Error:
        victims = [root]
    for p in victims:
        try:
            p.kill()
        except psutil.Error:
            pass


# --------------------------------------------------------------------------------------------
# Other work on the machine: a benchmark on a shared 2-core machine must say when it was disturbed.

_PG_AUXILIARY = ("checkpointer", "background writer", "walwriter", "autovacuum", "logical replication",
                 "stats collector", "archiver", "io worker")


def _others(run_id: str) -> dict[tuple[int, float], float]:
    """CPU seconds so far of every process that is not this benchmark's work, keyed by (pid, start time).

    Ours: this process and its descendants, and PostgreSQL backends serving this run's databases
    (their titles name it); PostgreSQL's shared background processes count as neither.
    """
    ours = {os.getpid()}
    try:
        ours |= {p.pid for p in psutil.Process().children(recursive=True)}
    except psutil.Error:
        pass
    found = {}
    for p in psutil.process_iter(["pid", "cmdline", "create_time", "cpu_times"]):
        info = p.info
        if info["pid"] in ours or info["cpu_times"] is None or info["create_time"] is None:
            continue
        title = " ".join(info["cmdline"] or [])
        if run_id in title or (title.startswith("postgres:") and any(a in title for a in _PG_AUXILIARY)):
            continue
        times = info["cpu_times"]
        found[(info["pid"], info["create_time"])] = times.user + times.system
    return found


class Disturbance:
    """CPU seconds other processes used between ``__init__`` and ``seconds()`` (those that ran to
    completion inside the interval are missed: a lower bound)."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.started = time.time()
        self.before = _others(run_id)

    def seconds(self) -> float:
        total = 0.0
        for key, cpu in _others(self.run_id).items():
            if key in self.before:
                total += max(0.0, cpu - self.before[key])
            elif key[1] >= self.started - 1:
                total += cpu
        return total


def wait_quiet(limit: float = 45.0, busy_below: float = 15.0) -> str:
    """Wait until the machine is nearly idle (at most ``limit`` seconds); say how that went."""
    started = time.monotonic()
    while True:
        busy = psutil.cpu_percent(interval=1.0)
        if busy < busy_below:
            waited = time.monotonic() - started
            return "" if waited < 1.5 else f"waited {waited:.0f} s for the machine to go quiet"
        if time.monotonic() - started > limit:
            return f"machine still {busy:.0f}% busy after waiting {limit:.0f} s"


# --------------------------------------------------------------------------------------------
# PostgreSQL: the run's own databases.


def with_dbname(dsn: str, dbname: str) -> str:
    return make_conninfo(dsn, dbname=dbname)


def admin(dsn: str) -> psycopg.Connection[Any]:
    return psycopg.connect(dsn, autocommit=True)


def create_database(dsn: str, name: str) -> str:
    with admin(dsn) as pg:
        pg.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return with_dbname(dsn, name)


def drop_database(dsn: str, name: str) -> None:
    with admin(dsn) as pg:
        pg.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def checkpoint(dsn: str) -> None:
    """Start each measurement with no dirty buffers left over by the previous one."""
    try:
        with admin(dsn) as pg:
            pg.execute("CHECKPOINT")
    except psycopg.Error:
        pass


# --------------------------------------------------------------------------------------------
# The source: a Jellyfin-shaped database, cached.


_GENERATE_CHILD = r"""
import json, sys
from sqlmite.testing.jellyfin import generate
spec = json.loads(sys.argv[1])
stats = generate(spec["path"], spec["items"], seed=spec["seed"])
print(json.dumps({"items": spec["items"], "seed": spec["seed"], "rows": dict(stats.rows), "seconds": stats.seconds}))
"""


def ensure_source(workdir: Path, items: int, seed: int) -> tuple[Path, dict[str, int], float | None]:
    """The cached generated file for (items, seed), its row counts, and the generation seconds (None if cached).

    Generation runs in a subprocess: this process's peak RSS is inherited by every child it starts
    (ru_maxrss survives fork and exec), so it must stay small for the children's figures to mean anything.
    """
    path = workdir / f"jellyfin-12.0-items{items}-seed{seed}.db"
    meta = path.with_suffix(".json")
    if path.is_file() and meta.is_file():
        return path, json.loads(meta.read_text())["rows"], None
    partial = workdir / f".{path.name}.{os.getpid()}.partial"
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{partial}{suffix}").unlink(missing_ok=True)
    done = subprocess.run([sys.executable, "-c", _GENERATE_CHILD,
                           json.dumps({"path": str(partial), "items": items, "seed": seed})],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"generating {items} items failed:\n{done.stderr[-4000:]}")
    stats = json.loads(done.stdout.strip().splitlines()[-1])
    os.replace(partial, path)
    meta.write_text(json.dumps(stats))
    return path, stats["rows"], stats["seconds"]


def warm(path: Path) -> float:
    """Read ``path`` once so that every measured step starts with the source in the OS page cache.

    Without this the first reader pays for the disk and the others do not (on this kind of VM the
    page cache is also reclaimed quickly: a cold quick_check of the 1.7 GB file took 22 s, warm 1.5 s).
    """
    started = time.monotonic()
    with open(path, "rb", buffering=0) as f:
        while f.read(8 << 20):
            pass
    return time.monotonic() - started


# --------------------------------------------------------------------------------------------
# migrate, in a subprocess, with its phases.


@dataclass
class MigrateRun:
    label: str
    items: int
    source_bytes: int
    rows: int
    seconds: float  # migrate()'s own duration
    measured: Measured
    phases: list[tuple[str, float]]
    finish_by_kind: list[tuple[str, int, float]]  # kind, statements, seconds
    slowest_ddl: list[tuple[float, str]]
    tables: list[dict[str, Any]]
    workers: int
    load_seconds: float
    disturbed: float = 0.0  # CPU seconds other processes used meanwhile

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds

    @property
    def mb_per_s(self) -> float:
        return self.source_bytes / MB / self.seconds


def default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def run_migrate(label: str, source: Path, items: int, dsn: str, schema: str, workdir: Path) -> MigrateRun:
    backup_dir = workdir / f"backups-{schema}"
    shutil.rmtree(backup_dir, ignore_errors=True)
    backup_dir.mkdir(parents=True)
    out = workdir / f"migrate-{schema}.json"
    spec = {"source": str(source), "dsn": dsn, "schema": schema, "backup_dir": str(backup_dir), "out": str(out)}
    warm(source)
    try:
        measured = run_measured([sys.executable, "-c", _MIGRATE_CHILD, json.dumps(spec)],
                                watch=(backup_dir, "*.partial"))
        if measured.returncode != 0:
            raise RuntimeError(f"migrate of {source} failed (exit {measured.returncode}):\n{measured.output[-4000:]}")
        data = json.loads(out.read_text())
    finally:
        shutil.rmtree(backup_dir, ignore_errors=True)
        out.unlink(missing_ok=True)
    return _migrate_run(label, source, items, data, measured, len(data["tables"]))


def _migrate_run(label: str, source: Path, items: int, data: dict[str, Any], measured: Measured,
                 ntables: int) -> MigrateRun:
    events = data["events"]
    at = {e["kind"]: e["t"] for e in events if e["kind"] in ("start", "end", "load_start")}
    backup_done = next((e["t"] for e in events if e["kind"] == "note" and "backup written" in e["message"]), None)
    done = [e["t"] for e in events if e["kind"] == "table_done"]
    load_end = max(done) if done else at["load_start"]
    ddl = [e for e in events if e["kind"] == "log" and e.get("event") == "ddl" and e["t"] >= load_end]
    finish_end = ddl[-1]["t"] if ddl else load_end
    seen = measured.marks.get("seen")
    workers = min(default_jobs(), ntables)
    phases: list[tuple[str, float]] = []
    if seen is not None and backup_done is not None and at["start"] <= seen <= backup_done:
        phases.append(("open, quick_check, connect", seen - at["start"]))
        phases.append(("backup (online copy)", backup_done - seen))
    elif backup_done is not None:
        phases.append(("quick_check + backup", backup_done - at["start"]))
    scan_from = backup_done if backup_done is not None else at["start"]
    phases += [
        ("scan, plan, create tables", at["load_start"] - scan_from),
        (f"load: COPY ({workers} workers)", load_end - at["load_start"]),
        ("keys, indexes, FKs", finish_end - load_end),
        ("ANALYZE (+ commit)", at["end"] - finish_end),
    ]
    # Each audit line is written when its statement has run: a statement's time is the gap to the
    # line before it (the first one's includes closing the worker pool).
    kinds: dict[str, list[float]] = {}
    slowest: list[tuple[float, str]] = []
    post = data["post_data"]
    previous = load_end
    for i, e in enumerate(ddl):
        seconds = e["t"] - previous
        previous = e["t"]
        text = post[i] if len(post) == len(ddl) else e.get("statement", "?")
        kind = "(worker pool shutdown + first statement)" if i == 0 else _ddl_kind(text)
        kinds.setdefault(kind, []).append(seconds)
        if i:
            slowest.append((seconds, f"{kind} {e.get('object', '?')}"))
    slowest.sort(reverse=True)
    by_kind = sorted(((k, len(v), sum(v)) for k, v in kinds.items()), key=lambda r: -r[2])
    return MigrateRun(label, items, source.stat().st_size, data["rows"], data["seconds"], measured, phases, by_kind,
                      slowest[:6], data["tables"], workers, load_end - at["load_start"])


def _ddl_kind(text: str) -> str:
    upper = text.upper()
    if "FOREIGN KEY" in upper:
        return "foreign key"
    if "ADD PRIMARY KEY" in upper:
        return "primary key"
    if upper.startswith("ALTER TABLE") and " UNIQUE" in upper:
        return "unique constraint"
    if " CHECK " in upper or "CHECK (" in upper:
        return "check"
    if upper.startswith("CREATE UNIQUE INDEX"):
        return "unique index"
    if upper.startswith("CREATE INDEX"):
        return "index"
    return " ".join(text.split()[:2]).lower()


# --------------------------------------------------------------------------------------------
# export


@dataclass
class ExportRun:
    rows: int
    seconds: float
    size_bytes: int
    measured: Measured
    disturbed: float = 0.0

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds

    @property
    def mb_per_s(self) -> float:
        return self.size_bytes / MB / self.seconds


def export_available() -> str | None:
    """None when ``sqlmite.migrate.export.export`` can be imported (checked in a fresh interpreter)."""
    probe = subprocess.run([sys.executable, "-c", "from sqlmite.migrate.export import export"],
                           capture_output=True, text=True)
    if probe.returncode == 0:
        return None
    lines = (probe.stderr.strip().splitlines() or ["?"])
    return lines[-1]


def run_export(dsn: str, schema: str, workdir: Path) -> ExportRun:
    target = workdir / f"export-{schema}.db"
    out = workdir / f"export-{schema}.json"
    for p in (target, out):
        p.unlink(missing_ok=True)
    spec = {"dsn": dsn, "schema": schema, "target": str(target), "out": str(out)}
    try:
        measured = run_measured([sys.executable, "-c", _EXPORT_CHILD, json.dumps(spec)])
        if measured.returncode != 0:
            raise RuntimeError(f"export failed (exit {measured.returncode}):\n{measured.output[-4000:]}")
        data = json.loads(out.read_text())
    finally:
        for p in (target, out):
            p.unlink(missing_ok=True)
    return ExportRun(data["rows"], data["seconds"], data["size_bytes"], measured)


# --------------------------------------------------------------------------------------------
# Anchor (a): plain binary COPY of the same rows, same column types, no mapping, no indexes.


@dataclass(frozen=True)
class CeilingTable:
    name: str
    rows: int
    select: str  # SQLite
    create: str  # PostgreSQL
    copy: str
    types: list[str]


def ceiling_tables(source: Path, pg_schema: str) -> list[CeilingTable]:
    """One plain table per migrated table, typed as migrate types it (from migrate's own dry-run plan)."""
    from sqlmite.config import Settings
    from sqlmite.migrate import migrate
    from sqlmite.migrate.rows import pg_types, sqlite_select

    result = migrate(source, Settings(), pg_schema="ceiling_plan", dry_run=True)  # no PostgreSQL is touched
    tables = []
    for plan in result.plan.tables:
        types = pg_types(plan)[:-1]  # without the overflow column: no mapping here
        columns = plan.pg_columns[:-1]
        qualified = sql.SQL("{}.{}").format(sql.Identifier(pg_schema), sql.Identifier(plan.pg_name))
        body = sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(t))
                                  for c, t in zip(columns, types))
        names = sql.SQL(", ").join(map(sql.Identifier, columns))
        tables.append(CeilingTable(
            plan.name, result.scan.table(plan.name).rows, sqlite_select(plan),
            sql.SQL("CREATE TABLE {} ({})").format(qualified, body).as_string(None),
            sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(qualified, names).as_string(None),
            types,
        ))
    tables.sort(key=lambda t: t.rows, reverse=True)  # largest first, as migrate orders them
    return tables


def ceiling_copy(args: tuple[str, str, CeilingTable]) -> tuple[str, int, float]:
    """One table: rows as APSW returns them straight into psycopg's binary COPY, one transaction."""
    source, dsn, table = args
    started = time.monotonic()
    rows = 0
    src = apsw.Connection(source, flags=apsw.SQLITE_OPEN_READONLY)
    try:
        with psycopg.connect(dsn) as pg, pg.cursor().copy(table.copy) as copy:
            copy.set_types(table.types)
            write = copy.write_row
            for row in src.execute(table.select):
                write(row)
                rows += 1
    finally:
        src.close()
    return table.name, rows, time.monotonic() - started


@dataclass
class CeilingRun:
    label: str
    processes: int
    rows: int
    seconds: float
    disturbed: float = 0.0

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds


def run_ceiling(source: Path, dsn: str, tables: list[CeilingTable], processes: int, pg_schema: str) -> CeilingRun:
    with psycopg.connect(dsn, autocommit=True) as pg:
        pg.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(pg_schema)))
        pg.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(pg_schema)))
        for t in tables:
            pg.execute(t.create.encode())
    checkpoint(dsn)
    warm(source)
    work = [(str(source), dsn, t) for t in tables]
    started = time.monotonic()
    if processes == 1:
        done = [ceiling_copy(w) for w in work]
    else:
        with multiprocessing.get_context("spawn").Pool(processes) as pool:
            done = list(pool.imap_unordered(ceiling_copy, work, chunksize=1))
    seconds = time.monotonic() - started
    with psycopg.connect(dsn, autocommit=True) as pg:
        pg.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(pg_schema)))
    return CeilingRun(f"plain binary COPY, {processes} process{'es' if processes > 1 else ''}", processes,
                      sum(r for _, r, _ in done), seconds)


# --------------------------------------------------------------------------------------------
# Anchor (b): pgloader.


@dataclass
class PgloaderRun:
    label: str
    rows: int  # rows of the SQLite file
    measured: Measured
    counts_match: bool | None
    mismatches: list[str]
    summary_errors: str | None
    note: str
    disturbed: float = 0.0

    @property
    def ok(self) -> bool:
        return self.measured.returncode == 0 and not self.measured.aborted and bool(self.counts_match)

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.measured.wall


def pgloader_version() -> str | None:
    exe = shutil.which("pgloader")
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown version"
    return " ".join(out.split()[:3]) or "unknown version"


def pgloader_url(dsn: str) -> str:
    p = conninfo_to_dict(dsn)
    from urllib.parse import quote

    auth = quote(p.get("user") or os.environ.get("PGUSER") or "postgres", safe="")
    if p.get("password"):
        auth += ":" + quote(str(p["password"]), safe="")
    host = p.get("host") or "localhost"
    port = p.get("port") or "5432"
    return f"postgresql://{auth}@{host}:{port}/{p.get('dbname')}"


def expression_indexes(path: Path) -> list[str]:
    """Indexes whose keys are expressions: pgloader 3.6 crashes on them (dimitri/pgloader#872)."""
    conn = apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")]
        return [n for n in names
                if any(r[1] == -2 and r[5] for r in conn.execute(f"PRAGMA index_xinfo({_sqlite_quote(n)})"))]
    finally:
        conn.close()


def _sqlite_quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def run_pgloader(label: str, source: Path, admin_dsn: str, dbname: str, counts: dict[str, int], *,
                 indexes: bool, workdir: Path, timeout: float, note: str) -> PgloaderRun:
    dsn = create_database(admin_dsn, dbname)
    command = workdir / f"{dbname}.load"
    command.write_text(
        "LOAD DATABASE\n"
        f"  FROM sqlite://{source}\n"
        f"  INTO {pgloader_url(dsn)}\n"
        f"  WITH include drop, create tables, {'create indexes' if indexes else 'create no indexes'}, "
        "reset sequences\n;\n"
    )
    checkpoint(admin_dsn)
    warm(source)
    measured = run_measured([shutil.which("pgloader") or "pgloader", str(command)], timeout=timeout,
                            abort_pattern="KABOOM", cwd=workdir)
    (workdir / f"pgloader-{'full' if indexes else 'data'}.log").write_text(measured.output)  # the last run's
    total = re.search(r"Total import time\s+(\S+)\s+(\d+)", measured.output)
    summary_errors = total.group(1) if total else None
    mismatches: list[str] = []
    counts_match: bool | None = None
    try:
        with psycopg.connect(dsn, autocommit=True) as pg:
            for table, expected in counts.items():
                name = table.lower()
                if pg.execute("SELECT to_regclass(%s)", (f'public."{name}"',)).fetchone()[0] is None:
                    mismatches.append(f"{table}: missing")
                    continue
                got = pg.execute(sql.SQL("SELECT count(*) FROM public.{}").format(sql.Identifier(name))).fetchone()[0]
                if got != expected:
                    mismatches.append(f"{table}: {got} of {expected}")
        counts_match = not mismatches
    except psycopg.Error as exc:
        mismatches.append(f"count check failed: {str(exc).splitlines()[0]}")
    finally:
        drop_database(admin_dsn, dbname)
        command.unlink(missing_ok=True)
    return PgloaderRun(label, sum(counts.values()), measured, counts_match, mismatches, summary_errors, note)


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


# --------------------------------------------------------------------------------------------
# Output.


def fmt_int(n: float) -> str:
    return f"{n:,.0f}"


def table(headers: list[str], rows: list[list[str]], align: str | None = None) -> str:
    align = align or "l" + "r" * (len(headers) - 1)
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        return "  ".join(str(c).ljust(w) if a == "l" else str(c).rjust(w) for c, w, a in zip(cells, widths, align))

    return "\n".join([line(headers), "  ".join("-" * w for w in widths), *(line(r) for r in rows)])


def say(text: str = "") -> None:
    print(text, flush=True)


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "FAIL")


# --------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=DEFAULT_ITEMS, help=f"Jellyfin items (default {DEFAULT_ITEMS:,})")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dsn", default=os.environ.get("SQLMITE_TEST_DSN") or DEFAULT_DSN,
                        help="PostgreSQL to measure on (default: $SQLMITE_TEST_DSN or %(default)s); the run "
                             "creates and drops its own databases there")
    parser.add_argument("--scale", type=int, default=4, help="memory check at this many times the items (0: skip)")
    parser.add_argument("--workdir", type=Path, default=Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
                        / "sqlmite-bench", help="where generated databases are cached (default: %(default)s)")
    parser.add_argument("--no-pgloader", action="store_true", help="skip the pgloader comparison")
    parser.add_argument("--pgloader-timeout", type=float, default=900.0, help="seconds (default %(default)s)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args()

    started = time.monotonic()
    args.workdir.mkdir(parents=True, exist_ok=True)
    run_id = f"sqlmite_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    say(f"sqlmite migrate benchmark  (items {args.items:,}, seed {args.seed}, scale {args.scale}x, "
        f"workdir {args.workdir})")
    say()
    say("machine")
    for k, v in machine(args.dsn):
        say(f"  {k:<20} {v}")
    busy = psutil.cpu_percent(interval=2.0)
    say(f"  {'idle before the run':<20} {100 - busy:.0f}% CPU idle over 2 s (each step waits for < 15% busy), "
        "load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    say()

    # 1. The sources (cached).
    sizes = [args.items] + ([args.items * args.scale] if args.scale > 1 else [])
    sources: dict[int, tuple[Path, dict[str, int]]] = {}
    for items in sizes:
        t = time.monotonic()
        path, counts, gen_seconds = ensure_source(args.workdir, items, args.seed)
        sources[items] = (path, counts)
        how = f"generated in {gen_seconds:.1f} s" if gen_seconds is not None else "cached"
        say(f"source {items:>9,} items: {sum(counts.values()):>10,} rows, {path.stat().st_size / MB:8.1f} MB  "
            f"({how}; {time.monotonic() - t:.1f} s)  {path}")
    src1, counts1 = sources[args.items]
    rows1 = sum(counts1.values())
    if rows1 < MIN_ROWS:
        say(f"note: {rows1:,} rows is below the {MIN_ROWS:,} the benchmark is meant for; use --items "
            f"{int(args.items * MIN_ROWS / rows1) + 1:,} or more")
    say()

    dsn = create_database(args.dsn, run_id)
    say(f"database {run_id} created for this run")
    results: dict[str, Any] = {"items": args.items, "seed": args.seed, "scale": args.scale}
    migrations: list[MigrateRun] = []
    export_run: ExportRun | None = None
    export_note: str | None = None
    ceilings: list[CeilingRun] = []
    pgloaders: list[PgloaderRun] = []
    pgloader_note: str | None = None
    try:
        # 2. + 4. migrate at 1x, measured.
        def quietly(what: str, fn: Any) -> Any:
            """One measured step: after the machine went quiet, noting what else ran meanwhile."""
            note = wait_quiet()
            say(f"{what} ..." + (f" ({note})" if note else ""))
            disturbance = Disturbance(run_id)
            result = fn()
            result.disturbed = disturbance.seconds()
            return result

        checkpoint(args.dsn)
        m1 = quietly("migrate 1x", lambda: run_migrate(
            f"migrate 1x ({args.items:,} items)", src1, args.items, dsn, "bench_1x", args.workdir))
        migrations.append(m1)
        say(f"  {m1.rows:,} rows in {m1.seconds:.1f} s")

        # 3. export of what migrate wrote.
        export_note = export_available()
        if export_note is None:
            checkpoint(args.dsn)
            try:
                export_run = quietly("export 1x", lambda: run_export(dsn, "bench_1x", args.workdir))
                say(f"  {export_run.rows:,} rows in {export_run.seconds:.1f} s")
            except RuntimeError as exc:
                export_note = f"failed: {str(exc).splitlines()[0]}"
                say(f"  {export_note}")
        else:
            say(f"export skipped: sqlmite.migrate.export is not importable ({export_note})")
        with admin(dsn) as pg:
            pg.execute("DROP SCHEMA bench_1x CASCADE")

        # 5a. plain binary COPY ceiling, 1 process and migrate's parallelism.
        tables = ceiling_tables(src1, "ceiling")
        for processes in sorted({1, m1.workers}):
            ceilings.append(quietly(f"plain binary COPY, {processes} process(es)",
                                    lambda: run_ceiling(src1, dsn, tables, processes, "ceiling")))
            say(f"  {ceilings[-1].rows:,} rows in {ceilings[-1].seconds:.1f} s")

        # 5b. pgloader.
        if args.no_pgloader:
            pgloader_note = "skipped (--no-pgloader)"
        elif shutil.which("pgloader") is None:
            pgloader_note = "skipped: pgloader is not installed (apt-get install pgloader)"
        else:
            pgloaders.append(quietly("pgloader, same file, tables + data (it cannot create this file's indexes)",
                                     lambda: run_pgloader(
                "pgloader: tables + data", src1, args.dsn, f"{run_id}_pgl_data", counts1, indexes=False,
                workdir=args.workdir, timeout=args.pgloader_timeout,
                note="same file; 'create no indexes' (so no keys, and its foreign keys fail)")))
            say(f"  exit {pgloaders[-1].measured.returncode} in {pgloaders[-1].measured.wall:.1f} s")
            skip = expression_indexes(src1)
            copy = args.workdir / f".pgloader-{run_id}.db"
            try:
                shutil.copyfile(src1, copy)
                conn = apsw.Connection(str(copy))
                for name in skip:
                    conn.execute(f"DROP INDEX {_sqlite_quote(name)}")
                conn.close()
                pgloaders.append(quietly(
                    f"pgloader, full (copy of the file without {', '.join(skip) or 'nothing'})",
                    lambda: run_pgloader(
                        "pgloader: full (tables, data, indexes, FKs)", copy, args.dsn, f"{run_id}_pgl_full", counts1,
                        indexes=True, workdir=args.workdir, timeout=args.pgloader_timeout,
                        note=f"same rows; copy without the expression index(es) {', '.join(skip)} "
                             "that pgloader 3.6 crashes on" if skip else "same file")))
                say(f"  exit {pgloaders[-1].measured.returncode} in {pgloaders[-1].measured.wall:.1f} s")
            finally:
                for suffix in ("", "-wal", "-shm", "-journal"):
                    Path(f"{copy}{suffix}").unlink(missing_ok=True)

        # 4. migrate at --scale x: is peak memory flat?
        if args.scale > 1:
            items = args.items * args.scale
            checkpoint(args.dsn)
            m4 = quietly(f"migrate {args.scale}x", lambda: run_migrate(
                f"migrate {args.scale}x ({items:,} items)", sources[items][0], items, dsn, f"bench_{args.scale}x",
                args.workdir))
            migrations.append(m4)
            say(f"  {m4.rows:,} rows in {m4.seconds:.1f} s")
    finally:
        drop_database(args.dsn, run_id)
        say(f"database {run_id} dropped")
    say()

    report(args, migrations, export_run, export_note, ceilings, pgloaders, pgloader_note, results)
    say()
    say(f"benchmark wall time {time.monotonic() - started:.0f} s; load average at the end "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    return 0


def report(args: argparse.Namespace, migrations: list[MigrateRun], export_run: ExportRun | None,
           export_note: str | None, ceilings: list[CeilingRun], pgloaders: list[PgloaderRun],
           pgloader_note: str | None, results: dict[str, Any]) -> None:
    m1 = migrations[0]
    rows = []
    for m in migrations:
        rows.append([m.label, fmt_int(m.rows), f"{m.source_bytes / MB:.0f}", f"{m.seconds:.1f}",
                     fmt_int(m.rows_per_s), f"{m.mb_per_s:.1f}", f"{m.measured.peak_tree_rss / MB:.0f}",
                     f"{m.disturbed:.1f}"])
    if export_run is not None:
        rows.append(["export 1x (PostgreSQL -> new SQLite file)", fmt_int(export_run.rows),
                     f"{export_run.size_bytes / MB:.0f}", f"{export_run.seconds:.1f}", fmt_int(export_run.rows_per_s),
                     f"{export_run.mb_per_s:.1f}", f"{export_run.measured.peak_tree_rss / MB:.0f}",
                     f"{export_run.disturbed:.1f}"])
    for c in ceilings:
        rows.append([f"anchor: {c.label}", fmt_int(c.rows), f"{m1.source_bytes / MB:.0f}", f"{c.seconds:.1f}",
                     fmt_int(c.rows_per_s), f"{m1.source_bytes / MB / c.seconds:.1f}", "", f"{c.disturbed:.1f}"])
    for p in pgloaders:
        rows.append([f"anchor: {p.label}", fmt_int(p.rows), f"{m1.source_bytes / MB:.0f}", f"{p.measured.wall:.1f}",
                     fmt_int(p.rows_per_s), f"{m1.source_bytes / MB / p.measured.wall:.1f}",
                     f"{p.measured.peak_tree_rss / MB:.0f}", f"{p.disturbed:.1f}"])
    say("results (MB = source SQLite file, or the written file for export; peak = process tree RSS;")
    say("         others = CPU seconds other processes on the machine used meanwhile, 0 when undisturbed)")
    say(table(["", "rows", "MB", "seconds", "rows/s", "MB/s", "peak MB", "others CPU s"], rows))
    if export_run is None:
        say(f"export: skipped ({export_note})")
    if pgloader_note:
        say(f"pgloader: {pgloader_note}")
    for p in pgloaders:
        counts = ("row counts match" if p.counts_match else
                  f"row counts DIFFER: {'; '.join(p.mismatches[:5])}" if p.counts_match is False else
                  f"row counts not checked: {'; '.join(p.mismatches[:2])}")
        say(f"  {p.label} (its output: {args.workdir}/pgloader-{'full' if 'full' in p.label else 'data'}.log): "
            f"exit status {p.measured.returncode}"
            + (f", {p.measured.aborted}" if p.measured.aborted else "")
            + f", summary errors {p.summary_errors or 'n/a'}, {counts}; {p.note}")
    say()

    for m in migrations:
        say(f"where the time goes: {m.label}, {m.seconds:.1f} s "
            f"(process wall {m.measured.wall:.1f} s incl. interpreter start and imports)")
        say(table(["phase", "seconds", "share"],
                  [[name, f"{s:.2f}", f"{100 * s / m.seconds:.0f}%"] for name, s in m.phases]))
        busy = sum(t["seconds"] for t in m.tables)
        biggest = sorted(m.tables, key=lambda t: -t["seconds"])[:3]
        say(f"  load: {m.load_seconds:.1f} s wall, {busy:.1f} s of table loads on {m.workers} workers "
            f"(utilisation {100 * busy / (m.workers * m.load_seconds):.0f}%); longest tables: "
            + ", ".join(f"{t['name']} {t['rows']:,} rows {t['seconds']:.1f} s" for t in biggest))
        say(f"  load-phase rate: {fmt_int(m.rows / m.load_seconds)} rows/s")
        say("  keys, indexes, FKs by kind: " + ", ".join(f"{k} x{n} {s:.1f} s" for k, n, s in m.finish_by_kind))
        say("  slowest statements: " + ", ".join(f"{what} {s:.1f} s" for s, what in m.slowest_ddl[:4]))
        say()

    say("memory of the migrate (its process + worker processes + multiprocessing helpers), MB")
    say(table(["", "tree RSS peak", "tree PSS peak", "sum of VmHWM", "largest VmHWM", "ru_maxrss",
               "(bench's own)", "processes"],
              [[m.label, f"{m.measured.peak_tree_rss / MB:.0f}", f"{m.measured.peak_tree_pss / MB:.0f}",
                f"{m.measured.hwm_sum / MB:.0f}", f"{m.measured.max_hwm / MB:.0f}", f"{m.measured.maxrss / MB:.0f}",
                f"{m.measured.parent_maxrss / MB:.0f}", str(m.measured.max_procs)] for m in migrations]))
    say("  tree RSS/PSS: sampled every 50 ms; sum of VmHWM: every process's own peak added up (upper bound);")
    say("  ru_maxrss (wait4, as RUSAGE_CHILDREN): never below the benchmark's own peak, which children inherit")
    say()

    # Ratios against the targets.
    checks: list[list[str]] = []
    par = max(ceilings, key=lambda c: c.processes) if ceilings else None
    one = min(ceilings, key=lambda c: c.processes) if ceilings else None
    full = next((p for p in pgloaders if "full" in p.label), None)
    data = next((p for p in pgloaders if "full" not in p.label), None)
    if full is not None:
        r = m1.rows_per_s / full.rows_per_s
        checks.append(["migrate / pgloader full (same work)", f"{r:.2f}x", f">= {TARGET_VS_PGLOADER:g}x",
                       verdict(r >= TARGET_VS_PGLOADER) + ("" if full.ok else " (pgloader run not clean)")])
        results["ratio_vs_pgloader_full"] = r
    if data is not None:
        r = m1.rows_per_s / data.rows_per_s
        checks.append(["migrate / pgloader tables+data (less work)", f"{r:.2f}x", f">= {TARGET_VS_PGLOADER:g}x",
                       verdict(r >= TARGET_VS_PGLOADER) + ("" if data.ok else " (pgloader run not clean)")])
        results["ratio_vs_pgloader_data"] = r
    if not pgloaders:
        checks.append(["migrate / pgloader", "skipped", f">= {TARGET_VS_PGLOADER:g}x", "n/a"])
    if par is not None:
        r = m1.rows_per_s / par.rows_per_s
        checks.append([f"migrate / plain COPY ceiling, {par.processes} processes", f"{r:.2f}x",
                       f">= {TARGET_VS_CEILING:g}x", verdict(r >= TARGET_VS_CEILING)])
        results["ratio_vs_ceiling_parallel"] = r
    if one is not None and one is not par:
        r = m1.rows_per_s / one.rows_per_s
        checks.append(["migrate / plain COPY ceiling, 1 process", f"{r:.2f}x", f">= {TARGET_VS_CEILING:g}x",
                       verdict(r >= TARGET_VS_CEILING)])
        results["ratio_vs_ceiling_single"] = r
    if par is not None:
        r = (m1.rows / m1.load_seconds) / par.rows_per_s
        checks.append([f"  (load phase alone / ceiling, {par.processes} processes)", f"{r:.2f}x", "", "info"])
    for m in migrations:
        peak = m.measured.peak_tree_rss / MB
        checks.append([f"peak memory, {m.label}", f"{peak:.0f} MB", f"< {TARGET_PEAK_MB:g} MB",
                       verdict(peak < TARGET_PEAK_MB)])
    if len(migrations) > 1:
        a, b = migrations[0].measured.peak_tree_rss / MB, migrations[1].measured.peak_tree_rss / MB
        flat = b <= a * (1 + FLAT_GROWTH) + FLAT_SLACK_MB
        checks.append([f"peak memory flat at {args.scale}x the rows", f"{a:.0f} -> {b:.0f} MB ({b / a:.2f}x)",
                       f"<= {1 + FLAT_GROWTH:.2f}x + {FLAT_SLACK_MB:g} MB", verdict(flat)])
        results["memory_flat"] = flat
    else:
        checks.append(["peak memory flat", "skipped (--scale)", "", "n/a"])
    say("ratios against the targets (anchors measured in this run)")
    say(table(["", "measured", "target", ""], checks, align="lrll"))

    results.update({
        "migrate": [{"label": m.label, "rows": m.rows, "source_bytes": m.source_bytes, "seconds": m.seconds,
                     "rows_per_s": m.rows_per_s, "mb_per_s": m.mb_per_s, "phases": m.phases,
                     "finish_by_kind": m.finish_by_kind, "tables": m.tables,
                     "peak_tree_rss": m.measured.peak_tree_rss, "peak_tree_pss": m.measured.peak_tree_pss,
                     "hwm_sum": m.measured.hwm_sum, "max_hwm": m.measured.max_hwm,
                     "maxrss": m.measured.maxrss} for m in migrations],
        "export": None if export_run is None else {"rows": export_run.rows, "seconds": export_run.seconds,
                                                   "size_bytes": export_run.size_bytes,
                                                   "peak_tree_rss": export_run.measured.peak_tree_rss},
        "ceiling": [{"processes": c.processes, "rows": c.rows, "seconds": c.seconds} for c in ceilings],
        "pgloader": [{"label": p.label, "rows": p.rows, "seconds": p.measured.wall, "exit": p.measured.returncode,
                      "aborted": p.measured.aborted, "counts_match": p.counts_match, "mismatches": p.mismatches}
                     for p in pgloaders],
    })


if __name__ == "__main__":
    sys.exit(main())
