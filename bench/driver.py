"""Benchmark of the sqlite3-compatible driver (``sqlmite.connect``) against raw psycopg and SQLite.

    python bench/driver.py [--rows N] [--dsn DSN] [--quick] [--json FILE]

In one run, against the same PostgreSQL (a database created for the run, dropped at the end):

1. Translation of one statement, uncached: p50 / p99 of the work ``Engine.execute`` does before
   PostgreSQL runs the statement (bind as literals, the shadow's prepare, sqlglot's parse, the
   translation; for writes, the shadow computing the stored values), for a point SELECT, a join,
   an aggregate, an INSERT and an UPDATE. The same statements are also run through the driver
   with its PostgreSQL calls traced: statement time minus time inside PostgreSQL is sqlmite's
   own; for a SELECT run again, the driver's cached translation (``translate/cache.py``) is what
   the time before its PostgreSQL call shows.
2. A point SELECT by primary key on a ``--rows`` table, through sqlmite and through raw psycopg
   (a prepared statement on a connection with sqlmite's own settings, same table), interleaved,
   same keys: latency p50 / p99 and the ratio (target <= 1.25x); where sqlmite's time goes
   (traced, and cProfile). Sections 2 and 3 run twice: with the processes where the OS places
   them, and with the benchmark and its PostgreSQL backends pinned to one CPU (``Placement``).
3. ``executemany`` of ``--inserts`` single-row INSERTs in one transaction through sqlmite and
   through psycopg's ``executemany`` (pipeline mode) into an equivalent table: rows/s and the
   ratio (target >= 0.8x).
4. Both workloads on stdlib ``sqlite3`` (the same file, WAL) for scale.

Every answer is checked: rows read are compared with the file's, rows written are read back.
Nothing in src/ is changed; the tracing replaces, on the benchmark's own connection object and
only while it traces, the engine's psycopg connection and shadow with pass-through timers
(``_driver_trace.py``). See bench/README.md, section "Driver".
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import statistics
import sys
import time
import traceback
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import psycopg
import sqlglot

# Sibling modules: `python bench/driver.py` puts bench/ first on sys.path.
from _driver_data import (
    COLUMNS,
    INDEX_DDL,
    INSERT,
    POINT_SELECT,
    STATEMENTS,
    TABLE_DDL,
    Row,
    build_sqlite,
    insert_rows,
    migrate_into,
    params_for,
    same_rows,
)
from _driver_report import SCHEMA, Inserts, Latency, report, us
from _driver_trace import (
    PARTS,
    Traced,
    percentile,
    profile,
    traced,
    translate_once,
)
from _fixtures import checkpoint, create_database, drop_database
from _machine import machine
from _sampling import Disturbance, wait_quiet
from migrate import DEFAULT_DSN, say

import sqlmite
from sqlmite.backend import resolve_params
from sqlmite.config import load_settings

RAW = "bench_raw"  # psycopg's insert tables
# What a failing driver raises (sqlmite's errors are sqlite3's subclasses), and what a bug in it would.
DRIVER_FAILURES = (sqlite3.Error, psycopg.Error, LookupError, TypeError, ValueError, AttributeError,
                   AssertionError, RuntimeError)

DEFAULTS = {  # full run (~75 s) / --quick (~22 s)
    "rows": (100_000, 100_000),
    "translations": (1_000, 200),  # direct translation calls per statement
    "traced": (50, 10),  # traced driver calls per statement (point SELECT: 4x)
    "queries": (500, 100),  # sqlmite point SELECTs, per placement
    "anchor_queries": (5_000, 1_000),  # psycopg and sqlite3 point SELECTs, per placement
    "rounds": (4, 2),  # the point SELECTs are interleaved in this many rounds
    "profile_queries": (200, 50),
    "inserts": (10_000, 2_000),
    "runs": (1, 1),  # executemany runs of each client, per placement
}


class Placement:
    """Where the benchmark and the PostgreSQL backends serving it run: where the OS puts them, or all
    pinned to one CPU. On a VM a round trip between processes on two vCPUs costs several times one
    on a single vCPU (a cross-CPU wake-up), and the OS switches between the two at random; pinning
    gives the steady lower bound. Needs PostgreSQL on this machine and the right to set the
    backends' affinity (root, or the postgres user); otherwise only "OS" is measured."""

    def __init__(self, backends: list[int], local: bool) -> None:
        self.pids = [os.getpid(), *backends]
        self.original: dict[int, set[int]] = {}
        self.cpu = min(os.sched_getaffinity(0))
        self.problem: str | None = None
        if not local:
            self.problem = "PostgreSQL is not on this machine"
        elif len(os.sched_getaffinity(0)) < 2:
            self.problem = "one CPU only: the OS placement is already pinned"
        else:
            try:
                self.original = {pid: os.sched_getaffinity(pid) for pid in self.pids}
                for pid in self.pids:
                    os.sched_setaffinity(pid, self.original[pid])
            except OSError as exc:
                self.problem = f"cannot set the backends' CPU affinity ({exc})"

    def names(self) -> list[str]:
        return ["OS"] + ([] if self.problem else ["pinned"])

    def apply(self, name: str) -> None:
        for pid in self.pids if not self.problem else []:
            os.sched_setaffinity(pid, {self.cpu} if name == "pinned" else self.original[pid])

    def describe(self, name: str) -> str:
        return "as the OS schedules" if name == "OS" else f"all on CPU {self.cpu}"


# --------------------------------------------------------------------------------------------
# 1. Translation.


def measure_translation(args: argparse.Namespace, conn: sqlmite.Connection,
                        pg: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    """Each statement: direct translation (uncached) ``args.translations`` times, then through the driver, traced."""
    engine = conn._engine
    out = []
    for n, (name, sql) in enumerate(STATEMENTS):
        rng = random.Random(args.seed * 1000 + n)
        warm_until, i = time.perf_counter() + 0.3, 0
        while i < 20 or time.perf_counter() < warm_until:  # warm-up: first-call paths, and an idle CPU's
            translate_once(engine, sql, params_for(name, 20 * args.translations + i, args.rows, rng))
            i += 1
        totals: list[float] = []
        sums = dict.fromkeys(PARTS, 0.0)
        for i in range(args.translations):
            parts, _ = translate_once(engine, sql, params_for(name, i, args.rows, rng))
            totals.append(sum(parts.values()))
            for k, v in parts.items():
                sums[k] += v
        count = args.traced * (4 if name.startswith("point") else 1)
        params = [params_for(name, 10 * args.translations + i, args.rows, rng) for i in range(count)]
        _, expected_sql = translate_once(engine, sql, params[0])
        writes = not sql.lstrip().upper().startswith("SELECT")
        if writes:  # inside a transaction rolled back afterwards: the table stays as it was
            conn.execute("BEGIN")
        try:
            run = traced(conn, sql, params)
        finally:
            if writes:
                conn.rollback()
        out.append({"statement": name, "sql": sql, "n": len(totals), "p50": percentile(totals, 50),
                    "p99": percentile(totals, 99), "mean": statistics.fmean(totals),
                    "parts_mean": {k: v / len(totals) for k, v in sums.items()},
                    "pg_sql": expected_sql, "engine_sql": run.main_sql(),
                    "same_sql": expected_sql == run.main_sql(), "traced": run.summary(), "_run": run})
        strays = run.first("strays check")
        if strays is not None and name.startswith("point"):
            out[-1]["strays_plan"] = [r[0] for r in pg.execute(f"EXPLAIN (ANALYZE, BUFFERS) {strays.sql}",
                                                                 strays.params).fetchall()]
        say(f"  {name}: p50 {us(out[-1]['p50'])} us translated; through the driver p50 "
            f"{us(run.summary()['total_p50'])} us ({run.sequence()})")
    return out


# --------------------------------------------------------------------------------------------
# 2. Point SELECT.


def measure_point_select(args: argparse.Namespace, conn: sqlmite.Connection, pg: psycopg.Connection[Any],
                         lite: sqlite3.Connection, reference: dict[int, tuple[Any, ...]],
                         placement: Placement) -> list[Latency]:
    """The same keys through sqlmite, psycopg (prepared) and sqlite3, in each placement, interleaved in
    ``args.rounds`` rounds (the placements' order alternating)."""
    rng = random.Random(args.seed + 7)
    keys = [1 + rng.randrange(args.rows) for _ in range(max(args.queries, args.anchor_queries))]
    warm = [1 + rng.randrange(args.rows) for _ in range(50)]
    cur = pg.cursor()
    pg_sql = f"SELECT {COLUMNS} FROM {SCHEMA}.items WHERE id = %s"

    def via_sqlmite(k: int) -> Any:
        return conn.execute(POINT_SELECT, (k,)).fetchone()

    def via_psycopg(k: int) -> Any:
        return cur.execute(pg_sql, (k,), prepare=True).fetchone()

    def via_sqlite(k: int) -> Any:
        return lite.execute(POINT_SELECT, (k,)).fetchone()

    # sqlmite's own PostgreSQL text for this query (translated once, the key swapped in): what the
    # query's form costs PostgreSQL, without the driver's other round trips.
    _, translated = translate_once(conn._engine, POINT_SELECT, (keys[0],))
    prefix, key, suffix = translated.rpartition(f" = {keys[0]}")
    if not key:
        raise AssertionError(f"unexpected translation of the point SELECT: {translated}")

    def via_translated(k: int) -> Any:
        row = pg.execute(f"{prefix} = {k}{suffix}").fetchone()
        return None if row is None else row[0::2]  # (value, overflow) per column; overflow is NULL here

    clients: list[tuple[str, Callable[[int], Any], int, int]] = [  # label, call, queries, warm-up per chunk
        ("sqlmite", via_sqlmite, args.queries, 2),
        ("psycopg, prepared (prepare=True)", via_psycopg, args.anchor_queries, 50),
        ("sqlite3, WAL file (stdlib)", via_sqlite, args.anchor_queries, 50),
        ("psycopg, sqlmite's SELECT text (info)", via_translated, args.anchor_queries, 50),
    ]
    out = {(label, where): Latency(label, where) for where in placement.names() for label, *_ in clients}
    try:
        for r in range(args.rounds):
            for where in placement.names()[::1 if r % 2 == 0 else -1]:
                placement.apply(where)
                for label, fn, n, warm_up in clients:
                    for k in warm[:warm_up]:  # after the switch: PostgreSQL's plan, the caches, the placement
                        fn(k)
                    latency = out[label, where]
                    for k in keys[r * n // args.rounds:(r + 1) * n // args.rounds]:
                        t = time.perf_counter()
                        row = fn(k)
                        latency.seconds.append(time.perf_counter() - t)
                        if row is None or tuple(row) != reference[k]:
                            latency.wrong.append(f"id {k}: {row!r} instead of {reference[k]!r}")
    finally:
        placement.apply("OS")
    return list(out.values())


# --------------------------------------------------------------------------------------------
# 3. executemany.


def measure_inserts(args: argparse.Namespace, conn: sqlmite.Connection, pg: psycopg.Connection[Any],
                    lite: sqlite3.Connection, rows: list[Row], placement: Placement) -> list[Inserts]:
    """``args.runs`` runs of each client in each placement, interleaved, each into a fresh empty table;
    BEGIN ... COMMIT timed."""
    placeholders = ", ".join(["%s"] * len(rows[0]))
    labels = ["sqlmite executemany", "psycopg executemany (pipeline mode)", "psycopg execute per row (info)",
              "sqlite3 executemany, WAL file (stdlib)"]
    out = {(label, where): Inserts(label, where, len(rows)) for where in placement.names() for label in labels}
    n = 0
    try:
        for r in range(args.runs):
            for where in placement.names()[::1 if r % 2 == 0 else -1]:
                placement.apply(where)
                n += 1
                # sqlmite: the table created through the driver, the rows written and read back through it.
                client = out[labels[0], where]
                name = f"ins_s{n}"
                conn.execute(TABLE_DDL.format(name=name))
                conn.execute(INDEX_DDL.format(name=name))
                conn.commit()
                checkpoint(args.run_dsn)
                t = time.perf_counter()
                conn.executemany(INSERT.format(name=name), rows)
                conn.commit()
                client.seconds.append(time.perf_counter() - t)
                problem = same_rows(conn.execute(f"SELECT {COLUMNS} FROM {name} ORDER BY id").fetchall(), rows)
                if problem:
                    client.wrong.append(f"run {r + 1}: {problem}")

                # psycopg: a table LIKE sqlmite's (same columns, constraints and indexes), in
                # autocommit mode with an explicit transaction, as sqlmite's connection runs.
                for label, pipelined in ((labels[1], True), (labels[2], False)):
                    client = out[label, where]
                    name = f"{RAW}.ins_{'p' if pipelined else 'e'}{n}"
                    pg.execute(f"CREATE TABLE {name} (LIKE {SCHEMA}.ins_template INCLUDING CONSTRAINTS "
                               "INCLUDING INDEXES)")
                    checkpoint(args.run_dsn)
                    insert = f"INSERT INTO {name} ({COLUMNS}) VALUES ({placeholders})"
                    t = time.perf_counter()
                    with pg.transaction():
                        cur = pg.cursor()
                        if pipelined:
                            cur.executemany(insert, rows)
                        else:
                            for row in rows:
                                cur.execute(insert, row)
                    client.seconds.append(time.perf_counter() - t)
                    problem = same_rows(pg.execute(f"SELECT {COLUMNS} FROM {name} ORDER BY id").fetchall(), rows)
                    if problem:
                        client.wrong.append(f"run {r + 1}: {problem}")

                client = out[labels[3], where]
                name = f"ins_q{n}"
                lite.execute(TABLE_DDL.format(name=name))
                lite.execute(INDEX_DDL.format(name=name))
                lite.commit()
                t = time.perf_counter()
                lite.executemany(INSERT.format(name=name), rows)
                lite.commit()
                client.seconds.append(time.perf_counter() - t)
                problem = same_rows(lite.execute(f"SELECT {COLUMNS} FROM {name} ORDER BY id").fetchall(), rows)
                if problem:
                    client.wrong.append(f"run {r + 1}: {problem}")
                say(f"  run {r + 1}, {where}: " + ", ".join(
                    f"{label.split(' (')[0]} {len(rows) / out[label, where].seconds[-1]:,.0f} rows/s" for label in labels))
    finally:
        placement.apply("OS")
    return list(out.values())


def trace_inserts(conn: sqlmite.Connection, rows: list[Row]) -> Traced:
    """Single-row INSERTs as executemany issues them (``Cursor.execute`` per row), traced, one transaction."""
    conn.execute(TABLE_DDL.format(name="ins_traced"))
    conn.execute(INDEX_DDL.format(name="ins_traced"))
    conn.commit()
    run = traced(conn, INSERT.format(name="ins_traced"), rows)
    conn.commit()
    return run


# --------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a ~22 s smoke run (fewer queries and inserts)")
    parser.add_argument("--rows", type=int, help="rows in the point-SELECT table (default 100,000)")
    parser.add_argument("--queries", type=int, help="sqlmite point SELECTs per placement (default 500; --quick 100)")
    parser.add_argument("--anchor-queries", type=int, help="psycopg and sqlite3 point SELECTs per placement "
                                                            "(default 5,000; --quick 1,000)")
    parser.add_argument("--rounds", type=int, help="the point SELECTs are interleaved in this many rounds "
                                                    "(default 4; --quick 2)")
    parser.add_argument("--translations", type=int, help="translations timed per statement (default 1,000; "
                                                          "--quick 200)")
    parser.add_argument("--traced", type=int, help="traced driver calls per statement, 4x for the point SELECT "
                                                    "(default 50; --quick 10)")
    parser.add_argument("--profile-queries", type=int, help="point SELECTs under cProfile (default 200; --quick 50)")
    parser.add_argument("--inserts", type=int, help="rows per executemany (default 10,000; --quick 2,000)")
    parser.add_argument("--runs", type=int, help="executemany runs of each client per placement (default 1)")
    parser.add_argument("--no-pin", action="store_true", help="measure only as the OS places the processes "
                                                               "(no run with everything pinned to one CPU)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dsn", default=os.environ.get("SQLMITE_TEST_DSN") or DEFAULT_DSN,
                        help="PostgreSQL to measure on (default: $SQLMITE_TEST_DSN or %(default)s); the run "
                             "creates and drops its own database there")
    parser.add_argument("--workdir", type=Path, default=Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
                        / "sqlmite-bench", help="the SQLite file is made here, and removed (default: %(default)s)")
    parser.add_argument("--top", type=int, default=20, help="cProfile entries shown (default %(default)s)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args()
    for key, (full, quick) in DEFAULTS.items():
        if getattr(args, key) is None:
            setattr(args, key, quick if args.quick else full)
    quiet_limit = 5.0 if args.quick else 45.0

    started = time.monotonic()
    run_id = f"sqlmite_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    say(f"sqlmite driver benchmark  (rows {args.rows:,}, seed {args.seed}{', quick' if args.quick else ''})")
    say()
    say("machine")
    facts = [(k, v) for k, v in machine(args.dsn) if k != "pgloader"]
    facts.append(("sqlglot", sqlglot.__version__))
    for k, v in facts:
        say(f"  {k:<20} {v}")
    busy = psutil.cpu_percent(interval=1.0 if args.quick else 2.0)
    say(f"  {'idle before the run':<20} {100 - busy:.0f}% CPU idle (each section waits for < 15% busy), "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    say()

    scratch = args.workdir / f"driver-{run_id}"
    scratch.mkdir(parents=True, exist_ok=True)
    path = scratch / "bench.db"
    results: dict[str, Any] = {"args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
                               "machine": dict(facts), "errors": []}
    figures: dict[str, Any] = {}
    others: dict[str, float] = {}

    def section(name: str, what: str, fn: Callable[[], Any]) -> Any:
        """One measured section, after the machine went quiet; a failure is reported, not hidden."""
        note = wait_quiet(limit=quiet_limit)
        say(f"{what} ..." + (f" ({note})" if note else ""))
        disturbance = Disturbance(run_id)
        try:
            value = fn()
        except DRIVER_FAILURES as exc:  # the driver misbehaving is a finding: say exactly what, go on
            text = f"{what.strip()}: {type(exc).__module__}.{type(exc).__name__}: {exc}"
            say(f"  FAILED {text}")
            say("  " + "".join(traceback.format_exception(exc)[-3:]).strip().replace("\n", "\n  "))
            results["errors"].append(text)
            return None
        others[name] = disturbance.seconds()
        return value

    seconds = build_sqlite(path, args.rows, args.seed)
    say(f"SQLite file {path} (stdlib sqlite3 {sqlite3.sqlite_version}, WAL): items {args.rows:,} rows, "
        f"categories 100 rows, in {seconds:.1f} s")
    dsn = create_database(args.dsn, run_id)
    args.run_dsn = dsn
    say(f"database {run_id} created for this run")
    conn: sqlmite.Connection | None = None
    pg: psycopg.Connection[Any] | None = None
    lite: sqlite3.Connection | None = None
    try:
        seconds, migrated = migrate_into(path, dsn, SCHEMA)
        say(f"migrated into schema {SCHEMA} (sqlmite.migrate.migrate, PRIMARY profile, no backup): "
            f"{migrated:,} rows in {seconds:.1f} s")
        conn = sqlmite.connect(str(path), database_url=dsn, schema=SCHEMA)
        # The anchor connects with the libpq parameters sqlmite.connect resolves for itself, autocommit as it.
        pg = psycopg.connect(**resolve_params(load_settings(cli={"database_url": dsn})), autocommit=True)
        pg.execute(f"CREATE SCHEMA {RAW}")
        conn.execute(TABLE_DDL.format(name="ins_template"))  # what psycopg's tables are made LIKE
        conn.execute(INDEX_DDL.format(name="ins_template"))
        conn.commit()
        lite = sqlite3.connect(path)
        local = pg.info.host in ("localhost", "127.0.0.1", "::1") or pg.info.host.startswith("/")
        placement = Placement([conn._engine.pg.info.backend_pid, pg.info.backend_pid], local)
        if args.no_pin:
            placement.problem = "--no-pin"
        results["placements"] = {w: placement.describe(w) for w in placement.names()}
        if placement.problem:
            results["placements_note"] = f"pinned placement not measured: {placement.problem}"
        results["sqlite"] = {"journal_mode": lite.execute("PRAGMA journal_mode").fetchone()[0],
                             "synchronous": lite.execute("PRAGMA synchronous").fetchone()[0]}
        reference = {row[0]: tuple(row) for row in lite.execute(f"SELECT {COLUMNS} FROM items")}
        say()

        sqlmite_conn, pg_conn, lite_conn = conn, pg, lite

        def point_selects() -> None:
            for i in range(args.profile_queries):
                sqlmite_conn.execute(POINT_SELECT, (1 + (i * 7919) % args.rows,)).fetchone()

        figures["translation"] = section(
            "translation", f"1. translation, {args.translations:,} per statement, then {args.traced:,} through the "
            "driver, traced", lambda: measure_translation(args, sqlmite_conn, pg_conn))
        figures["point"] = section(
            "point SELECT", f"2. point SELECT by primary key: sqlmite {args.queries:,}, psycopg and sqlite3 "
            f"{args.anchor_queries:,} each, interleaved in {args.rounds} rounds",
            lambda: measure_point_select(args, sqlmite_conn, pg_conn, lite_conn, reference, placement))
        figures["profile"] = section("cProfile", f"   cProfile of {args.profile_queries:,} sqlmite point SELECTs",
                                     lambda: profile(point_selects))
        rows = insert_rows(args.inserts, args.seed)
        figures["inserts"] = section(
            "executemany", f"3. executemany of {args.inserts:,} single-row INSERTs, one transaction, {args.runs} "
            "run(s) each per placement", lambda: measure_inserts(args, sqlmite_conn, pg_conn, lite_conn, rows,
                                                                 placement))
        traced_rows = rows[:min(args.inserts, 10 * args.traced)]
        figures["insert_trace"] = section("traced INSERTs", f"   {len(traced_rows):,} sqlmite INSERTs, traced",
                                          lambda: trace_inserts(sqlmite_conn, traced_rows))
    finally:
        for c in (conn, pg, lite):
            if c is not None:
                try:
                    c.close()
                except (sqlite3.Error, psycopg.Error) as exc:  # closing must not hide the run's own error
                    say(f"closing {type(c).__name__}: {exc}")
        drop_database(args.dsn, run_id)
        shutil.rmtree(scratch, ignore_errors=True)
        say(f"database {run_id} dropped; {scratch} removed")
    say()

    report(args, figures, others, results)
    say()
    say(f"benchmark wall time {time.monotonic() - started:.0f} s; load average at the end "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    return 1 if results["errors"] else 0


# --------------------------------------------------------------------------------------------
# The report.


if __name__ == "__main__":
    sys.exit(main())
