"""A Jellyfin-like writer on a Jellyfin 12 database: the application a sync sidecar cannot control.

``python -m sqlmite.testing.workload DB`` runs in its own process and opens the file with the
stdlib ``sqlite3`` module as Jellyfin opens it (foreign keys on, ``synchronous=1``, journal mode
left as the file has it, 60 s busy timeout). It commits a seeded mix of library scans (many rows
in one transaction), playback progress (single-row upserts), deletes (with cascades) and item
updates, then prints one JSON line. ``sqlite3_shell_script`` writes the same kinds of work for
the ``sqlite3`` shell: a writer that is not Python at all. New rows come from the generator's
own row builders, so they look like the rest of a generated library.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import signal
import sqlite3
import time
from contextlib import closing
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlmite.testing._jellyfin_library import (
    ALBUM,
    AUDIO,
    EPISODE,
    MOVIE,
    SEASON,
    SERIES,
    Library,
)
from sqlmite.testing._jellyfin_values import (
    PLACEHOLDER_ID,
    TICKS_PER_SECOND,
    Maker,
    clean_value,
    format_datetime,
    n_format,
    person_name,
    sort_name,
)
from sqlmite.testing.jellyfin import _RowSink, schema_statements

KINDS = ("scan", "progress", "delete", "update")
DEFAULT_MIX = {"scan": 1.0, "progress": 20.0, "delete": 1.0, "update": 3.0}

_ROOT_TYPE = "MediaBrowser.Controller.Entities.AggregateFolder"
_FOLDER_TYPE = "MediaBrowser.Controller.Entities.CollectionFolder"
_LIBRARIES = ("movies", "tvshows", "music")
_LEAVES = f"Type IN ('{MOVIE}', '{EPISODE}', '{AUDIO}')"
_CONTAINERS = f"Type IN ('{SERIES}', '{SEASON}', '{ALBUM}')"
_ITEMS = f"({_LEAVES} OR {_CONTAINERS})"
_PLAYABLE = "MediaType IS NOT NULL AND RunTimeTicks > 0 AND IsVirtualItem = 0"
_PLAYABLE_ITEM = "(SELECT Id, RunTimeTicks, PresentationUniqueKey FROM BaseItems WHERE {})"

# Statements shared by the Python writer (bound parameters) and the shell script (inlined).
_PROGRESS = """INSERT INTO UserData (ItemId, UserId, CustomDataKey, IsFavorite, LastPlayedDate, PlayCount,
    PlaybackPositionTicks, Played)
SELECT b.Id, {user}, COALESCE((SELECT u.CustomDataKey FROM UserData u WHERE u.ItemId = b.Id LIMIT 1),
    b.PresentationUniqueKey, lower(replace(b.Id, '-', ''))),
    0, :now, :plays, CAST(b.RunTimeTicks * :fraction AS INTEGER), :played
FROM {item} AS b WHERE true
ON CONFLICT (ItemId, UserId, CustomDataKey) DO UPDATE SET LastPlayedDate = excluded.LastPlayedDate,
    PlaybackPositionTicks = excluded.PlaybackPositionTicks, PlayCount = PlayCount + excluded.PlayCount,
    Played = max(Played, excluded.Played)"""
_RENAME = ("UPDATE BaseItems SET Name = :name, CleanName = :clean, SortName = :sort, DateModified = :now, "
           "DateLastSaved = :now WHERE Id = {item}")
_REDATE = ("UPDATE BaseItems SET PremiereDate = :premiere, ProductionYear = :year, DateLastRefreshed = :now, "
           "DateLastSaved = :now WHERE Id = {item}")
# Victims are in temp.doomed; their descendants and extras join them. LinkedChildren and OwnerId
# have no ON DELETE action and TrickplayInfos/MediaSegments no FK, so those go first; UserData is
# detached to the placeholder item as Jellyfin 12 does; the rest goes by ON DELETE CASCADE when
# each subtree's top item is deleted.
_DOOMED = "(SELECT Id FROM temp.doomed)"
_EXPAND = (f"INSERT OR IGNORE INTO temp.doomed SELECT ItemId FROM AncestorIds WHERE ParentItemId IN {_DOOMED}",
           f"INSERT OR IGNORE INTO temp.doomed SELECT Id FROM BaseItems WHERE OwnerId IN {_DOOMED}")
_DELETE = (
    f"DELETE FROM LinkedChildren WHERE ChildId IN {_DOOMED} OR ParentId IN {_DOOMED}",
    f"DELETE FROM TrickplayInfos WHERE ItemId IN {_DOOMED}",
    f"DELETE FROM MediaSegments WHERE ItemId IN {_DOOMED}",
    (f"UPDATE OR IGNORE UserData SET ItemId = '{PLACEHOLDER_ID}', RetentionDate = :retention "
     f"WHERE ItemId IN {_DOOMED}"),
    f"DELETE FROM BaseItems WHERE Id IN {_DOOMED} AND (ParentId IS NULL OR ParentId NOT IN {_DOOMED})",
)


def _now(days: float = 0.0) -> str:
    """Wall-clock UTC in EF Core's text form: what Jellyfin writes for 'now'."""
    moment = time.time() + days * 86400
    return format_datetime(int(moment), int(moment % 1 * TICKS_PER_SECOND))


def _play(rng: random.Random) -> dict[str, object]:
    """A progress report (position as a share of the runtime) or, one time in five, a finished play."""
    finished = rng.random() < 0.2
    return {"now": _now(), "plays": int(finished), "played": int(finished),
            "fraction": 0.0 if finished else round(rng.random(), 4)}


def _victims(rng: random.Random) -> str:
    """Mostly single movies, episodes and tracks; sometimes a whole series, season or album."""
    return _CONTAINERS if rng.random() < 0.2 else _LEAVES


def _edit(mk: Maker) -> tuple[str, dict[str, object]]:
    """A rename or a date change, as a metadata edit or refresh saves it."""
    if mk.random() < 0.5:
        name = mk.title()
        return _RENAME, {"name": name, "clean": clean_value(name), "sort": sort_name(name), "now": _now()}
    year = 1950 + mk.below(76)
    return _REDATE, {"premiere": mk.premiere(year), "year": year, "now": _now()}


class _Scanner(Library):
    """A library scan: new items, with all their rows, under an existing library folder."""

    def __init__(self, mk: Maker, sink: _RowSink, user_ids: tuple[str, ...], items: int) -> None:
        super().__init__(mk, sink, "12.0", user_ids, items)
        self._serial = mk.below(1_000_000)  # provider ids (tmdb, imdb...) away from existing ones

    def reuse(self, conn: sqlite3.Connection) -> None:
        """Links existing ItemValues (unique Type+Value) and Peoples instead of adding new ones."""
        self._value_ids.update({(t, v): i for i, t, v in conn.execute(
            "SELECT ItemValueId, Type, Value FROM ItemValues")})
        names = {person_name(i): i for i in range(self._people_pool)}
        sql = f"SELECT Id, Name FROM Peoples WHERE Name IN ({', '.join('?' * len(names))})"
        self._person_ids.update({names[name]: person_id for person_id, name in conn.execute(sql, list(names))})

    def scan(self, library: str, chain: tuple[str, str]) -> None:
        build = {"movies": self._movies, "tvshows": self._shows, "music": self._music}[library]
        build(chain, self.remaining)


class _Connection(sqlite3.Connection):
    """Counts rows changed by the workload's own statements (not cascades, not others' triggers)."""

    changed = 0

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        cursor = super().execute(sql, parameters)
        self.changed += max(cursor.rowcount, 0)
        return cursor

    def executemany(self, sql: str, parameters: Any, /) -> sqlite3.Cursor:
        cursor = super().executemany(sql, parameters)
        self.changed += max(cursor.rowcount, 0)
        return cursor

    def scratch(self, sql: str, parameters: Any = ()) -> None:
        """Bookkeeping in temp tables: not counted."""
        super().execute(sql, parameters)


@dataclass(frozen=True)
class Summary:
    """What a run did: committed transactions and changed rows per kind, and why it stopped."""

    transactions: dict[str, int]
    rows: dict[str, int]
    seconds: float
    stopped_by: str  # "transactions", "seconds", "stop-file" or "signal" (stop() was called)


class Workload:
    """The writer. ``run`` commits transactions until a stop condition; ``stop`` ends it cleanly."""

    def __init__(self, path: str | os.PathLike[str], *, seed: int = 0, mix: dict[str, float] | None = None,
                 scan_size: int = 50, rate: float = 0.0) -> None:
        if not Path(path).is_file():
            raise FileNotFoundError(f"{path}: no such database (the workload writes an existing one)")
        weights = DEFAULT_MIX if mix is None else mix
        if set(weights) - set(KINDS) or min(weights.values(), default=0) < 0 or sum(weights.values()) <= 0:
            raise ValueError(f"mix must give non-negative weights to {', '.join(KINDS)}, not all zero")
        self._weights = [weights.get(kind, 0.0) for kind in KINDS]
        self._scan_size, self._rate, self._stopping = scan_size, rate, False
        self._rng = random.Random(seed)
        self._conn = conn = sqlite3.connect(path, timeout=60.0, isolation_level=None, factory=_Connection)
        for pragma in ("foreign_keys=ON", "locking_mode=NORMAL", "journal_size_limit=134217728",
                       "synchronous=1", "temp_store=2"):
            conn.execute(f"PRAGMA {pragma}")
        conn.scratch("CREATE TEMP TABLE IF NOT EXISTS doomed (Id TEXT PRIMARY KEY)")
        root = conn.execute("SELECT Id FROM BaseItems WHERE Type = ?", (_ROOT_TYPE,)).fetchone()
        self._folders = {kind: (root[0], folder) for folder, kind in conn.execute(
            "SELECT Id, json_extract(Data, '$.CollectionType') FROM BaseItems WHERE Type = ?", (_FOLDER_TYPE,))
            if root and kind in _LIBRARIES}
        self._users = tuple(r[0] for r in conn.execute('SELECT Id FROM Users ORDER BY "InternalId"'))
        if not self._folders or not self._users:
            raise ValueError("no library folders or no users: not a Jellyfin 12 library database")
        # New GUIDs must differ from the generator's and from an earlier run's with the same seed.
        count, top = conn.execute("SELECT count(*), max(rowid) FROM BaseItems").fetchone()
        self._mk = Maker(int.from_bytes(hashlib.sha256(f"{seed}:{count}:{top}".encode()).digest()[:8], "big"))
        self._sink = _RowSink(conn)

    def close(self) -> None:
        self._conn.close()

    def stop(self) -> None:
        """Ends ``run`` after the current transaction; safe from a signal handler or another thread."""
        self._stopping = True

    def run(self, *, seconds: float | None = None, transactions: int | None = None,
            stop_file: str | os.PathLike[str] | None = None) -> Summary:
        """Commits transactions until ``seconds``, ``transactions``, ``stop_file`` or ``stop()``."""
        done, rows = dict.fromkeys(KINDS, 0), dict.fromkeys(KINDS, 0)
        started = due = time.monotonic()
        interval = 1.0 / self._rate if self._rate > 0 else 0.0
        while True:
            elapsed = time.monotonic() - started
            reason = ("signal" if self._stopping else
                      "transactions" if transactions is not None and sum(done.values()) >= transactions else
                      "seconds" if seconds is not None and elapsed >= seconds else
                      "stop-file" if stop_file is not None and Path(stop_file).exists() else "")
            if reason:
                return Summary(done, rows, round(elapsed, 3), reason)
            if time.monotonic() < due:
                time.sleep(min(due - time.monotonic(), 0.05))  # short naps, so stop() is seen
                continue
            due = max(due + interval, time.monotonic() - interval)
            kind = self._rng.choices(KINDS, self._weights)[0]
            before = self._conn.changed
            getattr(self, f"_{kind}")()
            done[kind] += 1
            rows[kind] += self._conn.changed - before

    def _pick(self, where: str) -> tuple[str] | None:
        """A random matching item, found from a random rowid: cheap on any library size."""
        top = self._conn.execute("SELECT max(rowid) FROM BaseItems").fetchone()[0] or 0
        for bound in (self._rng.randint(0, top), 0):
            row = self._conn.execute(f"SELECT Id FROM BaseItems WHERE rowid >= ? AND {where} ORDER BY rowid "
                                     "LIMIT 1", (bound,)).fetchone()
            if row:
                return (row[0],)
        return None

    def _scan(self) -> None:
        library = self._rng.choice(sorted(self._folders))
        with self._conn:  # COMMIT, or ROLLBACK on error
            self._conn.execute("BEGIN IMMEDIATE")  # Microsoft.Data.Sqlite's default
            # The builders write table by table, not parents first: FKs are checked at COMMIT.
            self._conn.execute("PRAGMA defer_foreign_keys = ON")
            scanner = _Scanner(self._mk, self._sink, self._users, self._scan_size)
            scanner.reuse(self._conn)
            scanner.scan(library, self._folders[library])
            self._sink.flush()

    def _progress(self) -> None:
        if picked := self._pick(_PLAYABLE):
            sql = _PROGRESS.format(user=":user", item=_PLAYABLE_ITEM.format("Id = :item"))
            self._conn.execute(sql, {"user": self._rng.choice(self._users), "item": picked[0], **_play(self._rng)})

    def _delete(self) -> None:
        with self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            for _ in range(1 + self._rng.randrange(3)):
                if picked := self._pick(_victims(self._rng)):
                    self._conn.scratch("INSERT OR IGNORE INTO temp.doomed VALUES (?)", picked)
            for sql in _EXPAND:
                self._conn.scratch(sql)
            for sql in _DELETE:
                self._conn.execute(sql, {"retention": _now(30)})
            self._conn.scratch("DELETE FROM temp.doomed")

    def _update(self) -> None:
        if picked := self._pick(_ITEMS):
            sql, params = _edit(self._mk)
            self._conn.execute(sql.format(item=":item"), {"item": picked[0], **params})


# -- the sqlite3 shell writer ------------------------------------------------------------------------

_NEW_GUID = ("(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-' || hex(randomblob(2)) || '-' || "
             "hex(randomblob(2)) || '-' || hex(randomblob(6)))")
_GUID = re.compile(r"^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$")
_PARAM = re.compile(r":([a-z]+)\b")
_ANY_USER = "(SELECT Id FROM Users ORDER BY random() LIMIT 1)"


def _literal(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bytes):
        return f"X'{value.hex().upper()}'"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(value)


def _inline(sql: str, params: dict[str, object]) -> str:
    return _PARAM.sub(lambda m: _literal(params[m.group(1)]), sql) + ";"


def _scan_script(mk: Maker, library: str, items: int) -> list[str]:
    """A scan built by the generator's builders into a scratch schema, rendered as INSERTs.

    No id is a literal: new items get random GUIDs in ``temp.fresh`` (so the script can run
    twice), and the root, library folder, users, item values and people are found by subqueries.
    """
    scratch = sqlite3.connect(":memory:")
    for statement in schema_statements("12.0"):
        if statement.startswith("CREATE"):
            scratch.execute(statement)
    sink = _RowSink(scratch)
    user, root, folder = mk.guid(), mk.guid(), mk.guid()
    _Scanner(mk, sink, (user,), items).scan(library, (root, folder))
    sink.flush()
    new = [r[0] for r in scratch.execute("SELECT Id FROM BaseItems")]
    refs = {root: f"(SELECT Id FROM BaseItems WHERE Type = '{_ROOT_TYPE}')", user: _ANY_USER,
            folder: (f"(SELECT Id FROM BaseItems WHERE Type = '{_FOLDER_TYPE}' "
                     f"AND json_extract(Data, '$.CollectionType') = '{library}')")}
    refs.update({item: f"(SELECT Id FROM temp.fresh WHERE n = {n})" for n, item in enumerate(new)})
    embedded = {n_format(item): f"lower(replace({refs[item]}, '-', ''))" for item in new}
    out = ["DELETE FROM temp.fresh;",
           f"INSERT INTO temp.fresh (n, Id) VALUES {', '.join(f'({n}, {_NEW_GUID})' for n in range(len(new)))};"]
    for value_id, kind, value, clean in scratch.execute("SELECT * FROM ItemValues"):
        refs[value_id] = f"(SELECT ItemValueId FROM ItemValues WHERE Type = {kind} AND Value = {_literal(value)})"
        out.append("INSERT OR IGNORE INTO ItemValues (ItemValueId, Type, Value, CleanValue) "
                   f"VALUES ({_NEW_GUID}, {kind}, {_literal(value)}, {_literal(clean)});")
    for person_id, name, person_type in scratch.execute("SELECT Id, Name, PersonType FROM Peoples"):
        refs[person_id] = f"(SELECT Id FROM Peoples WHERE Name = {_literal(name)} LIMIT 1)"
        out.append(f"INSERT INTO Peoples (Id, Name, PersonType) SELECT {_NEW_GUID}, {_literal(name)}, "
                   f"{_literal(person_type)} WHERE NOT EXISTS (SELECT 1 FROM Peoples WHERE Name = {_literal(name)});")

    def render(value: object) -> str:
        if not isinstance(value, str):
            return _literal(value)
        if value in refs:
            return refs[value]
        if _GUID.match(value):
            return _NEW_GUID  # an image or segment id: any fresh GUID
        text = _literal(value)
        for key, expr in embedded.items():  # PresentationUniqueKey and paths embed item ids
            if key in value:
                text = f"replace({text}, '{key}', {expr})"
        return text

    for (table,) in scratch.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                    "AND name NOT IN ('ItemValues', 'Peoples') ORDER BY name").fetchall():
        cursor = scratch.execute(f'SELECT * FROM "{table}"')
        names = [d[0] for d in cursor.description]
        for row in cursor:
            cells = {f'"{c}"': render(v) for c, v in zip(names, row, strict=True) if v is not None}
            out.append(f'INSERT INTO "{table}" ({", ".join(cells)}) VALUES ({", ".join(cells.values())});')
    scratch.close()
    return out


def sqlite3_shell_script(seed: int, transactions: int) -> str:
    """SQL for ``sqlite3 DB < script``: ``transactions`` transactions of the workload's kinds.

    Scans and deletes are ``BEGIN IMMEDIATE`` … ``COMMIT`` blocks, progress and updates single
    autocommit statements. It assumes only what ``generate`` guarantees (root, library folders,
    users); existing ids are chosen by ``ORDER BY random()`` subqueries, so any generated database
    will do, and so will running the script again. ``.bail on`` stops it at the first error.
    """
    rng, mk = random.Random(seed), Maker(seed ^ 0x5EED_5C41)
    out = ["PRAGMA foreign_keys=ON;", ".timeout 60000", ".bail on", "PRAGMA synchronous=1;",
           "CREATE TEMP TABLE fresh (n INTEGER PRIMARY KEY, Id TEXT NOT NULL);",
           "CREATE TEMP TABLE doomed (Id TEXT PRIMARY KEY);"]
    for _ in range(transactions):
        kind = rng.choices(KINDS, [DEFAULT_MIX[kind] for kind in KINDS])[0]
        if kind == "scan":
            out += ["BEGIN IMMEDIATE;", "PRAGMA defer_foreign_keys = ON;",
                    *_scan_script(mk, rng.choice(_LIBRARIES), 3 + rng.randrange(6)), "COMMIT;"]
        elif kind == "progress":
            item = _PLAYABLE_ITEM.format(f"{_PLAYABLE} ORDER BY random() LIMIT 1")
            out.append(_inline(_PROGRESS.format(user=_ANY_USER, item=item), _play(rng)))
        elif kind == "delete":
            out += ["BEGIN IMMEDIATE;", (f"INSERT OR IGNORE INTO temp.doomed SELECT Id FROM BaseItems "
                                         f"WHERE {_victims(rng)} ORDER BY random() LIMIT {1 + rng.randrange(3)};"),
                    *(f"{sql};" for sql in _EXPAND), *(_inline(sql, {"retention": _now(30)}) for sql in _DELETE),
                    "DELETE FROM temp.doomed;", "COMMIT;"]
        else:
            sql, params = _edit(mk)
            item = f"(SELECT Id FROM BaseItems WHERE {_ITEMS} ORDER BY random() LIMIT 1)"
            out.append(_inline(sql.format(item=item), params))
    return "\n".join(out) + "\n"


# -- command line ----------------------------------------------------------------------------------


def parse_mix(text: str) -> dict[str, float]:
    """``scan=1,progress=20`` → weights; kinds not named get weight 0."""
    mix: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        kind, sep, weight = (s.strip() for s in part.partition("="))
        if not sep or kind not in KINDS:
            raise argparse.ArgumentTypeError(f"bad mix entry {part!r}: expected KIND=WEIGHT, KIND one of {KINDS}")
        mix[kind] = float(weight)
    return mix


def main(argv: list[str] | None = None) -> int:
    """The CLI; with no --seconds, --transactions or --stop-file it runs until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(prog="python -m sqlmite.testing.workload",
                                     description="Jellyfin-like writes on an existing Jellyfin 12 database.")
    parser.add_argument("db", help="the database, e.g. one made by sqlmite.testing.generate")
    parser.add_argument("--seconds", type=float, help="stop after this many seconds")
    parser.add_argument("--transactions", type=int, help="stop after this many transactions")
    parser.add_argument("--seed", type=int, default=0, help="seed of every choice (default 0)")
    parser.add_argument("--mix", type=parse_mix, default=DEFAULT_MIX, help="default scan=1,progress=20,delete=1,update=3")
    parser.add_argument("--rate", type=float, default=0.0, help="transactions per second (default 0: unpaced)")
    parser.add_argument("--scan-size", type=int, default=50, help="new items per scan transaction (default 50)")
    parser.add_argument("--stop-file", help="stop once this path exists")
    args = parser.parse_args(argv)
    signalled: list[int] = []  # handlers go in first: a SIGTERM during start-up still exits 0
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda number, _: signalled.append(number))
    workload = Workload(args.db, seed=args.seed, mix=args.mix, scan_size=args.scan_size, rate=args.rate)
    with closing(workload):
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: workload.stop())
        if signalled:
            workload.stop()
        summary = workload.run(seconds=args.seconds, transactions=args.transactions, stop_file=args.stop_file)
    print(json.dumps(asdict(summary)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
