"""The driver against the SQL Jellyfin really sends: each entry of the research file
(``sqlmite.testing.jellyfin_queries``) runs on Python's ``sqlite3`` over a copy of a generated
Jellyfin 12.0 database and on sqlmite over the same database migrated to PostgreSQL. The promise
is the one of tests/test_driver.py: the same answer (rows with their storage classes, column
names, rowcount, lastrowid, exception class, and for writes the rows of every table written), or
``NotSupportedError`` naming the construct. The refused entries are the translator's to-do list
(``test_coverage`` prints it); a divergence is a bug, kept visible as a strict xfail.

Part A is SQL for the legacy library.db; only its entries that touch none of its tables (connection
PRAGMAs, ``VACUUM``, ``sqlite_master``) make sense on jellyfin.db and are run. Entries are independent:
one that writes runs inside a transaction rolled back on both sides afterwards.
"""

from __future__ import annotations

import re
import sqlite3
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from driver_support import observe

import sqlmite
from sqlmite.api import migrate
from sqlmite.config import load_settings
from sqlmite.mapping.ddl import Profile
from sqlmite.testing.jellyfin import generate
from sqlmite.testing.jellyfin_queries import QueryEntry, bindings, entries

SEED = 20260822
SCHEMA_FREE_PART_A = (1, 2, 3, 4, 5, 6, 7, 10, 15)  # the rest of Part A names library.db's tables
CASES = [e for e in entries() if e.part == "B" or e.number in SCHEMA_FREE_PART_A]
_WRITES = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER)\b", re.IGNORECASE)
_WRITE_ACTIONS = {sqlite3.SQLITE_INSERT, sqlite3.SQLITE_UPDATE, sqlite3.SQLITE_DELETE}

# Entries where sqlmite answers differently from SQLite: bugs, each with its divergence as the reason.
DIVERGENCES: dict[int, str] = {}  # entry -> the divergence, while one is open (none now)
# Entries sqlmite answers as SQLite today (rows, or the same error); raise it as the translator grows.
MIN_ANSWERED = 40
# EF Core's table rebuild (entries 43-48) as the migration runs it: foreign keys off around the transaction.
REBUILD = (45, 43, 44, 46, 47, 48)


@dataclass
class Outcome:
    """One entry on both sides: ``status`` is "answered", "refused" or "diverged"."""

    entry: QueryEntry
    status: str = "answered"
    refused: str = ""  # sqlmite's NotSupportedError message
    errored: bool = False  # answered with the same exception class as sqlite3
    differences: list[str] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)  # written tables sqlmite would not read back


@dataclass
class Sides:
    reference: sqlite3.Connection
    ours: sqlmite.Connection
    values: dict[int, dict[str, Any]]


@pytest.fixture(scope="module")
def sides(pg_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sides]:
    """A generated Jellyfin 12.0 database, migrated (primary profile) for sqlmite, and a copy of the
    file for sqlite3 (backup API), both with foreign keys on as Jellyfin runs."""
    work = tmp_path_factory.mktemp("jellyfin")
    path = work / "jellyfin.db"
    generate(path, items=300, version="12.0", seed=SEED)
    pg_schema = f"jfq_{uuid.uuid4().hex[:8]}"
    migrate(path, load_settings(cli={"database_url": pg_dsn}, env={}), pg_schema=pg_schema,
            profile=Profile.PRIMARY, make_backup=False)
    reference = _copy(path, work / "reference.db")
    ours = sqlmite.connect(str(path), database_url=pg_dsn, schema=pg_schema, isolation_level=None)
    for conn in (reference, ours):
        conn.execute("PRAGMA foreign_keys = ON")
    values = {e.number: bindings(e, reference) for e in CASES}
    yield Sides(reference, ours, values)
    reference.close()
    ours.close()
    with psycopg.connect(pg_dsn, autocommit=True) as pg:
        pg.execute(f'DROP SCHEMA IF EXISTS "{pg_schema}" CASCADE')


def _copy(path: Path, target: Path) -> sqlite3.Connection:
    source = sqlite3.connect(path)
    copy = sqlite3.connect(target, isolation_level=None)
    source.backup(copy)
    source.close()
    copy.execute("PRAGMA journal_mode = 'wal'")  # the file's mode, as Jellyfin leaves it
    return copy


def run_entry(sides: Sides, entry: QueryEntry, statements: list[str] | None = None) -> Outcome:
    """Both sides, statement by statement, stopping where either fails. A transaction begins before
    the first statement that writes (as sqlite3's implicit BEGIN, DDL included) and is rolled back
    at the end, so the connection PRAGMAs before it act as in Jellyfin and nothing stays."""
    reference, ours = sides.reference, sides.ours
    params = sides.values.get(entry.number, {})
    written: set[str] = set()

    def authorize(action: int, table: str | None, *_: Any) -> int:
        if action in _WRITE_ACTIONS and table and not table.startswith("sqlite_"):
            written.add(table)
        return sqlite3.SQLITE_OK

    outcome = Outcome(entry)
    try:
        for statement in entry.statements() if statements is None else statements:
            if _WRITES.match(statement) and not reference.in_transaction:
                for conn in (reference, ours):
                    conn.execute("BEGIN")
            used = {k: v for k, v in params.items() if re.search(rf"@{k}\b", statement)}
            reference.set_authorizer(authorize)
            try:
                expected = observe(reference, statement, used)
            finally:
                reference.set_authorizer(None)
            got = observe(ours, statement, used)
            if "refused" in got:
                outcome.status, outcome.refused = "refused", got["refused"]
                return outcome
            if expected != got:
                outcome.differences.append(f"{statement}\n  sqlite3: {expected}\n  sqlmite: {got}")
            if "error" in expected or "error" in got:
                outcome.errored = True
                break
        for table in sorted(written):  # what the writes left, read back inside the transaction
            read = f'SELECT * FROM "{table}" ORDER BY rowid'
            expected, got = observe(reference, read, ()), observe(ours, read, ())
            if "refused" in got:
                outcome.unchecked.append(f"{table}: {got['refused']}")
            elif expected != got:
                outcome.differences.append(f"table {table} afterwards\n  sqlite3: {expected}\n  sqlmite: {got}")
    finally:
        for conn in (reference, ours):
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            conn.execute("PRAGMA foreign_keys = ON")  # entries 45, 48, 67 turn it off
    if outcome.differences:
        outcome.status = "diverged"
    return outcome


@pytest.fixture(scope="module")
def outcomes(sides: Sides) -> dict[int, Outcome]:
    """Every entry, in order, once: the per-entry tests and the coverage test read the same run."""
    return {entry.number: run_entry(sides, entry) for entry in CASES}


def _param(entry: QueryEntry) -> Any:
    marks = [pytest.mark.xfail(strict=True, reason=DIVERGENCES[entry.number])] if entry.number in DIVERGENCES else []
    return pytest.param(entry, id=f"{entry.number}", marks=marks)


@pytest.mark.parametrize("entry", [_param(e) for e in CASES])
def test_entry_answers_as_sqlite_or_is_refused(outcomes: dict[int, Outcome], entry: QueryEntry) -> None:
    outcome = outcomes[entry.number]
    assert outcome.status != "diverged", "\n".join(outcome.differences)


def test_coverage(outcomes: dict[int, Outcome]) -> None:
    """How much of Jellyfin's SQL sqlmite runs today; the refused list is the translator's to-do."""
    answered = [o for o in outcomes.values() if o.status == "answered"]
    refused = [o for o in outcomes.values() if o.status == "refused"]
    by_construct: dict[str, list[int]] = defaultdict(list)
    for o in refused:
        by_construct[o.refused].append(o.entry.number)
    summary = (f"{len(outcomes)} entries: {len(answered)} answered as SQLite "
               f"({sum(o.errored for o in answered)} with the same error), {len(refused)} refused, "
               f"{len(outcomes) - len(answered) - len(refused)} diverged")
    lines = [summary, f"answered: {[o.entry.number for o in answered]}", "refused (NotSupportedError):"]
    lines += [f"  {numbers}: {message}" for message, numbers in sorted(by_construct.items(), key=lambda m: m[1])]
    lines += [f"  written table not compared (entry {o.entry.number}): {u}" for o in outcomes.values()
              for u in o.unchecked]
    print("\n".join(lines))
    assert {n for n, o in outcomes.items() if o.status == "diverged"} == set(DIVERGENCES)
    assert len(answered) >= MIN_ANSWERED


@pytest.mark.usefixtures("outcomes")  # after the entries, so their run never depends on which tests ran
def test_example_values_select_real_rows(sides: Sides) -> None:
    """The bound values must make each statement read or change rows, else equal answers prove little."""
    reference = sides.reference
    for entry in CASES:
        if not sides.values[entry.number]:
            continue
        reference.execute("BEGIN")
        try:
            cursor = reference.execute(entry.statements()[0], sides.values[entry.number])
            found = len(cursor.fetchall()) or cursor.rowcount
        finally:
            reference.execute("ROLLBACK")
        # 69 is the get-or-create of an existing genre: the conflict, so nothing inserted, is the point.
        assert found > 0 or (entry.number == 69 and found == 0), entry.number


@pytest.mark.usefixtures("outcomes")
def test_table_rebuild_as_ef_runs_it(sides: Sides) -> None:
    """Entries 43-48 are one EF Core migration step: alone, 44 and 47 only meet "no such table"."""
    by_number = {e.number: e for e in CASES}
    outcome = run_entry(sides, by_number[43], [s for n in REBUILD for s in by_number[n].statements()])
    print(f"rebuild {REBUILD}: {outcome.status} {outcome.refused}")
    assert outcome.status != "diverged", "\n".join(outcome.differences)
