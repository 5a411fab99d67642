"""How bench/sync.py runs and watches ``sqlmite sync``: the sidecar process, its CPU and memory, and
the two PostgreSQL-side clocks (when a probe row becomes visible, when a burst is applied).

Kept apart from what is measured so the method can be checked on its own. Everything here looks
from the outside: the sidecar runs as ``python -m sqlmite sync`` (the CLI, unchanged), its CPU is
read from ``/proc/PID/stat``, its peak memory from ``/proc/PID/status`` (``VmHWM``, reset after
the initial load through ``/proc/PID/clear_refs``), and its progress from PostgreSQL
(``sqlmite.sync_state``, the row sync writes in the same transaction as each batch) and from
``/metrics``.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import apsw
import psutil
import psycopg
from psycopg import sql

CLK_TCK = os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------------------------
# The SQLite side: fresh copies of the source, and the change log's top.


VARIANTS = ("none", "capture", "empty")


def fresh_copy(source: Path, target: Path, *, triggers: str = "none") -> None:
    """``target`` becomes a copy of ``source`` made with SQLite's online backup API (never a file
    copy), checkpointed, with ``triggers``: "none", "capture" (sqlmite's, installed by
    ``sqlmite.sync.capture.install``) or "empty" (the same three AFTER triggers per table, but
    ``WHEN 0`` and doing nothing: what merely having triggers costs SQLite)."""
    if triggers not in VARIANTS:
        raise ValueError(triggers)
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    # immutable: the cached source is complete and closed; a plain read-only open of a WAL file would
    # leave empty -wal and -shm files next to it.
    src = apsw.Connection(f"file:{urllib.parse.quote(str(source))}?immutable=1",
                          flags=apsw.SQLITE_OPEN_READONLY | apsw.SQLITE_OPEN_URI)
    dest = apsw.Connection(str(target))
    try:
        with dest.backup("main", src, "main") as job:
            job.step(-1)
    finally:
        src.close()
    mode = dest.execute("PRAGMA journal_mode").fetchone()[0]
    if mode.lower() != "wal":
        dest.execute("PRAGMA journal_mode = WAL")
    dest.close()
    if triggers == "capture":
        from sqlmite.sync import capture

        conn = capture.open_live(target)
        try:
            capture.install(conn)
        finally:
            conn.close()
    elif triggers == "empty":
        conn = apsw.Connection(str(target))
        try:
            with conn:
                tables = [r[0] for r in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'")]
                for name in tables:
                    for event in ("INSERT", "UPDATE", "DELETE"):
                        trigger = f"_bench_empty_{name}_{event[0].lower()}"
                        conn.execute(f"CREATE TRIGGER {_ident(trigger)} AFTER {event} ON {_ident(name)} "
                                     "WHEN 0 BEGIN SELECT 1; END")
        finally:
            conn.close()
    conn = apsw.Connection(str(target))  # both variants start with an empty -wal
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    conn.close()


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def count_triggers(path: Path) -> int:
    conn = apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        return conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'trigger'").fetchone()[0]
    finally:
        conn.close()


def file_log_top(path: Path) -> int:
    """The newest change in the file's log (what "applied" has to reach)."""
    conn = apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        conn.set_busy_timeout(5000)
        return conn.execute("SELECT coalesce(max(seq), 0) FROM _sqlmite_changes").fetchone()[0]
    finally:
        conn.close()


# --------------------------------------------------------------------------------------------
# The sidecar process.


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_cpu(pid: int) -> float:
    """utime + stime of ``pid`` in seconds (fields 14 and 15 of /proc/PID/stat)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_status(pid: int, key: str) -> int | None:
    """A ``kB`` line of /proc/PID/status (VmHWM, VmRSS), in bytes."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def reset_hwm(pid: int) -> bool:
    """Reset the kernel's peak RSS of ``pid`` to its current RSS (``echo 5 > /proc/PID/clear_refs``)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


@dataclass
class Sidecar:
    cmd: list[str]
    proc: subprocess.Popen[bytes]
    log_path: Path
    port: int
    started: float  # monotonic
    ready_seconds: float | None = None
    exit_code: int | None = None
    stop_seconds: float | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def get(self, path: str, timeout: float = 2.0) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.url(path), timeout=timeout) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def wait_ready(self, timeout: float) -> None:
        """Until ``/readyz`` answers 200 (attached: the initial load done)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sqlmite sync exited with status {self.proc.returncode} before it was ready; "
                                   f"its log ({self.log_path}) ends:\n{self.log_tail()}")
            try:
                status, _ = self.get("/readyz", timeout=1.0)
                if status == 200:
                    self.ready_seconds = time.monotonic() - self.started
                    return
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.05)
        raise RuntimeError(f"sqlmite sync not ready after {timeout:.0f} s; its log ({self.log_path}) ends:\n"
                           f"{self.log_tail()}")

    def metrics(self) -> dict[str, float]:
        """``/metrics`` as {"name{labels}": value} (comments and ``_created`` samples dropped)."""
        status, text = self.get("/metrics")
        out: dict[str, float] = {}
        if status != 200:
            return out
        for line in text.splitlines():
            if not line or line.startswith("#"):
                continue
            name, _, value = line.rpartition(" ")
            if "_created" in name:
                continue
            try:
                out[name] = float(value)
            except ValueError:
                pass
        return out

    def cpu_seconds(self) -> float:
        """The sidecar's own utime + stime, plus any children it has (it normally has none)."""
        total = proc_cpu(self.pid)
        try:
            for child in psutil.Process(self.pid).children(recursive=True):
                t = child.cpu_times()
                total += t.user + t.system
        except psutil.Error:
            pass
        return total

    def stop(self, grace: float) -> None:
        """SIGTERM (the final flush), then wait; killed if it outlives the grace period by 10 s."""
        if self.proc.poll() is not None:
            self.exit_code = self.proc.returncode
            return
        t = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.exit_code = self.proc.wait(timeout=grace + 10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.exit_code = self.proc.wait()
        self.stop_seconds = time.monotonic() - t


def start_sidecar(path: Path, dsn: str, schema: str, log_path: Path, extra: list[str] | None = None) -> Sidecar:
    port = free_port()
    cmd = [sys.executable, "-m", "sqlmite", "sync", str(path), "--to", dsn, "--schema", schema,
           "--listen", f"127.0.0.1:{port}", "--log-format", "json", *(extra or [])]
    log = open(log_path, "wb")  # noqa: SIM115 - the child keeps it open
    try:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    finally:
        log.close()
    return Sidecar(cmd, proc, log_path, port, time.monotonic())


# --------------------------------------------------------------------------------------------
# PostgreSQL backends serving the run's database: the apply's cost on the server side.


def backend_cpu(run_id: str, exclude: set[int]) -> dict[tuple[int, float], float]:
    """CPU seconds so far of each PostgreSQL backend whose title names the run's database."""
    found = {}
    for p in psutil.process_iter(["pid", "cmdline", "create_time", "cpu_times"]):
        info = p.info
        if info["pid"] in exclude or info["cpu_times"] is None:
            continue
        title = " ".join(info["cmdline"] or [])
        if title.startswith("postgres:") and run_id in title:
            found[(info["pid"], info["create_time"])] = info["cpu_times"].user + info["cpu_times"].system
    return found


def cpu_since(before: dict[tuple[int, float], float], after: dict[tuple[int, float], float]) -> float:
    return sum(cpu - before.get(key, 0.0) for key, cpu in after.items())


# --------------------------------------------------------------------------------------------
# Clocks on the PostgreSQL side.


def parse_ef_datetime(value: Any) -> float:
    """Unix time of an EF Core DateTime text (UTC), or of a timestamp PostgreSQL returned."""
    if isinstance(value, dt.datetime):
        when = value
    else:
        text = str(value).replace(" ", "T")
        m = re.match(r"^(.*T\d\d:\d\d:\d\d)(\.\d+)?$", text)
        if m is None:
            raise ValueError(f"not a datetime: {value!r}")
        when = dt.datetime.fromisoformat(m.group(1))
        if m.group(2):
            when += dt.timedelta(microseconds=round(float(m.group(2)) * 1e6))
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.timestamp()


@dataclass
class LagProbe:
    """Polls ``"ActivityLogs"`` for new rows; each row's lag = poll time - its ``DateCreated``."""

    pg: psycopg.Connection[Any]
    schema: str
    last_id: int = 0
    lags: list[float] = field(default_factory=list)
    polls: int = 0
    poll_seconds: float = 0.0  # time spent inside the polling queries

    def __post_init__(self) -> None:
        self.query = sql.SQL('SELECT "Id", "DateCreated" FROM {}."ActivityLogs" WHERE "Id" > %s ORDER BY "Id"').format(
            sql.Identifier(self.schema))
        self.last_id = self.pg.execute(sql.SQL('SELECT coalesce(max("Id"), 0) FROM {}."ActivityLogs"').format(
            sql.Identifier(self.schema))).fetchone()[0]

    def poll(self) -> int:
        # The row was not visible to the previous query and is to this one, whose snapshot is taken
        # right after ``seen``: ``seen`` - committed is an upper bound of the lag, at most one poll
        # interval above it.
        seen = time.time()
        t = time.monotonic()
        rows = self.pg.execute(self.query, (self.last_id,)).fetchall()
        self.poll_seconds += time.monotonic() - t
        self.polls += 1
        for row_id, created in rows:
            self.lags.append(seen - parse_ef_datetime(created))
            self.last_id = max(self.last_id, row_id)
        return len(rows)


def applied_seq(pg: psycopg.Connection[Any], schema: str) -> int:
    row = pg.execute("SELECT applied_seq FROM sqlmite.sync_state WHERE schema_name = %s", (schema,)).fetchone()
    return row[0] if row else 0


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of ``values``."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, int(-(-q * len(ordered) // 100)) - 1))
    return ordered[k]
