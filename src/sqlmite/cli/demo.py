"""``sqlmite demo``: a Jellyfin-shaped database under sync while a writer changes it, then a
restore into a new file that verifies equal."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from typing import Annotated

import typer

from sqlmite.cli.common import DataDirOption, app, err, fail, out, settings_from
from sqlmite.errors import SqlmiteError

SCHEMA = "jellyfin_demo"


@app.command()
def demo(
    data_dir: DataDirOption = None,
    items: Annotated[int, typer.Option(help="Library items to generate.", min=20, max=1_000_000)] = 2000,
    seconds: Annotated[float, typer.Option(help="How long the writer writes while sync runs.", min=1)] = 5.0,
) -> None:
    """Try sqlmite in one step: sync a live Jellyfin-shaped database into PostgreSQL, then restore it.

    1. generate a Jellyfin 12 database (WAL, as Jellyfin keeps it); 2. `restore` loads it into
    PostgreSQL (first install) and installs change capture; 3. `sync` runs while a separate
    writer process scans, plays, updates and deletes, as Jellyfin would; 4. the sidecar stops
    with its final flush; 5. `restore` rebuilds the database from PostgreSQL into a new file;
    6. `verify` proves the live file and the rebuilt one each equal PostgreSQL.

    Uses the embedded PostgreSQL unless one is configured; files go under <data-dir>/demo.
    Exit code 0 only if both verifications match.
    """
    from sqlmite.api import verify
    from sqlmite.sync import Sidecar, restore, sync_status
    from sqlmite.testing import generate as make

    def say(text: str) -> None:
        out.print(text, markup=False, highlight=False, soft_wrap=True)

    try:
        settings = settings_from(None, data_dir=data_dir)
        work = settings.data_dir / "demo"
        (work / "rebuilt").mkdir(parents=True, exist_ok=True)
        for leftover in [*work.glob("*.db*"), *(work / "rebuilt").glob("*.db*")]:
            leftover.unlink()
        live, rebuilt = work / "jellyfin.db", work / "rebuilt" / "jellyfin.db"
        with err.status(f"generating a Jellyfin-shaped database with {items} items"):
            stats = make(live, items)
            _wal(live)
        say(f"1. generated {live}: {stats.total:,} rows in {len(stats.rows)} tables ({stats.size_bytes / 1e6:.1f} MB)")
        _forget(settings)
        with err.status("restore: loading the file into PostgreSQL"):
            first = restore(live, settings, pg_schema=SCHEMA)
        say(f"2. restore: {first.action} ({first.reason}), {first.rows:,} rows in {first.seconds:.1f} s")

        sidecar = Sidecar(live, settings, pg_schema=SCHEMA)
        stop, attached = threading.Event(), threading.Event()
        outcome: list[bool] = []
        thread = threading.Thread(target=lambda: outcome.append(sidecar.run(stop, attached.set)), daemon=True)
        thread.start()
        attached.wait(120)
        writer = subprocess.Popen([sys.executable, "-m", "sqlmite.testing.workload", str(live), "--seconds",
                                   str(seconds), "--scan-size", "20"], stdout=subprocess.PIPE, text=True)
        say(f"3. sync running; a writer process changes the database for {seconds:g} s:")
        while writer.poll() is None:
            time.sleep(1)
            s = sidecar.status
            say(f"   applied {s.counts['changes']:,} changes in {s.counts['batches']:,} batches, "
                f"backlog {s.backlog:,}, lag {s.lag():.2f} s")
        wrote = json.loads((writer.stdout.read() if writer.stdout else "{}").strip().splitlines()[-1])
        say(f"   the writer committed {sum(wrote['transactions'].values()):,} transactions "
            f"({', '.join(f'{n:,} {k}' for k, n in wrote['transactions'].items())})")
        stop.set()
        thread.join(120)
        status = sync_status(live, settings, pg_schema=SCHEMA)
        say(f"4. sync stopped after its final flush: backlog {status.backlog}, "
            f"PostgreSQL has applied change {status.applied_seq:,}")
        with err.status("restore: rebuilding the database from PostgreSQL"):
            second = restore(rebuilt, settings, pg_schema=SCHEMA)
        say(f"5. restore into an empty directory: {second.action}, {second.rows:,} rows in {second.seconds:.1f} s")
        with err.status("verifying"):
            checks = [(path, verify(path, settings, pg_schema=SCHEMA)) for path in (live, rebuilt)]
        for path, report in checks:
            say(f"6. verify {path} against PostgreSQL: {'everything matches' if report.ok else 'DIFFERENCES'}")
    except SqlmiteError as exc:
        fail(exc)
        return
    raise typer.Exit(0 if outcome == [True] and all(r.ok for _, r in checks) else 1)


def _wal(path: object) -> None:
    """Jellyfin keeps its database in WAL mode (set when EF Core creates it)."""
    import apsw

    conn = apsw.Connection(str(path))
    conn.execute("PRAGMA journal_mode=WAL").fetchall()
    conn.close()


def _forget(settings: object) -> None:
    """A fresh demo: drop what an earlier run left in PostgreSQL."""
    from sqlmite.backend import ConnectionManager, resolve_params
    from sqlmite.backend.schema import drop_schema

    with ConnectionManager(settings, params=resolve_params(settings)) as manager:  # type: ignore[arg-type]
        with manager.connection() as pg, pg.transaction():
            drop_schema(pg, SCHEMA)
