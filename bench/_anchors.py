"""The anchors bench/migrate.py compares migrate with, measured in the same run on the same PostgreSQL.

(a) The ceiling: a plain binary COPY of the same rows into plain tables typed as migrate types
them, in one process and in a spawn pool (``ceiling_copy`` is the pool's work, importable here).
(b) pgloader: with the workaround for the expression index it crashes on, and its row counts checked.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import apsw
import psycopg
from _fixtures import checkpoint, create_database, drop_database, warm
from _sampling import Measured, run_measured
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

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
                if any(r[1] == -2 and r[5] for r in conn.execute(f"PRAGMA index_xinfo({sqlite_quote(n)})"))]
    finally:
        conn.close()


def sqlite_quote(name: str) -> str:
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
