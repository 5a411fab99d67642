#!/usr/bin/env python
"""Benchmark of ``sqlmite sync``: trigger overhead, replication lag, drain time, sidecar cost.

    python bench/sync.py [--items N] [--dsn DSN] [--quick] [--json FILE]

On a Jellyfin-shaped database (generated, cached in ``--workdir``), in one run:

1. Trigger overhead: an application-like writer (stdlib ``sqlite3`` in a process of its own, WAL,
   ``synchronous=NORMAL``, foreign keys on) is timed on fresh backup-API copies of the same file,
   with and without sqlmite's capture triggers (installed with ``sqlmite.sync.capture`` and no
   sidecar running), for 1,000-row transactions (BaseItems inserts) and single-row autocommit
   transactions (UserData playback-progress updates). The anchor is the same writer without the
   triggers, measured in this run; targets: >= 0.6x and >= 0.8x.
2. Replication lag: ``sqlmite sync`` runs as a subprocess while a writer commits 10 ActivityLogs
   rows every 10 ms (1,000 row changes/s), each row carrying its commit wall time; a poller on
   PostgreSQL notes when each becomes visible. p50 / p99 / max; target p99 < 1 s.
3. Drain: with sync caught up, one writer commits ``--burst`` changes in 1,000-row transactions;
   time from the last commit until PostgreSQL holds them all (``sqlmite.sync_state.applied_seq``
   reaches the file's log top, then confirmed with ``sync_status``), and changes/s.
4. The sidecar's CPU seconds (utime + stime, /proc/PID/stat) and peak memory (VmHWM, reset after
   the initial load) over phases 2 and 3.

Everything on PostgreSQL happens in a database created for the run (and dropped at the end, even
on failure). Nothing in src/ is changed or patched: the sidecar is the CLI (``python -m sqlmite
sync``), the writers do not import sqlmite. See bench/README.md, section "Sync".

This file is the entry point: arguments, the order of the steps, and the printed report. The
writers are in _sync_writers.py, the sidecar and the PostgreSQL-side clocks in _sync_sidecar.py.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import apsw
import psutil
import psycopg

# Sibling modules: `python bench/sync.py` puts bench/ first on sys.path.
from _fixtures import checkpoint, create_database, drop_database, ensure_source
from _machine import machine
from _sampling import MB, Disturbance, wait_quiet
from _sync_sidecar import (
    VARIANTS,
    LagProbe,
    Sidecar,
    applied_seq,
    backend_cpu,
    count_triggers,
    cpu_since,
    file_log_top,
    fresh_copy,
    percentile,
    proc_status,
    reset_hwm,
    start_sidecar,
)
from migrate import DEFAULT_DSN, fmt_int, say, table, verdict

WRITERS = Path(__file__).resolve().parent / "_sync_writers.py"
SCHEMA = "bench_sync"
TARGET_BATCH = 0.6  # writer rows/s with triggers / without, 1,000-row transactions
TARGET_SINGLE = 0.8  # same, single-row autocommit transactions
TARGET_LAG_P99 = 1.0  # seconds
REFERENCE = "Marmot 0.32x, SymmetricDS 0.49x (column-copy triggers, same kind of test)"

DEFAULTS = {  # full run (~3 minutes) / --quick (~30 s)
    "items": (5_000, 5_000),
    "repeats": (5, 1),
    "batch_transactions": (10, 3),
    "single_updates": (20_000, 5_000),
    "lag_seconds": (25.0, 5.0),
    "burst": (100_000, 10_000),
}


# --------------------------------------------------------------------------------------------
# Writers: a process each, timed by themselves.


def run_writer(spec: dict[str, Any], timeout: float = 600.0) -> dict[str, Any]:
    done = subprocess.run([sys.executable, str(WRITERS), json.dumps(spec)], capture_output=True, text=True,
                          timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"writer {spec['mode']} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def start_writer(spec: dict[str, Any]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, str(WRITERS), json.dumps(spec)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finish_writer(proc: subprocess.Popen[str], mode: str) -> dict[str, Any]:
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"writer {mode} failed (exit {proc.returncode}):\n{err[-3000:]}")
    return json.loads(out.strip().splitlines()[-1])


# --------------------------------------------------------------------------------------------
# 1. Trigger overhead.


def trigger_overhead(args: argparse.Namespace, source: Path, scratch: Path, run_id: str) -> list[dict[str, Any]]:
    """Each workload on fresh copies: no triggers (the anchor), sqlmite's capture triggers, and empty
    triggers (what any trigger costs SQLite). The order rotates from one run to the next."""
    copy = scratch / "writer.db"
    workloads = [
        ("batch", f"1,000-row transactions (BaseItems INSERT), {args.batch_transactions} per run",
         {"mode": "batch", "transactions": args.batch_transactions, "rows": 1000}, TARGET_BATCH),
        ("single", f"single-row autocommit (UserData progress UPDATE), {args.single_updates:,} per run",
         {"mode": "single", "count": args.single_updates}, TARGET_SINGLE),
    ]
    out = []
    for key, label, spec, target in workloads:
        note = wait_quiet(limit=args.quiet_limit)
        say(f"trigger overhead: {label}, {args.repeats} run(s) of each variant ..." + (f" ({note})" if note else ""))
        disturbance = Disturbance(run_id)
        runs: dict[str, list[float]] = {v: [] for v in VARIANTS}
        pairs: dict[str, list[float]] = {"capture": [], "empty": []}
        triggers: dict[str, int] = {}
        for r in range(args.repeats):
            order = VARIANTS[r % 3:] + VARIANTS[:r % 3]  # rotate, so drift hits every variant alike
            rates = {}
            for variant in order:
                fresh_copy(source, copy, triggers=variant)
                triggers[variant] = count_triggers(copy)
                result = run_writer({**spec, "path": str(copy), "seed": r})
                rates[variant] = result["rows"] / result["seconds"]
                runs[variant].append(rates[variant])
            for variant, ratios in pairs.items():
                ratios.append(rates[variant] / rates["none"])
            say(f"  run {r + 1}: " + ", ".join(f"{v} {fmt_int(rates[v])} rows/s" for v in VARIANTS)
                + f" (capture {pairs['capture'][-1]:.2f}x, empty {pairs['empty'][-1]:.2f}x)")
        medians = {v: statistics.median(runs[v]) for v in VARIANTS}
        out.append({"key": key, "label": label, "target": target, "runs": runs, "medians": medians,
                    "ratio": medians["capture"] / medians["none"], "ratio_empty": medians["empty"] / medians["none"],
                    "ratio_capture_vs_empty": medians["capture"] / medians["empty"],
                    "pair_ratios": pairs, "median_pair_ratio": statistics.median(pairs["capture"]),
                    "triggers": triggers, "disturbed": disturbance.seconds()})
    for suffix in ("", "-wal", "-shm"):
        Path(f"{copy}{suffix}").unlink(missing_ok=True)
    return out


# --------------------------------------------------------------------------------------------
# 2. + 3. + 4. Lag, drain and the sidecar's cost, with `sqlmite sync` running.


def with_sidecar(args: argparse.Namespace, source: Path, scratch: Path, run_id: str,
                 dsn: str) -> dict[str, Any]:
    live = scratch / "live.db"
    fresh_copy(source, live, triggers="none")  # the sidecar installs capture itself
    log_path = args.workdir / "sync-bench-sidecar.log"
    checkpoint(args.dsn)
    note = wait_quiet(limit=args.quiet_limit)
    say(f"sqlmite sync: starting on a fresh copy, schema {SCHEMA} ..." + (f" ({note})" if note else ""))
    sidecar = start_sidecar(live, dsn, SCHEMA, log_path)
    res: dict[str, Any] = {"command": " ".join(sidecar.cmd), "log": str(log_path)}
    try:
        sidecar.wait_ready(timeout=300)
        res["ready_seconds"] = sidecar.ready_seconds
        res["initial_hwm"] = proc_status(sidecar.pid, "VmHWM")
        res["initial_cpu"] = sidecar.cpu_seconds()
        say(f"  ready in {sidecar.ready_seconds:.1f} s (initial load; peak RSS {res['initial_hwm'] / MB:.0f} MB, "
            f"{res['initial_cpu']:.1f} CPU s); log: {log_path}")
        res["healthz"] = sidecar.get("/healthz")[0]
        res["hwm_reset"] = reset_hwm(sidecar.pid)
        with psycopg.connect(dsn, autocommit=True) as pg:
            mine = {pg.execute("SELECT pg_backend_pid()").fetchone()[0]}
            cpu0, pg0, m0 = sidecar.cpu_seconds(), backend_cpu(run_id, mine), sidecar.metrics()
            res["lag"] = lag_phase(args, live, pg, sidecar, run_id)
            cpu1, pg1, m1 = sidecar.cpu_seconds(), backend_cpu(run_id, mine), sidecar.metrics()
            res["burst"] = burst_phase(args, live, pg, sidecar, run_id)
            cpu2, pg2, m2 = sidecar.cpu_seconds(), backend_cpu(run_id, mine), sidecar.metrics()
        res["hwm"] = proc_status(sidecar.pid, "VmHWM")
        res["rss_end"] = proc_status(sidecar.pid, "VmRSS")
        res["cpu"] = {"lag": cpu1 - cpu0, "burst": cpu2 - cpu1}
        res["pg_cpu"] = {"lag": cpu_since(pg0, pg1), "burst": cpu_since(pg1, pg2)}
        res["metrics"] = {"lag": _delta(m0, m1), "burst": _delta(m1, m2), "end": m2}
        res["status"] = confirm_status(live, dsn)
    finally:
        stop(sidecar, res)
    if not args.no_catch_up:
        res["catch_up"] = catch_up_phase(args, live, dsn, run_id)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{live}{suffix}").unlink(missing_ok=True)
    return res


def stop(sidecar: Sidecar, res: dict[str, Any]) -> None:
    sidecar.stop(grace=20)
    res["exit_code"] = sidecar.exit_code
    res["stop_seconds"] = sidecar.stop_seconds
    say(f"  sqlmite sync stopped (SIGTERM): exit {sidecar.exit_code}"
        + (f" after {sidecar.stop_seconds:.1f} s" if sidecar.stop_seconds is not None else ""))


def catch_up_phase(args: argparse.Namespace, live: Path, dsn: str, run_id: str) -> dict[str, Any]:
    """The same burst written while no sidecar runs, then ``sqlmite sync`` started again: how fast it
    applies a backlog it did not see arrive (one batch), and what that costs."""
    note = wait_quiet(limit=args.quiet_limit)
    say(f"catch-up: the same burst ({args.burst:,} changes) with the sidecar stopped, then sqlmite sync started "
        "again ..." + (f" ({note})" if note else ""))
    result = run_writer({"mode": "burst", "path": str(live), "transactions": args.burst // 1000, "rows": 1000,
                         "table": args.burst_table, "seed": 8})
    top = result["log_top"]
    log_path = args.workdir / "sync-bench-sidecar-catch-up.log"
    out: dict[str, Any] = {"writer": result, "log": str(log_path)}
    checkpoint(args.dsn)
    with psycopg.connect(dsn, autocommit=True) as pg:
        base = applied_seq(pg, SCHEMA)
        mine = {pg.execute("SELECT pg_backend_pid()").fetchone()[0]}
        pg0 = backend_cpu(run_id, mine)
        disturbance = Disturbance(run_id)
        sidecar = start_sidecar(live, dsn, SCHEMA, log_path)
        started = time.time()
        try:
            sidecar.wait_ready(timeout=300)
            deadline = time.monotonic() + 600
            while True:
                now = time.time()
                applied = applied_seq(pg, SCHEMA)
                if applied >= top:
                    break
                if time.monotonic() > deadline or sidecar.proc.poll() is not None:
                    raise RuntimeError(f"catch-up not applied (applied {applied}, top {top}); "
                                       f"log:\n{sidecar.log_tail()}")
                time.sleep(args.poll)
            out.update({"changes": top - base, "ready_seconds": sidecar.ready_seconds, "seconds": now - started,
                        "cpu": sidecar.cpu_seconds(), "hwm": proc_status(sidecar.pid, "VmHWM"),
                        "pg_cpu": cpu_since(pg0, backend_cpu(run_id, mine)), "metrics": sidecar.metrics(),
                        "disturbed": disturbance.seconds()})
            out["changes_per_s"] = out["changes"] / out["seconds"]
            out["writer_changes_per_s"] = out["changes"] / result["seconds"]
            out["status"] = confirm_status(live, dsn)
        finally:
            stop(sidecar, out)
    say(f"  {out['changes']:,} changes applied {out['seconds']:.2f} s after the restart "
        f"({fmt_int(out['changes_per_s'])} changes/s; writer alone: {fmt_int(out['writer_changes_per_s'])} changes/s)")
    return out


def _delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {k: after[k] - before.get(k, 0.0) for k in after if k.endswith("_total") or "_total{" in k}


def lag_phase(args: argparse.Namespace, live: Path, pg: psycopg.Connection[Any], sidecar: Sidecar,
              run_id: str) -> dict[str, Any]:
    interval = args.lag_rows / args.rate
    say(f"lag: {args.lag_rows} ActivityLogs rows every {interval * 1000:.0f} ms ({fmt_int(args.rate)} row changes/s) "
        f"for {args.lag_seconds:g} s, PostgreSQL polled every {args.poll * 1000:.0f} ms ...")
    disturbance = Disturbance(run_id)
    probe = LagProbe(pg, SCHEMA)
    writer = start_writer({"mode": "steady", "path": str(live), "seconds": args.lag_seconds, "interval": interval,
                           "rows": args.lag_rows})
    t = time.monotonic()
    while writer.poll() is None:
        probe.poll()
        t += args.poll
        time.sleep(max(0.0, t - time.monotonic()))
    result = finish_writer(writer, "steady")
    deadline = time.monotonic() + 30
    while probe.last_id < result["last_id"] and time.monotonic() < deadline:
        probe.poll()
        time.sleep(args.poll)
    lags = probe.lags
    if not lags:
        raise RuntimeError(f"no probe row reached PostgreSQL (sidecar exit status {sidecar.proc.poll()}); its log "
                           f"({sidecar.log_path}) ends:\n{sidecar.log_tail()}")
    out = {"writer": result, "rows_seen": len(lags), "rows_written": result["rows"],
           "missing": result["rows"] - len(lags), "p50": percentile(lags, 50), "p90": percentile(lags, 90),
           "p99": percentile(lags, 99), "max": max(lags, default=float("nan")), "mean": statistics.fmean(lags),
           "polls": probe.polls, "poll_ms": 1000 * probe.poll_seconds / max(probe.polls, 1),
           "over_1s": sum(1 for x in lags if x > 1.0), "disturbed": disturbance.seconds()}
    say(f"  {len(lags):,} of {result['rows']:,} rows seen: lag p50 {out['p50'] * 1000:.0f} ms, p99 "
        f"{out['p99'] * 1000:.0f} ms, max {out['max'] * 1000:.0f} ms")
    return out


def burst_phase(args: argparse.Namespace, live: Path, pg: psycopg.Connection[Any], sidecar: Sidecar,
                run_id: str) -> dict[str, Any]:
    # Caught up first: PostgreSQL holds everything the file's log has.
    top = file_log_top(live)
    deadline = time.monotonic() + 120
    while applied_seq(pg, SCHEMA) < top:
        if time.monotonic() > deadline:
            raise RuntimeError(f"sync did not catch up before the burst (log top {top}, applied "
                               f"{applied_seq(pg, SCHEMA)}); log:\n{sidecar.log_tail()}")
        time.sleep(0.01)
    base = top
    say(f"burst: {args.burst:,} {args.burst_table} rows in {args.burst // 1000} transactions of 1,000, "
        f"sync caught up at change {base:,} ...")
    disturbance = Disturbance(run_id)
    reader = apsw.Connection(str(live), flags=apsw.SQLITE_OPEN_READONLY)  # the file's log top while it runs
    reader.set_busy_timeout(5000)
    trace = []  # (wall time, file's log top, applied_seq)
    try:
        writer = start_writer({"mode": "burst", "path": str(live), "transactions": args.burst // 1000, "rows": 1000,
                               "table": args.burst_table, "seed": 7})
        while writer.poll() is None:
            now = time.time()
            file_top = reader.execute("SELECT coalesce(max(seq), 0) FROM _sqlmite_changes").fetchone()[0]
            trace.append((now, file_top, applied_seq(pg, SCHEMA)))
            time.sleep(0.02)
        result = finish_writer(writer, "burst")
        top = result["log_top"]
        deadline = time.monotonic() + 600
        while True:
            now = time.time()  # a poll that sees it: visible no later than its start
            applied = applied_seq(pg, SCHEMA)
            trace.append((now, top, applied))
            if applied >= top:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"burst not applied after 600 s (applied {applied}, top {top}); "
                                   f"log:\n{sidecar.log_tail()}")
            time.sleep(args.poll)
    finally:
        reader.close()
    done = trace[-1][0]
    changes = top - base
    drain = max(0.0, done - result["last_commit_wall"])
    total = done - result["first_begin_wall"]
    max_backlog = max((f - a for _, f, a in trace), default=0)
    at_last_commit = next(((f - a) for w, f, a in trace if w >= result["last_commit_wall"]), 0)
    out = {"writer": result, "changes": changes, "drain_seconds": drain, "total_seconds": total,
           "changes_per_s": changes / total, "writer_changes_per_s": changes / result["seconds"],
           "max_backlog": max_backlog, "backlog_at_last_commit": at_last_commit, "polls": len(trace),
           "disturbed": disturbance.seconds()}
    say(f"  {changes:,} changes written in {result['seconds']:.1f} s; applied {drain:.2f} s after the last commit "
        f"({fmt_int(out['changes_per_s'])} changes/s from the first commit)")
    return out


def confirm_status(live: Path, dsn: str) -> dict[str, Any]:
    """``sqlmite.sync.status.sync_status``: the public view of where sync stands (backlog 0 expected)."""
    from sqlmite.config import load_settings
    from sqlmite.sync.status import sync_status

    report = sync_status(live, load_settings(cli={"database_url": dsn}), pg_schema=SCHEMA)
    return {"backlog": report.backlog, "applied_seq": report.applied_seq, "log_top": report.log_top,
            "lineage": report.lineage, "lag_seconds": report.lag_seconds}


# --------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a ~30 s smoke run (fewer runs, 5 s of lag, "
                                                             "a 10,000-change burst)")
    parser.add_argument("--items", type=int, help=f"Jellyfin items (default {DEFAULTS['items'][0]:,})")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dsn", default=os.environ.get("SQLMITE_TEST_DSN") or DEFAULT_DSN,
                        help="PostgreSQL to measure on (default: $SQLMITE_TEST_DSN or %(default)s); the run "
                             "creates and drops its own database there")
    parser.add_argument("--workdir", type=Path, default=Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
                        / "sqlmite-bench", help="generated databases are cached here (default: %(default)s)")
    parser.add_argument("--repeats", type=int, help="trigger overhead: runs each way (default 5; --quick 1)")
    parser.add_argument("--batch-transactions", type=int, help="1,000-row transactions per run (default 10)")
    parser.add_argument("--single-updates", type=int, help="autocommit updates per run (default 20,000)")
    parser.add_argument("--lag-seconds", type=float, help="length of the steady-rate phase (default 25)")
    parser.add_argument("--rate", type=float, default=1000.0, help="row changes per second (default %(default)g)")
    parser.add_argument("--lag-rows", type=int, default=10, help="rows per transaction at that rate (default 10)")
    parser.add_argument("--poll", type=float, default=0.005, help="seconds between PostgreSQL polls (default 0.005)")
    parser.add_argument("--burst", type=int, help="changes in the burst, in 1,000-row transactions (default 100,000)")
    parser.add_argument("--burst-table", choices=("BaseItems", "ActivityLogs"), default="BaseItems",
                        help="what the burst inserts (default %(default)s)")
    parser.add_argument("--no-catch-up", action="store_true", help="skip the catch-up phase (the burst written "
                        "with the sidecar stopped, then applied from a restart)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args()
    for key, (full, quick) in DEFAULTS.items():
        if getattr(args, key) is None:
            setattr(args, key, quick if args.quick else full)
    args.burst = max(1000, args.burst // 1000 * 1000)
    args.quiet_limit = 5.0 if args.quick else 45.0  # longest wait for the machine to go quiet before a phase

    started = time.monotonic()
    args.workdir.mkdir(parents=True, exist_ok=True)
    run_id = f"sqlmite_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    say(f"sqlmite sync benchmark  (items {args.items:,}, seed {args.seed}{', quick' if args.quick else ''}, "
        f"workdir {args.workdir})")
    say()
    say("machine")
    described = [(k, v) for k, v in machine(args.dsn) if k != "pgloader"]
    for k, v in described:
        say(f"  {k:<20} {v}")
    busy = psutil.cpu_percent(interval=2.0)
    say(f"  {'idle before the run':<20} {100 - busy:.0f}% CPU idle over 2 s (each phase waits for < 15% busy), "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    say()

    t = time.monotonic()
    source, counts, gen_seconds = ensure_source(args.workdir, args.items, args.seed)
    how = f"generated in {gen_seconds:.1f} s" if gen_seconds is not None else "cached"
    say(f"source {args.items:>7,} items: {sum(counts.values()):>9,} rows, {source.stat().st_size / MB:6.1f} MB  "
        f"({how}; {time.monotonic() - t:.1f} s)  {source}")
    say()
    scratch = args.workdir / f"sync-{run_id}"
    scratch.mkdir()
    results: dict[str, Any] = {"items": args.items, "seed": args.seed, "quick": args.quick,
                               "machine": dict(described), "source_rows": sum(counts.values()),
                               "source_bytes": source.stat().st_size,
                               "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}}
    try:
        results["triggers"] = trigger_overhead(args, source, scratch, run_id)
        say()
        dsn = create_database(args.dsn, run_id)
        say(f"database {run_id} created for this run")
        try:
            results["sync"] = with_sidecar(args, source, scratch, run_id, dsn)
        finally:
            drop_database(args.dsn, run_id)
            say(f"database {run_id} dropped")
    finally:
        for f in scratch.iterdir():
            f.unlink()
        scratch.rmdir()
    say()
    report(args, results)
    say()
    results["wall_seconds"] = time.monotonic() - started
    say(f"benchmark wall time {results['wall_seconds']:.0f} s; load average at the end "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    return 0


def _spread(values: list[float]) -> str:
    return f"{fmt_int(statistics.median(values))} ({fmt_int(min(values))}-{fmt_int(max(values))})"


def report(args: argparse.Namespace, results: dict[str, Any]) -> None:
    checks: list[list[str]] = []

    say(f"trigger overhead: writer rows/s, median of {args.repeats} run(s) each (min-max), each run on a fresh "
        "backup-API copy")
    rows = []
    for w in results["triggers"]:
        rows.append([w["label"], _spread(w["runs"]["none"]), _spread(w["runs"]["capture"]), f"{w['ratio']:.2f}x",
                     f"{w['median_pair_ratio']:.2f}x", _spread(w["runs"]["empty"]), f"{w['ratio_empty']:.2f}x",
                     f"{w['disturbed']:.1f}"])
        checks.append([f"trigger overhead: {w['key']} (capture / none)", f"{w['ratio']:.2f}x", f">= {w['target']:g}x",
                       verdict(w["ratio"] >= w["target"])])
        checks.append([f"  ({w['key']}: capture / empty triggers)", f"{w['ratio_capture_vs_empty']:.2f}x", "", "info"])
    say(table(["", "none (anchor)", "capture triggers", "ratio", "median of pairs", "empty triggers", "ratio",
               "others CPU s"], rows))
    t = results["triggers"][0]["triggers"]
    say(f"  triggers in the file: none {t['none']}, capture {t['capture']} (3 per table, "
        "sqlmite.sync.capture.install), "
        f"empty {t['empty']} (3 per table, WHEN 0, no effect)")
    say(f"  ratio = median / median of none; reference: {REFERENCE}")
    say()

    s = results["sync"]
    lag, burst = s["lag"], s["burst"]
    w = lag["writer"]
    say(f"replication lag at {fmt_int(w['rows'] / w['seconds'])} row changes/s ({args.lag_rows} rows per "
        f"transaction), {w['seconds']:.0f} s; visible in PostgreSQL - committed (resolution: the "
        f"{args.poll * 1000:.0f} ms poll)")
    say(table(["rows seen", "missing", "p50 ms", "p90 ms", "p99 ms", "max ms", "> 1 s", "others CPU s"],
              [[fmt_int(lag["rows_seen"]), fmt_int(lag["missing"]), f"{lag['p50'] * 1000:.0f}",
                f"{lag['p90'] * 1000:.0f}", f"{lag['p99'] * 1000:.0f}", f"{lag['max'] * 1000:.0f}",
                fmt_int(lag["over_1s"]), f"{lag['disturbed']:.1f}"]], align="r" * 8))
    ml = s["metrics"]["lag"]
    batches = ml.get("sqlmite_sync_batches_applied_total", 0)
    say(f"  writer: {w['transactions']:,} transactions, commit p50 {w['commit_p50'] * 1000:.2f} ms, p99 "
        f"{w['commit_p99'] * 1000:.2f} ms, max {w['commit_max'] * 1000:.1f} ms, {w['late_ticks']} tick(s) more than "
        f"one interval late")
    say(f"  sidecar: {fmt_int(batches)} batches "
        f"({ml.get('sqlmite_sync_changes_applied_total', 0) / max(batches, 1):.1f} changes per batch); poller: "
        f"{lag['polls']:,} polls of {lag['poll_ms']:.2f} ms")
    checks.append(["replication lag p99 at 1,000 row changes/s", f"{lag['p99'] * 1000:.0f} ms",
                   f"< {TARGET_LAG_P99 * 1000:.0f} ms", verdict(lag["p99"] < TARGET_LAG_P99 and lag["missing"] == 0)])
    say()

    bw = burst["writer"]
    mb = s["metrics"]["burst"]
    say(f"burst of {fmt_int(burst['changes'])} changes ({args.burst_table} INSERTs, {bw['transactions']} transactions "
        "of 1,000)")
    rows = [["sync running (drain)", f"{bw['seconds']:.1f}", fmt_int(burst["writer_changes_per_s"]),
             fmt_int(burst["backlog_at_last_commit"]), f"{burst['drain_seconds']:.2f}", f"{burst['total_seconds']:.1f}",
             fmt_int(burst["changes_per_s"]), f"{burst['disturbed']:.1f}"]]
    cu = s.get("catch_up")
    if cu:
        rows.append(["sidecar stopped, then restarted (catch-up)", f"{cu['writer']['seconds']:.1f}",
                     fmt_int(cu["writer_changes_per_s"]), fmt_int(cu["changes"]), f"{cu['seconds']:.2f}",
                     "", fmt_int(cu["changes_per_s"]), f"{cu['disturbed']:.1f}"])
    say(table(["", "writer s", "writer changes/s", "backlog at last commit", "last commit (or restart) -> applied s",
               "first commit -> applied s", "changes/s applied", "others CPU s"], rows))
    batches = mb.get("sqlmite_sync_batches_applied_total", 0)
    per_batch = mb.get("sqlmite_sync_changes_applied_total", 0) / max(batches, 1)
    say(f"  sync running: {fmt_int(batches)} batches ({fmt_int(per_batch)} changes per batch), largest backlog seen "
        f"{fmt_int(burst['max_backlog'])}; changes/s applied = changes / (first commit -> applied; catch-up: "
        "restart -> applied)")
    st = s["status"]
    say(f"  sync_status afterwards: backlog {st['backlog']}, applied_seq {st['applied_seq']:,}, log_top "
        f"{st['log_top']:,}, lineage {st['lineage']}")
    if cu:
        m = cu["metrics"]
        say(f"  catch-up: ready {cu['ready_seconds']:.2f} s after the start, "
            f"{fmt_int(m.get('sqlmite_sync_batches_applied_total', 0))} batch(es), "
            f"{fmt_int(m.get('sqlmite_sync_rows_applied_total', 0))} rows written, reloads "
            f"{fmt_int(sum(v for k, v in m.items() if k.startswith('sqlmite_sync_reloads_total')))}; sync_status "
            f"afterwards: backlog {cu['status']['backlog']}, applied_seq {cu['status']['applied_seq']:,}")
    say()

    say("the sidecar (sqlmite sync), and the PostgreSQL backends serving it")
    lag_s, burst_s = lag["writer"]["seconds"], burst["total_seconds"]
    cpu_total = s["cpu"]["lag"] + s["cpu"]["burst"]
    hwm = s["hwm"] or 0
    rows = [["lag phase", f"{lag_s:.1f}", f"{s['cpu']['lag']:.2f}", f"{100 * s['cpu']['lag'] / lag_s:.0f}%",
             f"{s['pg_cpu']['lag']:.2f}", ""],
            ["burst (first commit -> applied)", f"{burst_s:.1f}", f"{s['cpu']['burst']:.2f}",
             f"{100 * s['cpu']['burst'] / burst_s:.0f}%", f"{s['pg_cpu']['burst']:.2f}", ""],
            ["lag + burst", f"{lag_s + burst_s:.1f}", f"{cpu_total:.2f}", f"{100 * cpu_total / (lag_s + burst_s):.0f}%",
             f"{s['pg_cpu']['lag'] + s['pg_cpu']['burst']:.2f}", f"{hwm / MB:.0f}"]]
    if cu:
        rows.append(["catch-up (its own process: start -> applied)", f"{cu['seconds']:.1f}", f"{cu['cpu']:.2f}",
                     f"{100 * cu['cpu'] / cu['seconds']:.0f}%", f"{cu['pg_cpu']:.2f}", f"{(cu['hwm'] or 0) / MB:.0f}"])
    say(table(["", "seconds", "sidecar CPU s", "of one core", "PostgreSQL CPU s", "peak MB (VmHWM)"], rows))
    say("  lag + burst peak: VmHWM reset after the initial load" if s["hwm_reset"] else
        "  lag + burst peak: VmHWM could not be reset after the initial load, so it is the peak since start")
    say(f"  RSS at the end {(s['rss_end'] or 0) / MB:.0f} MB; initial load: {s['ready_seconds']:.1f} s, peak "
        f"{(s['initial_hwm'] or 0) / MB:.0f} MB, {s['initial_cpu']:.1f} CPU s")
    errors = {k: v for k, v in s["metrics"]["end"].items() if k.startswith("sqlmite_sync_errors_total") and v}
    if cu:
        errors.update({f"catch-up {k}": v for k, v in cu["metrics"].items()
                       if k.startswith("sqlmite_sync_errors_total") and v})
    say(f"  errors counted by the sidecar: {', '.join(f'{k} {v:g}' for k, v in errors.items()) or 'none'}; exit "
        f"status after SIGTERM {s['exit_code']}" + (f" (catch-up: {cu['exit_code']})" if cu else "")
        + f"; /healthz {s['healthz']}, /readyz 200 after {s['ready_seconds']:.1f} s")
    say()
    say("ratios against the targets (anchors measured in this run)")
    r = burst["changes_per_s"] / burst["writer_changes_per_s"]
    checks.append(["burst: changes/s applied / writer's changes/s", f"{r:.2f}x", "", "info"])
    if cu:
        r = cu["changes_per_s"] / cu["writer_changes_per_s"]
        checks.append(["catch-up: changes/s applied / writer alone", f"{r:.2f}x", "", "info"])
    say(table(["", "measured", "target", ""], checks, align="lrll"))
    results["checks"] = checks


if __name__ == "__main__":
    sys.exit(main())
