"""sqlmite's Python API: each function is what one CLI command does, so the two cannot drift.

    >>> from sqlmite.api import create_postgres_schema, migrate
    >>> result = create_postgres_schema("jellyfin.db")           # embedded PostgreSQL by default
    >>> result.pg_schema, len(result.tables)
    >>> migrate("jellyfin.db", replace=True).rows                 # sqlmite migrate jellyfin.db --replace
    >>> verify("jellyfin.db").ok                                  # sqlmite verify jellyfin.db
    >>> export(None, "copy.db", pg_schema="jellyfin").rows        # sqlmite export copy.db --schema jellyfin
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from sqlmite.backend import ConnectionManager, resolve_params
from sqlmite.backend.schema import install_schema
from sqlmite.config import Settings, load_settings
from sqlmite.errors import BackendError
from sqlmite.mapping.ddl import Profile, SchemaPlan, default_pg_schema, plan_schema
from sqlmite.migrate import ExportReport, MigrateResult, VerifyReport, export, migrate, verify
from sqlmite.sqlite.schema import SqliteSchema, read_schema
from sqlmite.sqlite.source import open_source


__all__ = ["ExportReport", "MigrateResult", "SchemaResult", "VerifyReport", "create_postgres_schema", "export",
           "migrate", "read_sqlite_schema", "verify"]


@dataclass
class TableSummary:
    name: str
    pg_name: str
    columns: int
    native_types: dict[str, str]  # column → PostgreSQL type
    keeps_rowid: bool


@dataclass
class SchemaResult:
    """What ``sqlmite schema`` did: the plan, and where it went (``target`` is None on a dry run)."""

    source: str
    pg_schema: str
    profile: str
    target: str | None
    tables: list[TableSummary]
    indexes: int
    statements: int
    notes: list[str] = field(default_factory=list)
    ddl: str = ""

    def as_dict(self) -> dict[str, object]:
        return {
            "source": self.source, "pg_schema": self.pg_schema, "profile": self.profile, "target": self.target,
            "tables": [t.__dict__ for t in self.tables], "indexes": self.indexes, "statements": self.statements,
            "notes": self.notes,
        }


def read_sqlite_schema(path: str | Path) -> SqliteSchema:
    """The schema of a SQLite file, read through SQLite inside one read transaction."""
    conn = open_source(path)
    try:
        with conn:  # one snapshot, even while the application writes (WAL)
            return read_schema(conn)
    finally:
        conn.close()


def create_postgres_schema(
    path: str | Path,
    settings: Settings | None = None,
    *,
    pg_schema: str | None = None,
    profile: Profile = Profile.REPLICA,
    replace: bool = False,
    dry_run: bool = False,
) -> SchemaResult:
    """Map a SQLite file's schema and create it (tables, keys, indexes, metadata) in PostgreSQL."""
    settings = settings or load_settings()
    schema = read_sqlite_schema(path)
    name = pg_schema or settings.schema or default_pg_schema(path)
    plan = plan_schema(schema, name, profile)
    target = None
    if not dry_run:
        with ConnectionManager(settings, params=resolve_params(settings)) as manager:
            target = manager.target
            try:
                with manager.connection() as conn:
                    install_schema(conn, schema, plan, str(path), replace=replace)
            except psycopg.OperationalError as exc:  # the server went away mid-way: nothing was committed
                raise BackendError(f"lost {target} while creating the schema (nothing was committed): "
                                   f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    return _summary(str(path), plan, schema, target)


def _summary(source: str, plan: SchemaPlan, schema: SqliteSchema, target: str | None) -> SchemaResult:
    tables = [
        TableSummary(t.name, t.pg_name, len(t.columns), {c.name: c.pg_type.base for c in t.columns}, t.keeps_rowid)
        for t in plan.tables
    ]
    return SchemaResult(source, plan.pg_schema, plan.profile.value, target, tables, len(schema.indexes),
                        len(plan.statements()), plan.notes, plan.script())
