"""How bench/driver.py looks inside the driver: translation timed piece by piece, PostgreSQL calls traced.

Two ways, both without changing anything in src/:

* ``translate_once`` calls the pieces ``Engine.execute`` calls before PostgreSQL runs the
  statement, with the same arguments, and times each: binding the parameters as literals
  (``translate.params.bind``), the shadow's prepare (``Shadow.describe``), sqlglot's parse
  (``engine._parse``), the translation (``query.select``, ``insert.plan_insert`` +
  ``RowCodec`` encoding, ``statements.change``) and, for writes, the shadow computing the
  stored values (``Shadow.coerce_rows`` / ``Shadow.coerce``). It returns the PostgreSQL text it
  produced, which the benchmark compares with what the engine really sends.
* ``Tracer`` stands in, on one connection's engine instance only and for the duration of a
  ``with`` block, for its psycopg connection and its shadow: every call is passed through
  unchanged and its duration noted with a label (``BEGIN``, ``SAVEPOINT``, ``strays check``,
  ``SELECT`` ...). Statement time minus the time inside those PostgreSQL calls is sqlmite's own.
"""

from __future__ import annotations

import cProfile
import pstats
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import psycopg
from sqlglot import exp

from sqlmite.dbapi.connection import Connection
from sqlmite.dbapi.engine import Engine, _parse
from sqlmite.dbapi.writes import _explicit_rowids
from sqlmite.mapping.expressions import quote_ident
from sqlmite.mapping.values import SqliteValue
from sqlmite.translate import statements
from sqlmite.translate.insert import plan_insert, replace_into
from sqlmite.translate.params import bind
from sqlmite.translate.query import select

ROOT = str(Path(__file__).resolve().parent.parent) + "/"  # the checkout: its paths are shown relative to it
MAIN = ("SELECT", "INSERT", "UPDATE", "DELETE")  # labels of a statement's own PostgreSQL call
PARTS = ("bind", "shadow prepare", "sqlglot parse", "translate", "shadow coerce")


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, int(-(-q * len(ordered) // 100)) - 1))
    return ordered[k]


# --------------------------------------------------------------------------------------------
# 1. Translation, piece by piece.


def translate_once(engine: Engine, sql: str, params: Sequence[Any]) -> tuple[dict[str, float], str]:
    """Everything ``Engine.execute`` does for ``sql`` before PostgreSQL runs it: seconds per piece
    (``PARTS``), and the PostgreSQL statement text it arrives at."""
    parts = dict.fromkeys(PARTS, 0.0)
    t0 = time.perf_counter()
    bound = bind(sql, params)
    t1 = time.perf_counter()
    info = engine.shadow.describe(bound)
    t2 = time.perf_counter()
    node = _parse(replace_into(bound))
    t3 = time.perf_counter()
    parts["bind"], parts["shadow prepare"], parts["sqlglot parse"] = t1 - t0, t2 - t1, t3 - t2
    coerced = 0.0
    if isinstance(node, exp.Select):
        pg_sql = select(node, engine.catalog, [(f[3], f[4]) for f in info.description_full]).sql
    elif isinstance(node, exp.Insert):
        insert = plan_insert(node, engine.catalog)
        mapped, plan = insert.mapped, insert.mapped.plan
        names = [c.name for c in plan.columns]
        pg_sql = ""
        for row_sql, given in zip(insert.rows, _explicit_rowids(node, mapped, len(insert.rows)), strict=True):
            c0 = time.perf_counter()
            stored = engine.shadow.coerce_rows(row_sql, mapped.table.name, names)
            coerced += time.perf_counter() - c0
            rowid, values = stored[0][0], list(stored[0][1:])
            encoded = plan.encode([rowid, *values] if plan.keeps_rowid else values)
            columns = list(plan.pg_columns)
            if not given and plan.rowid_column is not None:
                at = columns.index(plan.rowid_column)
                del columns[at], encoded[at]
            returning = f" RETURNING {quote_ident(plan.rowid_column)}, xmax = 0" if plan.rowid_column else ""
            pg_sql = (f"INSERT INTO {mapped.qtable} AS t0 ({', '.join(quote_ident(c) for c in columns)}) "
                      f"VALUES ({', '.join(['%s'] * len(columns))}){insert.conflict}{returning}")
    elif isinstance(node, (exp.Update, exp.Delete)):
        def coerce(declared: str, value: SqliteValue) -> SqliteValue:
            nonlocal coerced
            c0 = time.perf_counter()
            try:
                return engine.shadow.coerce(declared, value)
            finally:
                coerced += time.perf_counter() - c0

        pg_sql = statements.change(node, engine.catalog, coerce).sql
    else:
        raise TypeError(f"not a statement the benchmark translates: {sql}")
    parts["shadow coerce"] = coerced
    parts["translate"] = time.perf_counter() - t3 - coerced
    return parts, pg_sql


# --------------------------------------------------------------------------------------------
# 2. Tracing one connection's calls to PostgreSQL (and to its shadow).


def label(query: Any) -> str:
    """What kind of PostgreSQL call a query text is, for the breakdown."""
    text = str(query)
    if "jsonb_object_keys" in text:
        return "strays check"
    if "sqlmite.next_rowid" in text:
        return "next rowid"
    return text.split(None, 1)[0].upper() if text.strip() else "?"


@dataclass
class Call:
    label: str
    start: float  # perf_counter at the call and at its return
    end: float
    pg: bool = True  # a PostgreSQL round trip (else: the shadow)
    sql: str = ""
    params: Any = None

    @property
    def seconds(self) -> float:
        return self.end - self.start


class _Transaction:
    """psycopg's ``conn.transaction()``: BEGIN (or SAVEPOINT) on entry, COMMIT (RELEASE) on exit, timed."""

    def __init__(self, calls: list[Call], inner: Any, nested: bool) -> None:
        self._calls, self._inner, self._nested = calls, inner, nested

    def __enter__(self) -> Any:
        t = time.perf_counter()
        try:
            return self._inner.__enter__()
        finally:
            self._calls.append(Call("SAVEPOINT" if self._nested else "BEGIN", t, time.perf_counter()))

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> bool | None:
        t = time.perf_counter()
        try:
            return self._inner.__exit__(kind, value, traceback)
        finally:
            what = ("RELEASE" if self._nested else "COMMIT") if kind is None else \
                ("ROLLBACK TO" if self._nested else "ROLLBACK")
            self._calls.append(Call(what, t, time.perf_counter()))


class _Pg:
    """The engine's psycopg connection, every ``execute`` and ``transaction`` timed."""

    def __init__(self, pg: psycopg.Connection[Any], calls: list[Call]) -> None:
        self._pg, self._calls = pg, calls

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        t = time.perf_counter()
        try:
            return self._pg.execute(query, params, **kwargs)
        finally:
            self._calls.append(Call(label(query), t, time.perf_counter(), sql=str(query), params=params))

    def transaction(self, *args: Any, **kwargs: Any) -> _Transaction:
        nested = self._pg.info.transaction_status != psycopg.pq.TransactionStatus.IDLE
        return _Transaction(self._calls, self._pg.transaction(*args, **kwargs), nested)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pg, name)


class _Shadow:
    """The engine's shadow, its prepares and value computations timed."""

    def __init__(self, shadow: Any, calls: list[Call]) -> None:
        self._shadow, self._calls = shadow, calls

    def _timed(self, what: str, fn: Callable[..., Any], *args: Any) -> Any:
        t = time.perf_counter()
        try:
            return fn(*args)
        finally:
            self._calls.append(Call(what, t, time.perf_counter(), pg=False))

    def describe(self, sql: str) -> Any:
        return self._timed("shadow prepare", self._shadow.describe, sql)

    def coerce_rows(self, *args: Any) -> Any:
        return self._timed("shadow coerce", self._shadow.coerce_rows, *args)

    def coerce(self, *args: Any) -> Any:
        return self._timed("shadow coerce", self._shadow.coerce, *args)

    def run(self, sql: str) -> Any:
        return self._timed("shadow run", self._shadow.run, sql)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._shadow, name)


@contextmanager
def tracing(conn: Connection) -> Iterator[list[Call]]:
    """Trace ``conn``'s engine for the block; the list fills with every call, in order."""
    engine = conn._engine
    calls: list[Call] = []
    pg, shadow = engine.pg, engine.shadow
    engine.pg, engine.shadow = _Pg(pg, calls), _Shadow(shadow, calls)  # type: ignore[assignment]
    try:
        yield calls
    finally:
        engine.pg, engine.shadow = pg, shadow


@dataclass
class Part:
    """One part of a traced statement's time: a call (PostgreSQL or the shadow), or sqlmite's own
    Python between two calls (``after`` → ``before``)."""

    kind: str  # "postgresql", "shadow" or "sqlmite"
    label: str  # the call's label; for sqlmite: "after|before"
    per_statement: float  # occurrences per statement
    seconds: float  # mean seconds per statement


@dataclass
class Traced:
    """Statements run through ``conn.execute`` while traced: per statement its span and calls."""

    spans: list[tuple[float, float]] = field(default_factory=list)
    calls: list[list[Call]] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.spans)

    @property
    def totals(self) -> list[float]:
        return [b - a for a, b in self.spans]

    def pg_seconds(self) -> list[float]:
        return [sum(c.seconds for c in calls if c.pg) for calls in self.calls]

    def own_seconds(self) -> list[float]:
        """Per statement: wall time minus the time inside PostgreSQL calls (sqlmite's own work)."""
        return [t - p for t, p in zip(self.totals, self.pg_seconds(), strict=True)]

    def parts(self) -> list[Part]:
        """Every statement's time cut at each call: the calls, and sqlmite's Python in the gaps between
        them, each as a mean per statement, in the order they happen (first statement first)."""
        seconds: dict[tuple[str, str], float] = defaultdict(float)
        count: dict[tuple[str, str], int] = defaultdict(int)
        for (t0, t1), calls in zip(self.spans, self.calls, strict=True):
            at, previous = t0, "start"
            for c in calls:
                for key, value in (((("sqlmite", f"{previous}|{c.label}")), c.start - at),
                                   ((("postgresql" if c.pg else "shadow"), c.label), c.seconds)):
                    seconds[key] += value
                    count[key] += 1
                at, previous = c.end, c.label
            seconds["sqlmite", f"{previous}|end"] += t1 - at
            count["sqlmite", f"{previous}|end"] += 1
        return [Part(kind, name, count[kind, name] / self.n, seconds[kind, name] / self.n) for kind, name in seconds]

    def before_main(self) -> list[float]:
        """Per statement: sqlmite's time (its Python and the shadow, not its PostgreSQL calls) before the
        statement's own PostgreSQL call (its SELECT / INSERT / UPDATE / DELETE) starts: translation as
        the driver pays it."""
        out = []
        for (t0, _), calls in zip(self.spans, self.calls, strict=True):
            main = next((c for c in calls if c.pg and c.label in MAIN), None)
            if main is not None:
                out.append(main.start - t0 - sum(c.seconds for c in calls if c.pg and c.end <= main.start))
        return out

    def sequence(self, at: int = 0) -> str:
        """The PostgreSQL calls of one statement, in order (e.g. ``BEGIN, strays check, SELECT, COMMIT``)."""
        return ", ".join(c.label for c in self.calls[at] if c.pg) if self.calls else ""

    def first(self, name: str) -> Call | None:
        """The first statement's first PostgreSQL call labelled ``name``."""
        return next((c for c in self.calls[0] if c.pg and c.label == name), None) if self.calls else None

    def main_sql(self) -> str:
        """The first statement's own PostgreSQL text (its SELECT / INSERT / UPDATE / DELETE)."""
        for name in MAIN:
            found = self.first(name)
            if found is not None:
                return found.sql
        return ""

    def summary(self) -> dict[str, Any]:
        return {"n": self.n, "total_p50": percentile(self.totals, 50), "total_mean": statistics.fmean(self.totals),
                "pg_p50": percentile(self.pg_seconds(), 50), "own_p50": percentile(self.own_seconds(), 50),
                "own_p99": percentile(self.own_seconds(), 99), "pg_calls": self.sequence(),
                "before_main_p50": percentile(self.before_main(), 50), "before_main_p99": percentile(self.before_main(), 99),
                "parts": [{"kind": p.kind, "label": p.label, "per_statement": p.per_statement,
                           "mean_seconds": p.seconds} for p in self.parts()]}


def traced(conn: Connection, sql: str, params_list: Sequence[Sequence[Any]]) -> Traced:
    """Run ``sql`` once per parameter set through ``conn.execute`` (rows fetched), traced."""
    out = Traced()
    with tracing(conn) as calls:
        for params in params_list:
            start = len(calls)
            t = time.perf_counter()
            conn.execute(sql, params).fetchall()
            out.spans.append((t, time.perf_counter()))
            out.calls.append(calls[start:])
    return out


# --------------------------------------------------------------------------------------------
# 3. cProfile of a loop.


@dataclass
class ProfileEntry:
    function: str
    calls: int
    own: float  # seconds, the function's own (tottime)
    cumulative: float  # seconds, with what it called


def profile(fn: Callable[[], None]) -> list[ProfileEntry]:
    """cProfile ``fn``; every function's entry, by cumulative time."""
    prof = cProfile.Profile()
    prof.enable()
    try:
        fn()
    finally:
        prof.disable()
    stats: dict[tuple[str, int, str], tuple[int, int, float, float, Any]] = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    entries = [ProfileEntry(_where(key), nc, tt, ct) for key, (_cc, nc, tt, ct, _callers) in stats.items()]
    return sorted(entries, key=lambda e: -e.cumulative)


def _where(key: tuple[str, int, str]) -> str:
    path, line, name = key
    if path == "~":
        return name  # a built-in: "<method 'execute' of 'apsw.Cursor' objects>"
    if path.startswith(ROOT):
        return f"{path[len(ROOT):]}:{line}({name})"
    for marker in ("/site-packages/", "/src/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    else:
        if "/lib/python3" in path:  # the standard library: "contextlib.py"
            path = path.split("/lib/python3", 1)[1].split("/", 1)[-1]
    return f"{path}:{line}({name})"
