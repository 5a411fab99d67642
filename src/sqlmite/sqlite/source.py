"""A SQLite file as a source: opened through SQLite, checked, backed up online, never touched.

The source is read only through SQLite (never copied as a file, its ``-wal``/``-shm`` never
handled by hand), so an application may keep writing to it in WAL mode while it migrates. The
backup uses SQLite's online backup API in one step: a consistent snapshot, taken under a read
lock, that the parallel loaders then read without seeing later writes.
"""

from __future__ import annotations

import time
from pathlib import Path

import apsw

from sqlmite.errors import SourceError

BUSY_TIMEOUT_MS = 5000


def open_source(path: str | Path, *, readonly: bool = True) -> apsw.Connection:
    """Open a SQLite file for reading, with one clear error for each way that can fail."""
    path = Path(path)
    if not path.exists():
        raise SourceError(f"cannot open {str(path)!r}: no such file")
    if path.is_dir():
        raise SourceError(f"cannot open {str(path)!r}: it is a directory")
    flags = apsw.SQLITE_OPEN_READONLY if readonly else apsw.SQLITE_OPEN_READWRITE
    try:
        conn = apsw.Connection(str(path), flags=flags)
        conn.set_busy_timeout(BUSY_TIMEOUT_MS)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchall()
    except apsw.NotADBError:
        raise SourceError(f"{str(path)!r} is not a SQLite database") from None
    except apsw.CorruptError as exc:
        raise SourceError(f"{str(path)!r} is corrupt: {exc}") from None
    except apsw.BusyError:
        raise SourceError(f"{str(path)!r} is locked by another process (waited {BUSY_TIMEOUT_MS // 1000} s)") from None
    except apsw.CantOpenError:
        raise SourceError(f"cannot open {str(path)!r}: not readable") from None
    return conn


def check_integrity(conn: apsw.Connection, path: str | Path) -> None:
    """``PRAGMA quick_check``: a truncated or damaged file is refused before anything is written."""
    try:
        result = [row[0] for row in conn.execute("PRAGMA quick_check")]
    except (apsw.CorruptError, apsw.NotADBError) as exc:
        raise SourceError(f"{str(path)!r} is corrupt: {exc}") from None
    except apsw.IOError as exc:
        raise SourceError(f"{str(path)!r} cannot be read to the end (truncated?): {exc}") from None
    if result != ["ok"]:
        raise SourceError(f"{str(path)!r} is corrupt: {'; '.join(result[:3])}")


def backup(conn: apsw.Connection, source: str | Path, backup_dir: Path) -> Path:
    """Copy ``conn``'s database with SQLite's online backup API into ``backup_dir``; return the file.

    One ``step(-1)`` copies every page under a single read lock: the copy is one consistent
    snapshot even while the application writes, and the source file is only read.
    """
    backup_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    target = backup_dir / f"{Path(source).stem}-{stamp}.db"
    n = 1
    while target.exists():
        n += 1
        target = backup_dir / f"{Path(source).stem}-{stamp}-{n}.db"
    partial = target.with_suffix(".db.partial")
    dest = apsw.Connection(str(partial))
    try:
        with dest.backup("main", conn, "main") as job:
            job.step(-1)
    except apsw.Error as exc:
        dest.close()
        partial.unlink(missing_ok=True)
        raise SourceError(f"backup of {str(source)!r} failed: {exc}") from None
    dest.close()
    partial.rename(target)
    return target
