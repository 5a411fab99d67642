"""The data scan before a migration: which storage classes each column really holds.

One query per table, evaluated by SQLite in C (``sum(typeof(c) = 'integer')`` ...), so the scan
costs one pass over the data. Its result lets the schema mapper choose native types that fit the
data and admit strays where they occur, and is the per-column type report of ``--dry-run``.
It also collects what must travel beside the rows: ``sqlite_sequence``, ``sqlite_stat1`` and the
foreign keys that existing rows already violate (SQLite allows that when enforcement was off).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import apsw

from sqlmite.mapping.affinity import StorageClass
from sqlmite.mapping.expressions import quote_ident
from sqlmite.sqlite.schema import SqliteSchema

CLASSES = (StorageClass.NULL, StorageClass.INTEGER, StorageClass.REAL, StorageClass.TEXT, StorageClass.BLOB)


@dataclass
class ColumnReport:
    """How many values of each storage class a column holds."""

    name: str
    declared_type: str
    counts: dict[StorageClass, int]

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
    # (table, 1-based foreign key in declaration order) that existing rows violate
    violated_foreign_keys: set[tuple[str, int]] = field(default_factory=set)

    @property
    def observed(self) -> dict[tuple[str, str], set[StorageClass]]:
        return {(t.name, c.name): c.classes for t in self.tables for c in t.columns}

    @property
    def total_rows(self) -> int:
        return sum(t.rows for t in self.tables)

    def table(self, name: str) -> TableReport:
        return next(t for t in self.tables if t.name == name)


def scan(conn: apsw.Connection, schema: SqliteSchema) -> ScanResult:
    """Scan every table of ``schema`` on ``conn`` (call inside the read transaction of the snapshot)."""
    result = ScanResult()
    for table in schema.tables:
        parts = ["count(*)"]
        for col in table.columns:
            q = quote_ident(col.name)
            parts += [f"sum(typeof({q}) = '{cls.value.lower()}')" for cls in CLASSES]
        row = conn.execute(f"SELECT {', '.join(parts)} FROM main.{quote_ident(table.name)}").fetchall()[0]
        rows, counts = row[0], row[1:]
        columns = []
        for i, col in enumerate(table.columns):
            chunk = counts[i * len(CLASSES):(i + 1) * len(CLASSES)]
            columns.append(ColumnReport(col.name, col.declared_type, {c: int(n or 0) for c, n in zip(CLASSES, chunk)}))
        result.tables.append(TableReport(table.name, rows, columns))
    names = {row.name for row in schema.master}
    if "sqlite_sequence" in names:
        result.sequence = [(str(n), int(s)) for n, s in conn.execute("SELECT name, seq FROM main.sqlite_sequence")]
    if "sqlite_stat1" in names:
        result.stat1 = conn.execute("SELECT tbl, idx, stat FROM main.sqlite_stat1").fetchall()
    declared = {t.name: len(t.foreign_keys) for t in schema.tables}
    for table_name, _rowid, _parent, fk_id in conn.execute("PRAGMA main.foreign_key_check"):
        result.violated_foreign_keys.add((table_name, declared[table_name] - fk_id))
    return result
