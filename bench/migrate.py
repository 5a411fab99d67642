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

This file is the entry point: arguments, the order of the steps, and the printed report. The rest
sits next to it: _sampling.py (how a subprocess and its process tree are measured), _fixtures.py
(the run's databases and the cached source file), _sqlmite_runs.py (migrate and export in
subprocesses, and migrate's phases), _anchors.py (the plain-COPY ceiling and pgloader) and
_machine.py (machine and version description).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import apsw
import psutil

# Sibling modules: `python bench/migrate.py` puts bench/ first on sys.path (and spawn-started pool
# processes inherit it).
from _anchors import (
    CeilingRun,
    PgloaderRun,
    ceiling_tables,
    expression_indexes,
    run_ceiling,
    run_pgloader,
    sqlite_quote,
)
from _fixtures import admin, checkpoint, create_database, drop_database, ensure_source
from _machine import machine
from _sampling import MB, Disturbance, wait_quiet
from _sqlmite_runs import (
    ExportRun,
    MigrateRun,
    export_available,
    run_export,
    run_migrate,
)

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_ITEMS = 60_000  # ~17.4 rows per item: ~1.04 M rows
MIN_ROWS = 1_000_000
TARGET_VS_PGLOADER = 5.0
TARGET_VS_CEILING = 0.5
TARGET_PEAK_MB = 300.0
FLAT_GROWTH = 0.10  # peak at --scale x may exceed the 1x peak by this fraction ...
FLAT_SLACK_MB = 10.0  # ... plus this much noise, and still count as flat


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
                    conn.execute(f"DROP INDEX {sqlite_quote(name)}")
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
