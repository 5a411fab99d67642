"""The mapped tables of one database as the translator sees them: SQLite's definition and
PostgreSQL's layout side by side, looked up as SQLite does (names ignore case)."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp

from sqlmite.mapping.ddl import ROWID_NAMES, TablePlan, column_refs
from sqlmite.mapping.expressions import ColumnRef
from sqlmite.migrate.rows import pg_table
from sqlmite.sqlite.dialect import DIALECT
from sqlmite.sqlite.schema import Index, SqliteSchema, Table
from sqlmite.translate.errors import NotSupportedError


@dataclass
class Mapped:
    """One table as the translator sees it: SQLite's definition, PostgreSQL's layout."""

    table: Table
    plan: TablePlan
    qtable: str
    refs: dict[str, ColumnRef]
    unique_indexes: list[Index] = field(default_factory=list)  # CREATE UNIQUE INDEX ones (keys for REPLACE)
    all_indexes: list[Index] = field(default_factory=list)  # every CREATE INDEX (SQLite's scan orders)

    def index_of(self, name: str) -> int:
        """Position of a column (or the rowid) in the decoded row (``plan.source_columns``)."""
        lowered = name.lower()
        for i, column in enumerate(self.plan.source_columns):
            if column.lower() == lowered:
                return i
        if lowered in ROWID_NAMES and self.table.rowid_alias:
            return self.index_of(self.table.rowid_alias)
        raise NotSupportedError(f"the rowid of table {self.table.name!r}")


@dataclass
class Derived:
    """A subquery or common table expression in FROM: columns whose storage class, affinity and
    collation the inner query fixed (SQLite passes a bare column's affinity and collation through)."""

    name: str
    qtable: str  # "(SELECT ...)", aliased with its column list where it is used
    refs: dict[str, ColumnRef]
    names: list[str]  # the result columns in order: what * expands to


class Catalog:
    """The mapped tables of one database."""

    def __init__(self, pg_schema: str, schema: SqliteSchema, plans: list[TablePlan]) -> None:
        by_name = {p.name.lower(): p for p in plans}
        self.pg_schema = pg_schema
        # Views by lower-case name: (their SELECT, their column names); queries read them as
        # subqueries in FROM, as SQLite expands them. One that cannot be parsed stays unknown.
        self.views: dict[str, tuple[exp.Expression, list[str]]] = {}
        for row in schema.views:
            try:
                create = sqlglot.parse_one(row.sql or "", read=DIALECT)
            except sqlglot.errors.ParseError:
                continue
            if isinstance(create, exp.Create) and create.expression is not None:
                columns = [c.name for c in create.this.expressions] if isinstance(create.this, exp.Schema) else []
                self.views[row.name.lower()] = (create.expression, columns)
        # Tables with triggers (their writes count the triggers' changes, and skip COPY batches).
        self.triggered = {row.tbl_name.lower() for row in schema.triggers}
        self.tables = {}
        for t in schema.tables:
            plan = by_name[t.name.lower()]
            indexes = [i for i in schema.indexes if i.table.lower() == t.name.lower()]
            self.tables[t.name.lower()] = Mapped(t, plan, pg_table(pg_schema, plan), column_refs(t, plan),
                                                 [i for i in indexes if i.unique], indexes)

    def get(self, name: str) -> Mapped:
        found = self.tables.get(name.lower())
        if found is None:  # SQLite knows it (the shadow prepared the statement): an internal table
            raise NotSupportedError(f"table {name!r} on table data: not supported yet")
        return found
