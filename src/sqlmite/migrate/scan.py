"""The data scan before a migration: which storage classes each column really holds.

One query per table, evaluated by SQLite in C (``sum(typeof(c) = 'integer')`` ...), so the scan
costs one pass over the data. Its result lets the schema mapper choose native types that fit the
data and admit strays where they occur, and is the per-column type report of ``--dry-run``.
It also collects what must travel beside the rows: ``sqlite_sequence``, ``sqlite_stat1`` and the
foreign keys that existing rows already violate (SQLite allows that when enforcement was off).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import apsw

from sqlmite.mapping.affinity import Affinity, StorageClass
from sqlmite.mapping.ddl import SchemaPlan
from sqlmite.mapping.values import strays_possible
from sqlmite.mapping.expressions import quote_ident
from sqlmite.sqlite.schema import Column, SqliteSchema, Table

CLASSES = (StorageClass.NULL, StorageClass.INTEGER, StorageClass.REAL, StorageClass.TEXT, StorageClass.BLOB)


@dataclass
class ColumnReport:
    """How many values of each storage class a column holds."""

    name: str
    declared_type: str
    counts: dict[StorageClass, int] = field(default_factory=dict)
    nul_text: int = 0  # TEXT values holding U+0000 (looked for in NOT NULL columns only)

    @property
    def classes(self) -> set[StorageClass]:
        return {cls for cls, n in self.counts.items() if n}


@dataclass
class TableReport:
    name: str
    rows: int
    columns: list[ColumnReport]


@dataclass
class ScanResult:
    tables: list[TableReport] = field(default_factory=list)
    sequence: list[tuple[str, int]] = field(default_factory=list)
    stat1: list[tuple[str | None, str | None, str | None]] = field(default_factory=list)
    # (table, 1-based foreign key in declaration order) that existing rows violate (full scans)
    violated_foreign_keys: set[tuple[str, int]] = field(default_factory=set)

    @property
    def observed(self) -> dict[tuple[str, str], set[StorageClass]]:
        return {(t.name, c.name): c.classes for t in self.tables for c in t.columns}

    @property
    def strays(self) -> set[tuple[str, str]]:
        """Columns holding text with U+0000: a stray in any native type, whatever the classes say."""
        return {(t.name, c.name) for t in self.tables for c in t.columns if c.nul_text}

    @property
    def total_rows(self) -> int:
        return sum(t.rows for t in self.tables)

    def table(self, name: str) -> TableReport:
        return next(t for t in self.tables if t.name == name)


def _class_sums(conn: apsw.Connection, table: Table, columns: list[Column]) -> list[dict[StorageClass, int]]:
    """Exact counts per storage class: five sums per column (the expensive form)."""
    parts = [f"sum(typeof({quote_ident(c.name)}) = '{cls.value.lower()}')" for c in columns for cls in CLASSES]
    row = conn.execute(f"SELECT {', '.join(parts)} FROM main.{quote_ident(table.name)}").fetchall()[0]
    return [{cls: int(n or 0) for cls, n in zip(CLASSES, row[i * len(CLASSES):(i + 1) * len(CLASSES)])}
            for i in range(len(columns))]


def _scan_table(conn: apsw.Connection, table: Table, full: bool) -> TableReport:
    if full:
        rows = conn.execute(f"SELECT count(*) FROM main.{quote_ident(table.name)}").fetchall()[0][0]
        counts = _class_sums(conn, table, list(table.columns)) if table.columns else []
        return TableReport(table.name, rows, [ColumnReport(c.name, c.declared_type, n)
                                              for c, n in zip(table.columns, counts)])
    # Lean and still exact: per column the non-NULL count and the smallest and largest typeof();
    # where they differ, a second pass counts that column's classes.
    # A NOT NULL column must also say whether its text holds U+0000: such a value can only be a
    # stray, and a stray needs the NOT NULL column to admit it.
    parts = ["count(*)"]
    for col in table.columns:
        q = quote_ident(col.name)
        textual = col.affinity in (Affinity.TEXT, Affinity.NUMERIC, Affinity.BLOB)  # may end up native text
        nul = f"sum(typeof({q}) = 'text' AND instr({q}, char(0)) > 0)" if col.not_null and textual else "0"
        parts += [f"count({q})", f"min(nullif(typeof({q}), 'null'))", f"max(nullif(typeof({q}), 'null'))", nul]
    row = conn.execute(f"SELECT {', '.join(parts)} FROM main.{quote_ident(table.name)}").fetchall()[0]
    rows = row[0]
    reports, mixed = [], []
    for i, col in enumerate(table.columns):
        present, low, high, nul_text = row[1 + 4 * i:5 + 4 * i]
        report = ColumnReport(col.name, col.declared_type, {StorageClass.NULL: rows - present}, int(nul_text or 0))
        if low is not None and low == high:
            report.counts[StorageClass(low.upper())] = present
        elif low is not None:
            mixed.append((report, col))
        reports.append(report)
    if mixed:
        for (report, _), counts in zip(mixed, _class_sums(conn, table, [c for _, c in mixed])):
            report.counts = counts
    # A NOT NULL INTEGER/REAL column that holds only text becomes native text too: look inside it.
    unchecked = [(r, c) for r, c in zip(reports, table.columns)
                 if c.not_null and c.affinity in (Affinity.INTEGER, Affinity.REAL) and r.classes == {StorageClass.TEXT}]
    if unchecked:
        parts = [f"sum(instr({quote_ident(c.name)}, char(0)) > 0)" for _, c in unchecked]
        found = conn.execute(f"SELECT {', '.join(parts)} FROM main.{quote_ident(table.name)}").fetchall()[0]
        for (report, _), n in zip(unchecked, found):
            report.nul_text = int(n or 0)
    return TableReport(table.name, rows, reports)


def scan(conn: apsw.Connection, schema: SqliteSchema, *, full: bool = True,
         reader: Callable[[], apsw.Connection] | None = None, workers: int = 1) -> ScanResult:
    """Scan every table of ``schema`` on ``conn`` (call inside the read transaction of the snapshot).

    Both forms give exact storage classes per column. The full one (the ``--dry-run`` type
    report) also runs ``foreign_key_check``; the lean one (what ``migrate`` needs) uses cheaper
    aggregates and, given ``reader`` (a way to open more connections to the same, unchanging
    snapshot file), scans tables on ``workers`` threads: SQLite releases the GIL while it works.
    """
    result = ScanResult()
    if reader is not None and workers > 1 and not full:
        local = threading.local()

        def one(table: Table) -> TableReport:
            if not hasattr(local, "conn"):
                local.conn = reader()
            return _scan_table(local.conn, table, full)

        with ThreadPoolExecutor(workers) as pool:
            result.tables = list(pool.map(one, schema.tables))
    else:
        result.tables = [_scan_table(conn, table, full) for table in schema.tables]
    names = {row.name for row in schema.master}
    if "sqlite_sequence" in names:
        result.sequence = [(str(n), int(s)) for n, s in conn.execute("SELECT name, seq FROM main.sqlite_sequence")]
    if "sqlite_stat1" in names:
        result.stat1 = conn.execute("SELECT tbl, idx, stat FROM main.sqlite_stat1").fetchall()
    if full:
        declared = {t.name: len(t.foreign_keys) for t in schema.tables}
        for table_name, _rowid, _parent, fk_id in conn.execute("PRAGMA main.foreign_key_check"):
            result.violated_foreign_keys.add((table_name, declared[table_name] - fk_id))
    return result


def clean_columns(plan: SchemaPlan, found: ScanResult) -> dict[str, frozenset[str]]:
    """Per table, the columns whose every value the scan proved native: not checked row by row."""
    observed = found.observed
    return {t.name: frozenset(c.name for c in t.columns
                              if (t.name, c.name) in observed and not strays_possible(c.pg_type, observed[t.name, c.name]))
            for t in plan.tables}
