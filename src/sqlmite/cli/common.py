"""What every command shares: the Typer app, consoles, common options, settings and failure."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from sqlmite import __version__
from sqlmite.config import Settings, load_settings
from sqlmite.errors import ConfigError, SqlmiteError
from sqlmite.mapping.ddl import Profile
from sqlmite.observe.log import event, setup_logging

app = typer.Typer(
    help="sqlmite: SQLite applications keep speaking SQLite; their data lives in PostgreSQL.\n\n"
    "With no server configured, every command uses a private embedded PostgreSQL "
    "(kept in --data-dir). Configure a real one with --to / SQLMITE_DATABASE_URL, a config file, "
    "or the usual PG* variables. See docs/configuration.md.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # click rewraps docstring paragraphs to the terminal width
)
out = Console()
err = Console(stderr=True)
log = logging.getLogger("sqlmite.cli")


ConfigOption = Annotated[Path | None, typer.Option("--config", help="TOML config file (also SQLMITE_CONFIG).")]
DataDirOption = Annotated[Path | None, typer.Option("--data-dir", help="Embedded PostgreSQL's data directory.")]
LogFormatOption = Annotated[str | None, typer.Option("--log-format", help="text or json.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print a machine-readable JSON summary.")]
SourceArgument = Annotated[Path, typer.Argument(help="The SQLite database (read through SQLite; never modified).")]
ToOption = Annotated[str | None, typer.Option("--to", help="PostgreSQL URL; default: configured or embedded.")]
SchemaOption = Annotated[str | None, typer.Option("--schema", help="PostgreSQL schema; default: the file's stem.")]
ProfileOption = Annotated[Profile, typer.Option(help="replica (sync target) or primary (driver).")]


def settings_from(config: Path | None, url_flag: str = "--to", **cli: Any) -> Settings:
    settings = load_settings(cli=cli, config_file=config, flags={"database_url": url_flag})
    setup_logging(settings.log_format, settings.log_level)
    for name in settings.unknown_env:
        event(log, f"{name} is not a sqlmite setting and is ignored (see sqlmite config)", logging.WARNING)
    return settings


def fail(exc: SqlmiteError) -> None:
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
