"""The subject of bench/migrate.py: sqlmite's migrate and export, each in a fresh subprocess.

Holds the child scripts that call sqlmite's public Python API, and how migrate's phases are
reconstructed from the outside (its progress callbacks, its audit log lines and the moment its
backup file appears), since nothing in src/ is patched.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _fixtures import warm
from _sampling import MB, Measured, run_measured

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
