"""Commands that move data: ``migrate``, ``verify``, ``export``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

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
from sqlmite.errors import SqlmiteError
from sqlmite.mapping.ddl import Profile


@app.command()
def migrate(
    source: SourceArgument,
    to: ToOption = None,
    pg_schema: SchemaOption = None,
    profile: ProfileOption = Profile.REPLICA,
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
        settings = settings_from(config, database_url=to, data_dir=data_dir, log_format=log_format)
        with TableProgress(err) as progress:
            result = run_migration(source, settings, pg_schema=pg_schema, profile=profile, backup_dir=backup_dir,
                                   make_backup=not no_backup, jobs=jobs, replace=replace, dry_run=dry_run,
                                   progress=progress)
    except SqlmiteError as exc:
        fail(exc)
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
    source: SourceArgument,
    to: ToOption = None,
    pg_schema: SchemaOption = None,
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
        settings = settings_from(config, database_url=to, data_dir=data_dir, log_format=log_format)
        with err.status("verifying") as status:
            report = verify(source, settings, pg_schema=pg_schema,
                            progress=lambda table: status.update(f"verifying {escape(table)}"))
    except SqlmiteError as exc:
        fail(exc)
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
        settings = settings_from(config, url_flag="--from", database_url=from_url, data_dir=data_dir,
                             log_format=log_format)
        name = pg_schema or settings.schema or default_pg_schema(target)
        with err.status("exporting") as status:
            report = export(settings, target, pg_schema=name, replace=replace,
                            progress=lambda table: status.update(f"exporting {escape(table)}"))
    except SqlmiteError as exc:
        fail(exc)
        return
    if as_json:
        out.print_json(json.dumps(report.as_dict()))
        return
    out.print(f"exported {report.target} schema {report.pg_schema!r} → {report.path}: {report.rows:,} rows in "
              f"{len(report.tables)} tables, {report.size_bytes / 1e6:.1f} MB, {report.seconds:.1f} s "
              f"({report.rows_per_second:,.0f} rows/s, {report.mb_per_second:.1f} MB/s)",
              markup=False, highlight=False, soft_wrap=True)
