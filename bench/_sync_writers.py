"""The application side of bench/sync.py: Jellyfin-like writers, each run in a process of its own.

    python bench/_sync_writers.py '{"mode": "batch", "path": "...", ...}'

prints one JSON line with what it did and how long it took, timed by the writer itself (from
its first statement to its last COMMIT; opening the file and building rows happen before the
clock starts). The file is opened as Jellyfin opens it: Python's stdlib ``sqlite3`` (its own
SQLite build, not APSW's), WAL mode as the file has it, ``synchronous = NORMAL``, foreign keys
on, a busy timeout, and each multi-row transaction as ``BEGIN IMMEDIATE`` ... ``COMMIT`` (what
Microsoft.Data.Sqlite's ``BeginTransaction()`` issues). Nothing here imports sqlmite: the writer
must not know whether change capture is installed.

Modes:

* ``batch``: ``transactions`` x ``rows`` new BaseItems rows (the widest Jellyfin table: 72
  columns, 27 indexes besides its primary key, 2 foreign keys), built from existing items as templates with new ids,
  names, paths and dates, one ``BEGIN IMMEDIATE`` transaction per ``rows``.
* ``single``: ``count`` playback-progress updates of UserData by primary key, each its own
  autocommit transaction (``PlaybackPositionTicks``, ``LastPlayedDate``).
* ``steady``: for ``seconds``, every ``interval`` seconds one transaction of ``rows`` new
  ActivityLogs rows whose ``DateCreated`` is the wall time just before the transaction (UTC, EF
  Core's text form, microseconds): the lag probe. Ticks are on an absolute schedule, so a slow
  commit is caught up by the following ones rather than lowering the rate.
* ``burst``: like ``batch`` (or ActivityLogs rows with ``table``), as fast as it can, and says
  the wall time of its first BEGIN and of its last COMMIT's return, and the change log's top
  after it (when the file has one).
"""

from __future__ import annotations

import datetime as dt
import json
import random
import sqlite3
import sys
import time
import uuid
from typing import Any

BUSY_TIMEOUT_S = 60.0  # as Jellyfin's writer: a sync trim or checkpoint must never fail a write
TEMPLATES = 500
_LEAF_TYPES = ("MediaBrowser.Controller.Entities.Movies.Movie", "MediaBrowser.Controller.Entities.TV.Episode",
               "MediaBrowser.Controller.Entities.Audio.Audio")


def open_like_jellyfin(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
    mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    if mode.lower() != "wal":
        raise SystemExit(f"{path} is in {mode} journal mode, not WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def ef_datetime(unix: float) -> str:
    """EF Core's DateTime text (``yyyy-MM-dd HH:mm:ss.FFFFFFF``, UTC), to the microsecond."""
    text = dt.datetime.fromtimestamp(unix, dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return text.rstrip("0").rstrip(".")


def new_guid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4)).upper()


# --------------------------------------------------------------------------------------------
# Row builders.


class BaseItemRows:
    """New BaseItems rows shaped like the file's own leaf items (same parents, so the FKs hold)."""

    def __init__(self, conn: sqlite3.Connection, seed: int) -> None:
        self.columns = [r[1] for r in conn.execute('PRAGMA table_info("BaseItems")')]
        marks = ", ".join("?" * len(self.columns))
        self.sql = f'INSERT INTO "BaseItems" ({", ".join(f"{chr(34)}{c}{chr(34)}" for c in self.columns)}) ' \
                   f"VALUES ({marks})"
        placeholders = ", ".join("?" * len(_LEAF_TYPES))
        self.templates = conn.execute(f'SELECT * FROM "BaseItems" WHERE "Type" IN ({placeholders}) ORDER BY "Id" '
                                      f"LIMIT {TEMPLATES}", _LEAF_TYPES).fetchall()
        if not self.templates:
            raise SystemExit("no leaf BaseItems to use as templates")
        self.at = {c: i for i, c in enumerate(self.columns)}
        self.rng = random.Random(f"sqlmite bench writer {seed}")  # not the generator's stream
        self.n = 0

    def make(self, count: int) -> list[tuple[Any, ...]]:
        rows = []
        now = ef_datetime(time.time())
        at = self.at
        for _ in range(count):
            self.n += 1
            row = list(self.templates[self.n % len(self.templates)])
            guid = new_guid(self.rng)
            name = f"Bench item {self.n} {guid[:8]}"
            row[at["Id"]] = guid
            for column, value in (("Name", name), ("SortName", name.lower()), ("CleanName", name.lower()),
                                  ("ForcedSortName", None), ("OriginalTitle", name),
                                  ("PresentationUniqueKey", guid.replace("-", "").lower()),
                                  ("DateCreated", now), ("DateLastSaved", now), ("DateModified", now),
                                  ("DateLastRefreshed", now)):
                if column in at:
                    row[at[column]] = value
            if row[at["Path"]] is not None:
                row[at["Path"]] = f"/media/bench/{self.n}/{guid}.mkv"
            rows.append(tuple(row))
        return rows


class ActivityLogRows:
    COLUMNS = ("Name", "Overview", "ShortOverview", "Type", "UserId", "ItemId", "DateCreated", "LogSeverity",
               "RowVersion")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.users = [r[0] for r in conn.execute('SELECT "Id" FROM "Users" ORDER BY "Id"')] or [str(uuid.UUID(int=0))]
        self.sql = (f'INSERT INTO "ActivityLogs" ({", ".join(chr(34) + c + chr(34) for c in self.COLUMNS)}) '
                    f"VALUES ({', '.join('?' * len(self.COLUMNS))})")
        self.n = 0

    def make(self, count: int, unix: float) -> list[tuple[Any, ...]]:
        when = ef_datetime(unix)
        rows = []
        for _ in range(count):
            self.n += 1
            user = self.users[self.n % len(self.users)]
            rows.append((f"Bench user is playing item {self.n}", None, "IP address: 192.168.1.77",
                         "VideoPlayback", user, None, when, 2, 0))
        return rows


def log_top(conn: sqlite3.Connection) -> int | None:
    if conn.execute("SELECT count(*) FROM sqlite_master WHERE name = '_sqlmite_changes'").fetchone()[0] == 0:
        return None
    return conn.execute("SELECT coalesce(max(seq), 0) FROM _sqlmite_changes").fetchone()[0]


# --------------------------------------------------------------------------------------------
# Modes.


def batch(conn: sqlite3.Connection, spec: dict[str, Any]) -> dict[str, Any]:
    maker = BaseItemRows(conn, spec.get("seed", 0))
    transactions, per = spec["transactions"], spec["rows"]
    prepared = [maker.make(per) for _ in range(transactions)]  # built before the clock starts
    times = []
    started = time.perf_counter()
    for rows in prepared:
        t = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(maker.sql, rows)
        conn.execute("COMMIT")
        times.append(time.perf_counter() - t)
    seconds = time.perf_counter() - started
    return {"rows": transactions * per, "transactions": transactions, "seconds": seconds,
            "transaction_seconds": times}


def single(conn: sqlite3.Connection, spec: dict[str, Any]) -> dict[str, Any]:
    keys = conn.execute('SELECT "ItemId", "UserId", "CustomDataKey" FROM "UserData" ORDER BY 1, 2, 3').fetchall()
    if not keys:
        raise SystemExit("UserData is empty")
    rng = random.Random(spec.get("seed", 0))
    count = spec["count"]
    base = time.time()
    work = [(rng.randrange(1, 72_000_000_000), ef_datetime(base + i / 1000), *keys[rng.randrange(len(keys))])
            for i in range(count)]
    sql = ('UPDATE "UserData" SET "PlaybackPositionTicks" = ?, "LastPlayedDate" = ? '
           'WHERE "ItemId" = ? AND "UserId" = ? AND "CustomDataKey" = ?')
    started = time.perf_counter()
    for params in work:
        conn.execute(sql, params)  # autocommit: one transaction per statement
    seconds = time.perf_counter() - started
    return {"rows": count, "transactions": count, "seconds": seconds}


def steady(conn: sqlite3.Connection, spec: dict[str, Any]) -> dict[str, Any]:
    maker = ActivityLogRows(conn)
    interval, per, duration = spec["interval"], spec["rows"], spec["seconds"]
    ticks = round(duration / interval)
    commit_times = []
    late = 0
    first_id = last_id = None
    start_wall = time.time()
    start = time.monotonic()
    for k in range(ticks):
        due = start + k * interval
        now = time.monotonic()
        if now < due:
            time.sleep(due - now)
        elif now - due > interval:
            late += 1
        t0 = time.monotonic()
        rows = maker.make(per, time.time())
        conn.execute("BEGIN IMMEDIATE")
        cur = conn.executemany(maker.sql, rows)
        last_id = conn.execute("SELECT last_insert_rowid()").fetchone()[0]
        conn.execute("COMMIT")
        commit_times.append(time.monotonic() - t0)
        if first_id is None:
            first_id = last_id - per + 1
        del cur
    elapsed = time.monotonic() - start
    commit_times.sort()
    return {"rows": ticks * per, "transactions": ticks, "seconds": elapsed, "start_wall": start_wall,
            "first_id": first_id, "last_id": last_id, "late_ticks": late,
            "commit_p50": commit_times[len(commit_times) // 2],
            "commit_p99": commit_times[int(len(commit_times) * 0.99)],
            "commit_max": commit_times[-1], "log_top": log_top(conn)}


def burst(conn: sqlite3.Connection, spec: dict[str, Any]) -> dict[str, Any]:
    transactions, per = spec["transactions"], spec["rows"]
    if spec.get("table", "BaseItems") == "BaseItems":
        base = BaseItemRows(conn, spec.get("seed", 1))
        sql, make = base.sql, lambda: base.make(per)
    else:
        logs = ActivityLogRows(conn)
        sql, make = logs.sql, lambda: logs.make(per, time.time())
    first_begin = None
    started = time.perf_counter()
    for _ in range(transactions):
        rows = make()
        if first_begin is None:
            first_begin = time.time()
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(sql, rows)
        conn.execute("COMMIT")
    last_commit = time.time()
    seconds = time.perf_counter() - started
    return {"rows": transactions * per, "transactions": transactions, "seconds": seconds,
            "first_begin_wall": first_begin, "last_commit_wall": last_commit, "log_top": log_top(conn)}


MODES = {"batch": batch, "single": single, "steady": steady, "burst": burst}


def main() -> None:
    spec = json.loads(sys.argv[1])
    conn = open_like_jellyfin(spec["path"])
    try:
        result = MODES[spec["mode"]](conn, spec)
    finally:
        conn.close()
    result["sqlite_version"] = sqlite3.sqlite_version
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
