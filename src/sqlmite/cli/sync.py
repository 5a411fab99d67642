"""Commands that keep a live application's file and PostgreSQL together: ``restore``, ``sync``, ``status``."""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from prometheus_client import CollectorRegistry
from rich.table import Table

from sqlmite.cli.common import (
    ConfigOption,
    DataDirOption,
    JsonOption,
    LogFormatOption,
    SchemaOption,
    ToOption,
    app,
    fail,
    out,
    settings_from,
)
from sqlmite.errors import SqlmiteError
from sqlmite.observe.log import event

log = logging.getLogger("sqlmite.sync")

LiveFile = Annotated[Path, typer.Argument(help="The application's SQLite database (e.g. /config/data/jellyfin.db).")]
FromOption = Annotated[str | None, typer.Option("--from", help="PostgreSQL URL; default: configured or embedded.")]


@app.command()
def restore(
    file: LiveFile,
    from_url: FromOption = None,
    pg_schema: SchemaOption = None,
    prefer: Annotated[str | None, typer.Option(
        help="When the file and PostgreSQL hold different histories: which one wins (postgres or sqlite).")] = None,
    as_json: JsonOption = False,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    log_format: LogFormatOption = None,
) -> None:
    """Make the file and PostgreSQL agree before the application starts (the init container).

    Decides from both sides and never guesses: file missing → rebuilt from PostgreSQL;
    PostgreSQL empty → the file is loaded into it; both, same history → the file is kept (or
    rebuilt when it is an older copy); both, different histories → refused with exit code 8
    unless --prefer postgres|sqlite (a replaced file is kept as FILE.sqlmite-replaced-<time>);
    neither → nothing to do, exit 0. The file gets change capture installed, so `sqlmite sync`
    misses nothing the application writes before it attaches.

    Example: sqlmite restore /config/data/jellyfin.db --from postgresql://jellyfin@db/jellyfin
    """
    from sqlmite.sync.restore import restore as run_restore

    if prefer not in (None, "postgres", "sqlite"):
        fail(_usage("--prefer", "must be postgres or sqlite"))
    try:
        settings = settings_from(config, url_flag="--from", database_url=from_url, data_dir=data_dir,
                                 log_format=log_format)
        result = run_restore(file, settings, pg_schema=pg_schema, prefer=prefer)  # type: ignore[arg-type]
    except SqlmiteError as exc:
        fail(exc)
        return
    if as_json:
        out.print_json(json.dumps(result.as_dict()))
        return
    rows = f", {result.rows:,} rows" if result.rows is not None else ""
    out.print(f"restore: {result.action} ({result.reason}){rows}", markup=False, highlight=False, soft_wrap=True)
    if result.replaced:
        out.print(f"the replaced file was kept as {result.replaced}", markup=False, highlight=False, soft_wrap=True)


@app.command()
def sync(
    file: LiveFile,
    to: ToOption = None,
    pg_schema: SchemaOption = None,
    listen: Annotated[str, typer.Option(help="Where /metrics, /healthz and /readyz are served: host:port or :port.")]
    = ":9187",
    grace: Annotated[float, typer.Option(help="Seconds the final flush may take after SIGTERM.", min=0)] = 20.0,
    ready_lag: Annotated[float, typer.Option(help="/readyz fails while the lag exceeds this many seconds.", min=0)]
    = 30.0,
    poll_interval: Annotated[float, typer.Option(help="Seconds between checks for new commits.", min=0.001)] = 0.005,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    log_format: LogFormatOption = None,
) -> None:
    """Apply every committed change of a live SQLite file to PostgreSQL, until stopped (the sidecar).

    Installs change-capture triggers and a change log in the file (plain SQL, run by the
    application's own SQLite), wakes within milliseconds of each commit, and applies all
    changes of one snapshot in one PostgreSQL transaction with its position: exactly once, even
    after a crash. Schema changes (new tables, EF Core rebuilds, ALTER TABLE) reload PostgreSQL
    from a snapshot. The file must be in WAL mode; it is only read and appended to, never
    checkpointed, copied or moved. On SIGTERM: one final flush, then exit 0 (1 if the flush
    could not finish within --grace). If the file does not exist yet, waits for it.

    Example: sqlmite sync /config/data/jellyfin.db --to postgresql://jellyfin@db/jellyfin
    """
    from sqlmite.observe.http import HealthServer
    from sqlmite.observe.metrics import SyncMetrics, register_pool
    from sqlmite.sync.sidecar import Sidecar, SyncOptions

    try:
        settings = settings_from(config, database_url=to, data_dir=data_dir, log_format=log_format)
        registry = CollectorRegistry()
        metrics = SyncMetrics(registry)
        sidecar = Sidecar(file, settings, pg_schema=pg_schema, metrics=metrics,
                          options=SyncOptions(poll_interval=poll_interval, ready_lag=ready_lag))
        register_pool(sidecar, registry)
        server = HealthServer(listen, registry, sidecar.ready)
    except SqlmiteError as exc:
        fail(exc)
        return
    event(log, "serving /metrics, /healthz and /readyz", port=server.port)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            return
        event(log, "stopping: final flush", signal=signal.Signals(signum).name, grace_seconds=grace)
        stop.set()
        # A PostgreSQL call that hangs must not keep the pod past its grace period.
        watchdog = threading.Timer(grace + 2.0, lambda: os._exit(1))
        watchdog.daemon = True
        watchdog.start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        flushed = sidecar.run(stop, grace=grace)
    except SqlmiteError as exc:
        fail(exc)
        return
    finally:
        server.close()
    raise typer.Exit(0 if flushed else 1)


@app.command()
def status(
    file: LiveFile,
    dsn: Annotated[str | None, typer.Argument(help="PostgreSQL URL; default: configured or embedded.")] = None,
    pg_schema: SchemaOption = None,
    as_json: JsonOption = False,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    log_format: LogFormatOption = None,
) -> None:
    """Where sync stands: lineage of both sides, change-log backlog, lag, last apply. Changes nothing.

    Example: sqlmite status /config/data/jellyfin.db postgresql://jellyfin@db/jellyfin --json
    """
    from sqlmite.sync.status import sync_status

    try:
        settings = settings_from(config, url_flag="DSN", database_url=dsn, data_dir=data_dir, log_format=log_format)
        report = sync_status(file, settings, pg_schema=pg_schema)
    except SqlmiteError as exc:
        fail(exc)
        return
    if as_json:
        out.print_json(json.dumps(report.as_dict()))
        return
    table = Table(title=f"sync status of {file}", show_header=False)
    table.add_column("what")
    table.add_column("value")
    for key, value in report.as_dict().items():
        table.add_row(key.replace("_", " "), "-" if value is None else str(value))
    out.print(table)


def _usage(option: str, problem: str) -> SqlmiteError:
    from sqlmite.errors import ConfigError

    return ConfigError(option, problem)
