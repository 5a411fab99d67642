"""``sqlmite demo``: the whole round trip on a generated Jellyfin-shaped database."""

from __future__ import annotations

from typing import Annotated

import typer

from sqlmite.cli.common import DataDirOption, app, err, fail, out, settings_from
from sqlmite.errors import SqlmiteError


@app.command()
def demo(
    data_dir: DataDirOption = None,
    items: Annotated[int, typer.Option(help="Library items to generate.", min=20, max=1_000_000)] = 2000,
) -> None:
    """Try sqlmite in one step: migrate a Jellyfin-shaped database, verify it, export it back, verify that.

    Uses the embedded PostgreSQL unless one is configured; files go under the data directory
    (<data-dir>/demo). Exit code 0 only if both verifications match.
    """
    from sqlmite.api import export, migrate, verify
    from sqlmite.testing import generate as make

    def say(text: str) -> None:
        out.print(text, markup=False, highlight=False, soft_wrap=True)

    try:
        settings = settings_from(None, data_dir=data_dir)
        work = settings.data_dir / "demo"
        work.mkdir(parents=True, exist_ok=True)
        for leftover in work.glob("*.db*"):
            leftover.unlink()
        source, copy = work / "jellyfin.db", work / "jellyfin-exported.db"
        with err.status(f"generating a Jellyfin-shaped database with {items} items"):
            stats = make(source, items)
        say(f"1. generated {source}: {stats.total:,} rows in {len(stats.rows)} tables ({stats.size_bytes / 1e6:.1f} MB)")
        with err.status("migrating"):
            moved = migrate(source, settings, pg_schema="jellyfin_demo", backup_dir=work / "backups", replace=True)
        say(f"2. migrated into {moved.target} schema 'jellyfin_demo': {moved.rows:,} rows, {moved.seconds:.1f} s")
        with err.status("verifying"):
            first = verify(source, settings, pg_schema="jellyfin_demo")
        say(f"3. verify {source.name} against PostgreSQL: {'everything matches' if first.ok else 'DIFFERENCES'}")
        with err.status("exporting"):
            exported = export(settings, copy, pg_schema="jellyfin_demo", replace=True)
        say(f"4. exported PostgreSQL back to {copy}: {exported.rows:,} rows, {exported.seconds:.1f} s")
        with err.status("verifying the export"):
            second = verify(copy, settings, pg_schema="jellyfin_demo")
        say(f"5. verify {copy.name} against PostgreSQL: {'everything matches' if second.ok else 'DIFFERENCES'}")
    except SqlmiteError as exc:
        fail(exc)
        return
    raise typer.Exit(0 if first.ok and second.ok else 1)
