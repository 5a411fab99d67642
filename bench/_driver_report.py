"""bench/driver.py's figures: the records it keeps per client and placement, and the report it
prints (tables, where the time goes, ratios against the targets)."""

from __future__ import annotations

import argparse
import math
import statistics
from dataclasses import dataclass, field
from typing import Any

from _driver_data import COLUMNS
from _driver_trace import PARTS, ProfileEntry, Traced, percentile
from migrate import fmt_int, say, table, verdict

SCHEMA = "bench_driver"  # the driver's (migrated) schema, as bench/driver.py names it
TARGET_LATENCY = 1.25  # sqlmite / psycopg point SELECT latency, at most
TARGET_INSERT = 0.8  # sqlmite / psycopg executemany rows/s, at least


@dataclass
class Latency:
    """Point SELECT latencies of one client in one placement."""

    label: str
    placement: str
    seconds: list[float] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)

    def p(self, q: float) -> float:
        return percentile(self.seconds, q)

    def as_dict(self) -> dict[str, Any]:
        return {"label": self.label, "placement": self.placement, "n": len(self.seconds), "p50": self.p(50),
                "p99": self.p(99), "mean": statistics.fmean(self.seconds), "max": max(self.seconds),
                "wrong": self.wrong[:10], "wrong_count": len(self.wrong)}


@dataclass
class Inserts:
    """executemany runs of one client in one placement: seconds per run (BEGIN ... COMMIT), the read-back check."""

    label: str
    placement: str
    rows: int
    seconds: list[float] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)

    def rate(self) -> float:
        return self.rows / statistics.median(self.seconds)

    def as_dict(self) -> dict[str, Any]:
        return {"label": self.label, "placement": self.placement, "rows": self.rows, "seconds": self.seconds,
                "rows_per_s": self.rate(), "wrong": self.wrong}


def ratio(r: float) -> str:
    """A ratio with the digits that matter: 858x, 1.25x, 0.009x."""
    return f"{r:,.0f}x" if r >= 100 else f"{r:.2f}x" if r >= 0.1 else f"{r:.3f}x"


def us(seconds: float) -> str:
    return "n/a" if math.isnan(seconds) else f"{seconds * 1e6:,.0f}"


def report(args: argparse.Namespace, figures: dict[str, Any], others: dict[str, float],
           results: dict[str, Any]) -> None:
    results["others_cpu_seconds"] = others
    translation: list[dict[str, Any]] | None = figures.get("translation")
    runs: list[Traced] = [t.pop("_run") for t in translation or []]
    if translation:
        say("1. translation of one statement, uncached (us): the work Engine.execute does before PostgreSQL runs "
            "the statement; every call with")
        say("   new parameter values (no text-keyed cache anywhere can hit). hot loop: its pieces called directly, "
            "back to back; in the driver:")
        say("   the same work as the traced driver calls below pay it (time before the statement's own PostgreSQL "
            "call, less sqlmite's other PostgreSQL calls)")
        rows = [[t["statement"], fmt_int(t["n"]), us(t["p50"]), us(t["p99"]),
                 *(us(t["parts_mean"][k]) if t["parts_mean"][k] else "-" for k in PARTS),
                 us(t["traced"]["before_main_p50"]), us(t["traced"]["before_main_p99"])] for t in translation]
        say(table(["statement", "hot loop n", "p50", "p99", *(f"{k} (mean)" for k in PARTS), "in the driver p50",
                   "p99"], rows))
        say("  cached: a SELECT run again with parameters of the same storage classes reuses its translation and a "
            "PostgreSQL prepared statement")
        say("  (translate/cache.py): it pays 'in the driver' above, not the hot loop; writes are planned per SQL text "
            "(INSERTs) or translated each time")
        bad = [t["statement"] for t in translation if not t["same_sql"]]
        say("  the PostgreSQL text produced equals what the engine sent, for every statement" if not bad else
            f"  DIFFERENT PostgreSQL text from what the engine sent: {', '.join(bad)}")
        say()
        say("   the same statements through the driver (conn.execute + fetchall), its PostgreSQL calls traced (us, p50; "
            "writes inside a transaction rolled back)")
        rows = []
        for t in translation:
            s = t["traced"]
            rows.append([t["statement"], fmt_int(s["n"]), us(s["total_p50"]), us(s["pg_p50"]), us(s["own_p50"]),
                         us(s["own_p99"]), s["pg_calls"]])
        say(table(["statement", "n", "statement", "in PostgreSQL", "sqlmite's own", "own p99",
                   "PostgreSQL calls per statement"], rows, align="lrrrrrl"))
        say("  sqlmite's own = statement time - time inside the PostgreSQL calls (includes result decoding, cursor)")
        results["translation"] = translation
        say()

    point: list[Latency] | None = figures.get("point")
    where_note = results.get("placements_note")
    if point:
        say(f"2. point SELECT by primary key (SELECT * FROM items WHERE id = ?, {args.rows:,} rows), latency in us, "
            "same keys, interleaved; placement: " + "; ".join(f"{k} = {v}" for k, v in results["placements"].items()))
        anchors = {p.placement: p for p in point if p.label.startswith("psycopg, prepared")}
        rows = [[p.label, p.placement, fmt_int(len(p.seconds)), us(p.p(50)), us(p.p(99)), us(statistics.fmean(p.seconds)),
                 us(max(p.seconds)), fmt_int(len(p.seconds) / sum(p.seconds)),
                 ratio(p.p(50) / anchors[p.placement].p(50)), ratio(p.p(99) / anchors[p.placement].p(99)),
                 "yes" if not p.wrong else f"NO: {len(p.wrong)} wrong"]
                for p in sorted(point, key=lambda p: p.placement)]
        say(table(["", "placement", "queries", "p50", "p99", "mean", "max", "queries/s", "p50 / psycopg",
                   "p99 / psycopg", "answers right"], rows, align="llrrrrrrrrl"))
        for p in point:
            if p.wrong:
                say(f"  {p.label}, {p.placement}: {len(p.wrong)} wrong answers, e.g. {p.wrong[0]}")
        say(f"  psycopg: SELECT {COLUMNS} FROM {SCHEMA}.items WHERE id = %s, prepare=True, autocommit, the libpq "
            "parameters sqlmite resolves; sqlite3: the same file, statement cache on;")
        say("  sqlmite's SELECT text: the statement sqlmite sends (below), key as a literal, through the anchor "
            "connection alone (no BEGIN/COMMIT, no strays check)")
        if where_note:
            say(f"  {where_note}")
        results["point_select"] = [p.as_dict() for p in point]
        say()

    if translation and point:
        breakdown(translation[0], runs[0], point[0])  # sqlmite, as the OS places it
        results["point_breakdown"] = translation[0]["traced"]
        say()

    entries: list[ProfileEntry] | None = figures.get("profile")
    if entries:
        n = args.profile_queries
        loop = max(e.cumulative for e in entries) or 1.0
        say(f"   cProfile of {n:,} sqlmite point SELECTs: top {args.top} by cumulative time (per query; cProfile "
            "inflates Python-heavy code)")
        rows = [[f"{e.cumulative / n * 1e6:,.0f}", f"{100 * e.cumulative / loop:.0f}%", f"{e.own / n * 1e6:,.0f}",
                 f"{e.calls / n:,.1f}", e.function] for e in entries[:args.top]]
        say(table(["cum us", "share", "own us", "calls", "function"], rows, align="rrrrl"))
        results["profile"] = [{"function": e.function, "calls": e.calls, "own": e.own, "cumulative": e.cumulative}
                              for e in entries[:60]]
        say()

    inserts: list[Inserts] | None = figures.get("inserts")
    if inserts:
        anchors_i = {c.placement: c for c in inserts if c.label.startswith("psycopg executemany")}
        say(f"3. executemany: {args.inserts:,} single-row INSERTs (explicit ids) into an empty table, one transaction, "
            f"commit at the end; median of {args.runs} run(s) per placement")
        rows = [[c.label, c.placement, f"{c.rate():,.0f}",
                 f"{c.rows / max(c.seconds):,.0f}-{c.rows / min(c.seconds):,.0f}", f"{statistics.median(c.seconds):.2f}",
                 f"{1e6 * statistics.median(c.seconds) / c.rows:,.1f}", ratio(c.rate() / anchors_i[c.placement].rate()),
                 "yes" if not c.wrong else f"NO: {c.wrong[0]}"] for c in sorted(inserts, key=lambda c: c.placement)]
        say(table(["", "placement", "rows/s", "(min-max)", "seconds", "us per row", "/ psycopg executemany",
                   "read back equal"], rows, align="llrrrrrl"))
        say(f"  psycopg's tables: LIKE sqlmite's table INCLUDING CONSTRAINTS INCLUDING INDEXES (same columns, "
            f"primary key, index); sqlite3: journal_mode={results['sqlite']['journal_mode']}, "
            f"synchronous={results['sqlite']['synchronous']} (2 = FULL)")
        if where_note:
            say(f"  {where_note}")
        results["executemany"] = [c.as_dict() for c in inserts]
        say()

    run: Traced | None = figures.get("insert_trace")
    if run:
        say(f"   where a sqlmite INSERT's time goes: {run.n:,} rows through Cursor.execute (as executemany does), "
            "traced, mean per row")
        parts_table(run, GAPS_INSERT)
        say(f"   PostgreSQL calls of the first row: {run.sequence()}; of the others: "
            f"{', '.join(c.label for c in run.calls[-1] if c.pg)}")
        results["insert_breakdown"] = run.summary()
        say()

    checks = []
    for where in results.get("placements", {}):
        mine = [p for p in point or [] if p.placement == where]
        if mine:
            sq, ps, lt, _ = mine
            for q in (50, 99):
                r = sq.p(q) / ps.p(q)
                checks.append([f"point SELECT p{q}: sqlmite / psycopg (prepared), {where}", ratio(r),
                               f"<= {TARGET_LATENCY:g}x", verdict(r <= TARGET_LATENCY)])
                results[f"ratio_point_p{q}_{where}"] = r
            checks.append([f"  (point SELECT p50: sqlmite / sqlite3, {where})", ratio(sq.p(50) / lt.p(50)), "", "info"])
            checks.append([f"  (point SELECT p50: psycopg / sqlite3, {where})", ratio(ps.p(50) / lt.p(50)), "", "info"])
        made = [c for c in inserts or [] if c.placement == where]
        if made:
            sm, pipe, each, lt_i = made
            r = sm.rate() / pipe.rate()
            checks.append([f"executemany rows/s: sqlmite / psycopg (pipeline), {where}", ratio(r),
                           f">= {TARGET_INSERT:g}x", verdict(r >= TARGET_INSERT)])
            results[f"ratio_executemany_{where}"] = r
            checks.append([f"  (executemany rows/s: sqlmite / psycopg per-row execute, {where})",
                           ratio(sm.rate() / each.rate()), "", "info"])
            checks.append([f"  (executemany rows/s: sqlmite / sqlite3, {where})", ratio(sm.rate() / lt_i.rate()),
                           "", "info"])
    cached = [t for t in translation or [] if t["statement"].startswith("join")]
    if cached and not math.isnan(cached[0]["traced"]["before_main_p50"]):
        checks.append(["  (translation p50, join: uncached hot loop / cached in the driver, us)",
                       f"{us(cached[0]['p50'])} / {us(cached[0]['traced']['before_main_p50'])}", "", "info"])
    if checks:
        say("ratios against the targets (anchors measured in this run)")
        say(table(["", "measured", "target", ""], checks, align="lrll"))
    say("others CPU s (CPU time other processes used during each section; 0 when undisturbed): "
        + ", ".join(f"{name} {s:.1f}" for name, s in others.items()))
    if results["errors"]:
        say()
        say("ERRORS (the driver failed; figures above are missing for these sections):")
        for e in results["errors"]:
            say(f"  {e}")


# What sqlmite does between two traced calls (``Cursor.execute`` and ``Engine.execute`` as of this
# writing), for the two statements whose parts are printed; other gaps are named by their calls.
GAPS_SELECT = {
    "start|shadow prepare": "Cursor.execute: bind the parameters as literals",
    "shadow prepare|BEGIN": "classify the statement; sqlglot parse",
    "BEGIN|strays check": "translate (query.select)",
    "strays check|SELECT": "result readers",
    "SELECT|COMMIT": "decode the rows",
    "COMMIT|end": "Result, Cursor",
}
GAPS_INSERT = {
    "start|shadow prepare": "Cursor.execute: bind the parameters as literals",
    "shadow prepare|BEGIN": "classify the BEGIN sqlite3's legacy transaction control sends",
    "BEGIN|shadow prepare": "Cursor.execute, after the BEGIN: bind the parameters as literals",
    "shadow prepare|SAVEPOINT": "classify the statement; sqlglot parse",
    "SAVEPOINT|shadow coerce": "plan the INSERT (sqlglot: one single-row INSERT per row); foreign-key check",
    "shadow coerce|INSERT": "encode the values; build the INSERT",
    "INSERT|RELEASE": "fetch RETURNING",
    "RELEASE|end": "Result, Cursor",
}


def breakdown(point: dict[str, Any], run: Traced, measured: Latency) -> None:
    """Where a point SELECT's time goes, from the traced run."""
    s = point["traced"]
    say(f"   where a sqlmite point SELECT's time goes: {s['n']:,} traced queries, mean per query, in the order it "
        f"happens (the untraced ones above, placed by the OS: mean {us(statistics.fmean(measured.seconds))} us)")
    parts_table(run, GAPS_SELECT)
    say(f"   the SELECT sent: {point['engine_sql']}")
    strays = run.first("strays check")
    if strays is not None:
        say(f"   the strays check sent: {strays.sql}  -- parameters {strays.params!r}")
    if point.get("strays_plan"):
        say("   its plan, EXPLAIN (ANALYZE, BUFFERS) on the anchor connection:")
        for line in point["strays_plan"]:
            say(f"     {line}")


def parts_table(run: Traced, gaps: dict[str, str]) -> None:
    """Mean time per statement, cut at every traced call; subtotals by who spends it."""
    parts = run.parts()
    total = statistics.fmean(run.totals)
    rows = []
    by_kind: dict[str, float] = {}
    for p in parts:
        if p.kind == "sqlmite":
            after, before = p.label.split("|")
            what = "sqlmite: " + gaps.get(p.label, f"between {after} and {before}")
        else:
            what = ("PostgreSQL: " if p.kind == "postgresql" else "shadow (SQLite): ") + p.label
        if p.per_statement < 0.5:
            what += " (first statement only)"
        rows.append([what, f"{p.per_statement:.2f}", us(p.seconds), f"{100 * p.seconds / total:.1f}%"])
        by_kind[p.kind] = by_kind.get(p.kind, 0.0) + p.seconds
    rows.append(["total", "", us(total), "100%"])
    for kind, name in (("postgresql", "PostgreSQL round trips"), ("shadow", "shadow (SQLite)"),
                       ("sqlmite", "sqlmite's Python (incl. sqlglot)")):
        rows.append([f"  of which {name}", "", us(by_kind.get(kind, 0.0)),
                     f"{100 * by_kind.get(kind, 0.0) / total:.1f}%"])
    say(table(["part", "per statement", "us", "share"], rows))
