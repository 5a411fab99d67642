"""The ``sqlmite`` command line: thin commands over ``sqlmite.api``.

Exit codes (docs/cli.md): 0 success, 1 unexpected failure, 2 invalid configuration or usage,
3 PostgreSQL unreachable or refusing us, 4 SQLite source unreadable, 5 schema not expressible,
6 a value that cannot be stored faithfully, 7 target already holds data.
"""

from __future__ import annotations

import json
import logging
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sqlmite import __version__
from sqlmite.api import SchemaResult, create_postgres_schema
from sqlmite.config import Settings, load_settings
from sqlmite.errors import ConfigError, SqlmiteError
from sqlmite.mapping.ddl import Profile
from sqlmite.observe.log import setup_logging

app = typer.Typer(
    help="sqlmite: SQLite applications keep speaking SQLite; their data lives in PostgreSQL.\n\n"
    "With no server configured, every command uses a private embedded PostgreSQL "
    "(kept in --data-dir). Configure a real one with --to / SQLMITE_DATABASE_URL, a config file, "
    "or the usual PG* variables. See docs/configuration.md.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)
log = logging.getLogger("sqlmite.cli")

class JellyfinVersion(str, Enum):
    V12_0 = "12.0"
    V10_11 = "10.11"


ConfigOption = Annotated[Path | None, typer.Option("--config", help="TOML config file (also SQLMITE_CONFIG).")]
DataDirOption = Annotated[Path | None, typer.Option("--data-dir", help="Embedded PostgreSQL's data directory.")]
LogFormatOption = Annotated[str | None, typer.Option("--log-format", help="text or json.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print a machine-readable JSON summary.")]


def _settings(config: Path | None, url_flag: str = "--to", **cli: Any) -> Settings:
    settings = load_settings(cli=cli, config_file=config, flags={"database_url": url_flag})
    setup_logging(settings.log_format, settings.log_level)
    return settings


def _fail(exc: SqlmiteError) -> None:
    label = "configuration error" if isinstance(exc, ConfigError) else "error"
    err.print(f"sqlmite: {label}: {exc}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(exc.exit_code)


@app.callback(invoke_without_command=True)
def main_options(
    version: Annotated[bool, typer.Option("--version", help="Show the version and exit.")] = False,
) -> None:
    if version:
        out.print(f"sqlmite {__version__}")
        raise typer.Exit(0)


@app.command()
def schema(
    source: Annotated[Path, typer.Argument(help="The SQLite database file (read only, never modified).")],
    to: Annotated[str | None, typer.Option("--to", help="PostgreSQL URL; default: configured or embedded.")] = None,
    pg_schema: Annotated[str | None, typer.Option("--schema", help="PostgreSQL schema; default: the file's stem.")] = None,
    profile: Annotated[Profile, typer.Option(help="replica (sync target) or primary (driver).")] = Profile.REPLICA,
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
        settings = _settings(config, database_url=to, data_dir=data_dir, log_format=log_format)
        result = create_postgres_schema(source, settings, pg_schema=pg_schema, profile=profile, replace=replace,
                                        dry_run=dry_run)
    except SqlmiteError as exc:
        _fail(exc)
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


@app.command()
def demo(
    data_dir: DataDirOption = None,
    items: Annotated[int, typer.Option(help="Library items to generate.", min=100)] = 2000,
) -> None:
    """Try sqlmite in one step: a Jellyfin-shaped database, its schema created in PostgreSQL, shown.

    Uses the embedded PostgreSQL unless one is configured; files go under the data directory.
    """
    from sqlmite.testing import generate as make

    try:
        settings = _settings(None, data_dir=data_dir)
        work = settings.data_dir / "demo"
        work.mkdir(parents=True, exist_ok=True)
        source = work / "jellyfin.db"
        for leftover in work.glob("jellyfin.db*"):
            leftover.unlink()
        with err.status(f"generating a Jellyfin-shaped database with {items} items"):
            stats = make(source, items)
        out.print(f"generated {source}: {stats.total:,} rows in {len(stats.rows)} tables")
        result = create_postgres_schema(source, settings, pg_schema="jellyfin_demo", replace=True)
    except SqlmiteError as exc:
        _fail(exc)
        return
    _show_schema(result)


@app.command()
def migrate(
    source: Annotated[Path, typer.Argument(help="The SQLite database (read through SQLite; never modified).")],
    to: Annotated[str | None, typer.Option("--to", help="PostgreSQL URL; default: configured or embedded.")] = None,
    pg_schema: Annotated[str | None, typer.Option("--schema", help="PostgreSQL schema; default: the file's stem.")] = None,
    profile: Annotated[Profile, typer.Option(help="replica (sync target) or primary (driver).")] = Profile.REPLICA,
    backup_dir: Annotated[Path | None, typer.Option(help="Where the online backup goes (default: <data-dir>/backups).")] = None,
    no_backup: Annotated[bool, typer.Option("--no-backup", help="Skip the backup (then one loader, and no resume).")] = False,
    jobs: Annotated[int | None, typer.Option(help="Tables loaded in parallel (default: the number of cores).", min=1)] = None,
    replace: Annotated[bool, typer.Option("--replace", help="Drop what the target schema holds and migrate again.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the DDL and a per-column type report; write nothing.")] = False,
    as_json: JsonOption = False,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    log_format: LogFormatOption = None,
) -> None:
    """Move a SQLite database into PostgreSQL: backup, schema, every row by binary COPY, keys, indexes.

    Safe while the application keeps writing (WAL): the data is one consistent snapshot. If
    interrupted, run the same command again: it resumes without duplicating rows. Prove the
    result with `sqlmite verify`.

    Example: sqlmite migrate /config/data/jellyfin.db --to postgresql://jellyfin@db/jellyfin
    """
    from sqlmite.migrate import migrate as run_migration
    from sqlmite.observe.progress import TableProgress

    try:
        settings = _settings(config, database_url=to, data_dir=data_dir, log_format=log_format)
        with TableProgress(err) as progress:
            result = run_migration(source, settings, pg_schema=pg_schema, profile=profile, backup_dir=backup_dir,
                                   make_backup=not no_backup, jobs=jobs, replace=replace, dry_run=dry_run,
                                   progress=progress)
    except SqlmiteError as exc:
        _fail(exc)
        return
    if dry_run:
        _show_dry_run(result, as_json)
    elif as_json:
        out.print_json(json.dumps(result.as_dict()))
    else:
        rate = result.rows / result.seconds if result.seconds else 0
        out.print(f"migrated {result.source} → {result.target} schema {result.pg_schema!r}: {result.rows:,} rows "
                  f"in {len(result.loaded)} tables, {result.seconds:.1f} s ({rate:,.0f} rows/s)"
                  + (f"; {len(result.skipped)} tables were already loaded" if result.skipped else ""),
                  markup=False, highlight=False, soft_wrap=True)
        if result.backup:
            out.print(f"backup: {result.backup}", markup=False, highlight=False, soft_wrap=True)
        for note in result.plan.notes:
            out.print(f"note: {note}", markup=False, highlight=False, soft_wrap=True)


def _show_dry_run(result: Any, as_json: bool) -> None:
    report = [
        {"table": t.name, "rows": t.rows, "columns": [
            {"name": c.name, "declared_type": c.declared_type,
             "pg_type": result.plan.table(t.name).columns[i].pg_type.base,
             "classes": {k.value.lower(): v for k, v in c.counts.items() if v}}
            for i, c in enumerate(t.columns)]}
        for t in result.scan.tables
    ]
    if as_json:
        out.print_json(json.dumps({"ddl": result.plan.script(), "tables": report, "notes": result.plan.notes}))
        return
    out.print(result.plan.script(), markup=False, highlight=False, soft_wrap=True)
    table = Table(title="type report: storage classes each column holds")
    for name in ("table", "column", "declared", "PostgreSQL", "values by storage class"):
        table.add_column(name)
    for t in report:
        for c in t["columns"]:
            classes = ", ".join(f"{k} {v:,}" for k, v in c["classes"].items()) or "(empty)"
            table.add_row(escape(t["table"]), escape(c["name"]), escape(c["declared_type"]), c["pg_type"], classes)
    out.print(table)
    for note in result.plan.notes:
        out.print(f"-- note: {note}", markup=False, highlight=False)


@app.command("verify")
def verify_command(
    source: Annotated[Path, typer.Argument(help="The SQLite database (read through SQLite; never modified).")],
    to: Annotated[str | None, typer.Option("--to", help="PostgreSQL URL; default: configured or embedded.")] = None,
    pg_schema: Annotated[str | None, typer.Option("--schema", help="PostgreSQL schema; default: the file's stem.")] = None,
    as_json: JsonOption = False,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    log_format: LogFormatOption = None,
) -> None:
    """Prove that PostgreSQL holds exactly what a SQLite file holds, storage classes included.

    Compares every row, the schema, user_version, application_id, sqlite_sequence and
    sqlite_stat1; each side is checksummed on its own (the file as one snapshot, even while the
    application writes). Exit code 0 when everything matches; 1 when something differs, with a table of what
    differs and the first differing row keys.

    Example: sqlmite verify jellyfin.db --to postgresql://jellyfin@db/jellyfin
    """
    from sqlmite.migrate.verify import verify

    try:
        settings = _settings(config, database_url=to, data_dir=data_dir, log_format=log_format)
        with err.status("verifying") as status:
            report = verify(source, settings, pg_schema=pg_schema,
                            progress=lambda table: status.update(f"verifying {escape(table)}"))
    except SqlmiteError as exc:
        _fail(exc)
        return
    if as_json:
        out.print_json(json.dumps(report.as_dict()))
    else:
        _show_verify(report)
    raise typer.Exit(0 if report.ok else 1)


def _show_verify(report: Any) -> None:
    what = f"{report.source} and {report.target} schema {report.pg_schema!r}"
    rate = f"{report.rows:,} rows in {len(report.tables)} tables, {report.seconds:.1f} s ({report.rows_per_second:,.0f} rows/s)"
    if report.ok:
        out.print(f"{what}: everything matches; {rate}", markup=False, highlight=False, soft_wrap=True)
        return
    table = Table(title=escape(f"{what} differ"))
    for name in ("what", "SQLite", "PostgreSQL", "first differing rows"):
        table.add_column(name)
    for m in report.metadata:
        if not m.match:
            table.add_row(escape(m.name), escape(m.sqlite), escape(m.pg), "")
    for t in report.tables:
        if not t.match:
            rows = "; ".join(f"{d.describe()} ({d.kind})" for d in t.first_differences) or (t.note or "")
            table.add_row(escape(f"table {t.name}"), _rows(t.rows_sqlite), _rows(t.rows_pg), escape(rows))
    out.print(table)
    out.print(f"checked {rate}", markup=False, highlight=False)


def _rows(n: int | None) -> str:
    return "(missing)" if n is None else f"{n:,} rows"


@app.command("export")
def export_command(
    target: Annotated[Path, typer.Argument(help="The SQLite file to write (must not exist unless --replace).")],
    from_url: Annotated[str | None, typer.Option("--from", help="PostgreSQL URL; default: configured or embedded.")] = None,
    pg_schema: Annotated[str | None, typer.Option(
        "--schema", help="PostgreSQL schema to export; default: the schema setting, else TARGET's stem.")] = None,
    replace: Annotated[bool, typer.Option("--replace", help="Overwrite TARGET if it exists.")] = False,
    as_json: JsonOption = False,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    log_format: LogFormatOption = None,
) -> None:
    """Rebuild a SQLite file from PostgreSQL: the same schema, pragmas and rows, storage classes included.

    The first argument is the file to write; PostgreSQL is named with --from (in every other
    command --to names PostgreSQL, so it never names a file here). The file is written under a
    temporary name and renamed when complete; an existing TARGET is refused with exit code 7
    unless --replace. Check the result with `sqlmite verify TARGET --schema NAME`.

    Example: sqlmite export jellyfin.db --from postgresql://jellyfin@db/jellyfin --schema jellyfin
    """
    from sqlmite.mapping.ddl import default_pg_schema
    from sqlmite.migrate.export import export

    try:
        settings = _settings(config, url_flag="--from", database_url=from_url, data_dir=data_dir,
                             log_format=log_format)
        name = pg_schema or settings.schema or default_pg_schema(target)
        with err.status("exporting") as status:
            report = export(settings, target, pg_schema=name, replace=replace,
                            progress=lambda table: status.update(f"exporting {escape(table)}"))
    except SqlmiteError as exc:
        _fail(exc)
        return
    if as_json:
        out.print_json(json.dumps(report.as_dict()))
        return
    out.print(f"exported {report.target} schema {report.pg_schema!r} → {report.path}: {report.rows:,} rows in "
              f"{len(report.tables)} tables, {report.size_bytes / 1e6:.1f} MB, {report.seconds:.1f} s "
              f"({report.rows_per_second:,.0f} rows/s, {report.mb_per_second:.1f} MB/s)",
              markup=False, highlight=False, soft_wrap=True)


@app.command("config")
def show_config(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Show the effective configuration, where each value came from, and the backend (secrets masked)."""
    try:
        settings = load_settings(config_file=config)
    except SqlmiteError as exc:
        _fail(exc)
        return
    rows = settings.describe()
    if as_json:
        out.print_json(json.dumps({"backend": settings.backend, "settings": {k: {"value": v, "source": s}
                                                                             for k, v, s in rows}}))
        return
    table = Table(title=f"backend: {settings.backend}")
    for name in ("key", "value", "source"):
        table.add_column(name)
    for key, value, source in rows:
        table.add_row(key, escape(value), source)
    out.print(table)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("sqlmite: interrupted")
        sys.exit(130)
