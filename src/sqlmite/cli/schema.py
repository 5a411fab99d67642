"""Commands about schema and setup: ``schema``, ``generate``, ``config``."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from sqlmite.api import SchemaResult, create_postgres_schema
from sqlmite.cli.common import (
    ConfigOption,
    DataDirOption,
    JsonOption,
    LogFormatOption,
    ProfileOption,
    SchemaOption,
    SourceArgument,
    ToOption,
    app,
    err,
    fail,
    out,
    settings_from,
)
from sqlmite.config import load_settings
from sqlmite.errors import SqlmiteError
from sqlmite.mapping.ddl import Profile


class JellyfinVersion(str, Enum):
    V12_0 = "12.0"
    V10_11 = "10.11"


@app.command()
def schema(
    source: SourceArgument,
    to: ToOption = None,
    pg_schema: SchemaOption = None,
    profile: ProfileOption = Profile.REPLICA,
    replace: Annotated[bool, typer.Option("--replace", help="Drop and recreate a schema that already exists.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the PostgreSQL DDL; change nothing.")] = False,
    as_json: JsonOption = False,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    log_format: LogFormatOption = None,
) -> None:
    """Create a SQLite database's schema in PostgreSQL (tables, keys, indexes, metadata), no data.

    Example: sqlmite schema jellyfin.db --to postgresql://jellyfin@db/jellyfin
    """
    try:
        settings = settings_from(config, database_url=to, data_dir=data_dir, log_format=log_format)
        result = create_postgres_schema(source, settings, pg_schema=pg_schema, profile=profile, replace=replace,
                                        dry_run=dry_run)
    except SqlmiteError as exc:
        fail(exc)
        return
    if as_json:
        out.print_json(json.dumps(result.as_dict()))
    elif dry_run:
        out.print(result.ddl, markup=False, highlight=False, soft_wrap=True)
        for note in result.notes:
            out.print(f"-- note: {note}", markup=False, highlight=False)
    else:
        _show_schema(result)


def _show_schema(result: SchemaResult) -> None:
    table = Table(title=escape(f"{result.source} → {result.target} schema {result.pg_schema!r} ({result.profile})"))
    table.add_column("SQLite table")
    table.add_column("columns", justify="right")
    table.add_column("PostgreSQL types")
    table.add_column("row identity")
    for t in result.tables:
        types = ", ".join(f"{k}={n}" for k, n in sorted(_count(t.native_types.values()).items()))
        table.add_row(escape(t.name), str(t.columns), types, "_sqlmite_rowid" if t.keeps_rowid else "primary key")
    out.print(table)
    out.print(f"{len(result.tables)} tables, {result.indexes} indexes, {result.statements} schema statements applied.")
    for note in result.notes:
        out.print(f"note: {note}", markup=False, highlight=False)


def _count(values: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    return counts


@app.command()
def generate(
    target: Annotated[Path, typer.Argument(help="The SQLite file to create (must not exist).")],
    items: Annotated[int, typer.Option(help="Library items (100 to 1,000,000).", min=100, max=1_000_000)] = 1000,
    version: Annotated[JellyfinVersion, typer.Option(help="Jellyfin schema version.")] = JellyfinVersion.V12_0,
    seed: Annotated[int, typer.Option(help="Seed; the same seed gives the same database.")] = 0,
) -> None:
    """Generate a Jellyfin-shaped SQLite database with realistic data (for trying sqlmite out)."""
    from sqlmite.testing import generate as make

    if target.exists():
        err.print(f"sqlmite: error: {target} already exists", markup=False)
        raise typer.Exit(2)
    with err.status(f"generating {items} items into {target}"):
        stats = make(target, items, version=version.value, seed=seed)
    out.print(f"{target}: {stats.total:,} rows in {len(stats.rows)} tables, "
              f"{stats.size_bytes / 1e6:.1f} MB, {stats.seconds:.1f} s")


@app.command("config")
def show_config(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Show the effective configuration, where each value came from, and the backend (secrets masked)."""
    try:
        settings = load_settings(config_file=config)
    except SqlmiteError as exc:
        fail(exc)
        return
    rows = settings.describe()
    if as_json:
        out.print_json(json.dumps({"backend": settings.backend, "settings": {k: {"value": v, "source": s}
                                                                             for k, v, s in rows},
                                   "ignored": list(settings.unknown_env)}))
        return
    table = Table(title=f"backend: {settings.backend}")
    for name in ("key", "value", "source"):
        table.add_column(name)
    for key, value, source in rows:
        table.add_row(key, escape(value), source)
    out.print(table)
    for name in settings.unknown_env:
        out.print(f"ignored: {name} is not a sqlmite setting", markup=False, highlight=False)
