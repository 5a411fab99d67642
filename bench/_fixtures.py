"""What every measured step of bench/migrate.py stands on: the run's own databases and the source file.

Shared by the migrate runs and by the anchors: creating and dropping PostgreSQL databases,
CHECKPOINT, generating the Jellyfin-shaped SQLite file (cached in the work directory), and reading
it into the page cache before a step.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

# --------------------------------------------------------------------------------------------
# PostgreSQL: the run's own databases.


def with_dbname(dsn: str, dbname: str) -> str:
    return make_conninfo(dsn, dbname=dbname)


def admin(dsn: str) -> psycopg.Connection[Any]:
    return psycopg.connect(dsn, autocommit=True)


def create_database(dsn: str, name: str) -> str:
    with admin(dsn) as pg:
        pg.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return with_dbname(dsn, name)


def drop_database(dsn: str, name: str) -> None:
    with admin(dsn) as pg:
        pg.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def checkpoint(dsn: str) -> None:
    """Start each measurement with no dirty buffers left over by the previous one."""
    try:
        with admin(dsn) as pg:
            pg.execute("CHECKPOINT")
    except psycopg.Error:
        pass


# --------------------------------------------------------------------------------------------
# The source: a Jellyfin-shaped database, cached.


_GENERATE_CHILD = r"""
import json, sys
from sqlmite.testing.jellyfin import generate
spec = json.loads(sys.argv[1])
stats = generate(spec["path"], spec["items"], seed=spec["seed"])
print(json.dumps({"items": spec["items"], "seed": spec["seed"], "rows": dict(stats.rows), "seconds": stats.seconds}))
"""


def ensure_source(workdir: Path, items: int, seed: int) -> tuple[Path, dict[str, int], float | None]:
    """The cached generated file for (items, seed), its row counts, and the generation seconds (None if cached).

    Generation runs in a subprocess: this process's peak RSS is inherited by every child it starts
    (ru_maxrss survives fork and exec), so it must stay small for the children's figures to mean anything.
    """
    path = workdir / f"jellyfin-12.0-items{items}-seed{seed}.db"
    meta = path.with_suffix(".json")
    if path.is_file() and meta.is_file():
        return path, json.loads(meta.read_text())["rows"], None
    partial = workdir / f".{path.name}.{os.getpid()}.partial"
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{partial}{suffix}").unlink(missing_ok=True)
    done = subprocess.run([sys.executable, "-c", _GENERATE_CHILD,
                           json.dumps({"path": str(partial), "items": items, "seed": seed})],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"generating {items} items failed:\n{done.stderr[-4000:]}")
    stats = json.loads(done.stdout.strip().splitlines()[-1])
    os.replace(partial, path)
    meta.write_text(json.dumps(stats))
    return path, stats["rows"], stats["seconds"]


def warm(path: Path) -> float:
    """Read ``path`` once so that every measured step starts with the source in the OS page cache.

    Without this the first reader pays for the disk and the others do not (on this kind of VM the
    page cache is also reclaimed quickly: a cold quick_check of the 1.7 GB file took 22 s, warm 1.5 s).
    """
    started = time.monotonic()
    with open(path, "rb", buffering=0) as f:
        while f.read(8 << 20):
            pass
    return time.monotonic() - started
