"""The SQL Jellyfin sends to SQLite, as test material: the research file's entries, parsed and bound.

``fixtures/jellyfin-queries.sql`` is a copy of the reference research file: 69 statements (or
"[batch]" command texts) Jellyfin issues, Part A against the legacy library.db (10.8-10.10),
Part B against jellyfin.db through EF Core (10.11 / 12.0). ``entries()`` parses it; ``bindings()``
gives the parameters a Part B entry names (``@p0``, ``@filter_AncestorIds``, ...) realistic values
read from a generated Jellyfin 12.0 database (``sqlmite.testing.jellyfin.generate``), chosen so
each statement selects or changes real rows, as it would in Jellyfin. Nothing here reads outside
the package.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Protocol

FIXTURE = "jellyfin-queries.sql"
_SEPARATOR = "-- next"
_HEADER = re.compile(r"^-- \[(\d+)\]\s*(\[batch\]\s*)?(.*)$")
_PART_B = re.compile(r"^-- Part B \(entries (\d+)-(\d+)\)")
# A parameter outside quotes: strings, quoted identifiers and comments are matched first and skipped.
_TOKENS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|[@$:]([A-Za-z_][A-Za-z0-9_]*)")

PLACEHOLDER_ID = "00000000-0000-0000-0000-000000000001"
"""The seed BaseItems row every jellyfin.db has (Type ``PLACEHOLDER``)."""

SERIES = "MediaBrowser.Controller.Entities.TV.Series"
NOW = "2026-08-22 17:14:15.1234567"
"""A DateTime as EF Core stores it (UTC, no ``T``, no ``Z``)."""


@dataclass(frozen=True)
class QueryEntry:
    """One entry of the research file: what Jellyfin sends to SQLite as one command text."""

    number: int
    title: str  # the first comment line, after "[N]" (and "[batch]")
    comment: str  # every comment line of the entry
    sql: str  # the command text, statements in order
    part: str  # "A": legacy library.db; "B": jellyfin.db through EF Core
    batch: bool  # several statements sent as ONE command

    def statements(self) -> list[str]:
        """The command text split into statements, as SQLite would consume it."""
        return split_statements(self.sql)

    def parameters(self) -> list[str]:
        """The named parameters the entry uses, in order of first use, without their prefix."""
        return list(dict.fromkeys(m.group(1) for m in _TOKENS.finditer(self.sql) if m.group(1)))


def split_statements(text: str) -> list[str]:
    """``text`` cut after each complete statement (``sqlite3.complete_statement``), comments kept."""
    out: list[str] = []
    buffer: list[str] = []
    for line in text.splitlines():
        buffer.append(line)
        if sqlite3.complete_statement("\n".join(buffer)):
            out.append("\n".join(buffer).strip())
            buffer = []
    rest = "\n".join(buffer).strip()
    if rest:
        raise ValueError(f"incomplete statement at the end of an entry: {rest[:80]!r}")
    return out


def fixture_text() -> str:
    return (resources.files("sqlmite.testing") / "fixtures" / FIXTURE).read_text(encoding="utf-8")


@cache
def _parse() -> tuple[QueryEntry, ...]:
    text = fixture_text()
    part_b = next((int(m.group(1)) for line in text.splitlines() if (m := _PART_B.match(line))), None)
    if part_b is None:
        raise ValueError(f"{FIXTURE}: no 'Part B (entries N-M)' line in the header")
    out: list[QueryEntry] = []
    for chunk in text.split(f"\n{_SEPARATOR}\n"):
        lines = chunk.strip("\n").splitlines()
        start = next((i for i, line in enumerate(lines) if _HEADER.match(line)), None)
        if start is None:
            raise ValueError(f"{FIXTURE}: an entry without a '-- [N]' header: {chunk[:80]!r}")
        header = _HEADER.match(lines[start])
        assert header is not None
        comments = [lines[start]]
        body = lines[start + 1:]
        while body and body[0].startswith("--"):
            comments.append(body.pop(0))
        number = int(header.group(1))
        out.append(QueryEntry(number=number, title=header.group(3).strip(),
                              comment="\n".join(c.removeprefix("--").strip() for c in comments),
                              sql="\n".join(body).strip(), part="B" if number >= part_b else "A",
                              batch=header.group(2) is not None))
    numbers = [e.number for e in out]
    if numbers != list(range(1, len(out) + 1)):
        raise ValueError(f"{FIXTURE}: entries are not numbered 1..{len(out)}")
    return tuple(out)


def entries() -> list[QueryEntry]:
    """Every entry of the fixture, in order (a fresh list; the entries themselves are immutable)."""
    return list(_parse())


# -- parameters ---------------------------------------------------------------------------------


class _Database(Protocol):
    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Any: ...


def _one(db: _Database, sql: str, *params: Any) -> tuple[Any, ...]:
    row = db.execute(sql, params).fetchone()
    if row is None:
        raise LookupError(f"the database has no row for: {sql}")
    return tuple(row)


def _item_lacking_provider(db: _Database) -> dict[str, Any]:
    """A movie without a Tvdb id: the provider EF would add on a metadata refresh."""
    (item,) = _one(db, 'SELECT "Id" FROM "BaseItems" AS b WHERE "Type" = \'MediaBrowser.Controller.Entities.Movies.Movie\' '
                       'AND NOT EXISTS (SELECT 1 FROM "BaseItemProviders" p WHERE p."ItemId" = b."Id" '
                       'AND p."ProviderId" = \'Tvdb\') ORDER BY "Id" LIMIT 1')
    return {"p0": item, "p1": "Tvdb", "p2": "81189"}


def _activity(db: _Database) -> dict[str, Any]:
    (user,) = _one(db, 'SELECT "Id" FROM "Users" ORDER BY "InternalId" LIMIT 1')
    (item,) = _one(db, 'SELECT "Id" FROM "BaseItems" WHERE "Type" LIKE \'%.Episode\' ORDER BY "Id" LIMIT 1')
    return {"p0": NOW, "p1": item, "p2": 2, "p3": "Playback started", "p4": None, "p5": 0,
            "p6": "Pixel 8", "p7": "VideoPlayback", "p8": user}


def _item_update(db: _Database) -> dict[str, Any]:
    """A full-row save of an existing audio track, renamed (other columns keep their values)."""
    columns = {"p0": "Album", "p1": "AlbumArtists", "p2": "Artists", "p5": "CleanName", "p9": "Data",
               "p10": "DateCreated", "p14": "DateModified", "p27": "IsFolder", "p36": "Name", "p42": "ParentId",
               "p44": "Path", "p48": "PresentationUniqueKey", "p62": "SortName", "p67": "TopParentId",
               "p69": "Type", "p72": "Id"}
    names = ", ".join(f'"{c}"' for c in columns.values())
    row = _one(db, f'SELECT {names} FROM "BaseItems" WHERE "Type" LIKE \'%.Audio.Audio\' ORDER BY "Id" LIMIT 1')
    values = dict(zip(columns, row, strict=True))
    values.update(p5="lost mirror remastered", p36="Lost Mirror (Remastered)", p62="lost mirror remastered",
                  p14=NOW)
    return values


def _user_touch(db: _Database) -> dict[str, Any]:
    user, version = _one(db, 'SELECT "Id", "RowVersion" FROM "Users" ORDER BY "InternalId" LIMIT 1')
    return {"p0": NOW, "p1": version + 1, "p2": user, "p3": version}


def _paged_items(db: _Database) -> dict[str, Any]:
    """The folder with the most items below it whose sort names are unique there, so the page is the
    same under any correct plan (ties in ORDER BY may come back in any order)."""
    (folder,) = _one(db, 'SELECT a."ParentItemId" FROM "AncestorIds" a JOIN "BaseItems" b ON b."Id" = a."ItemId" '
                         'WHERE b."IsFolder" = 0 AND b."IsVirtualItem" = 0 GROUP BY a."ParentItemId" '
                         'HAVING count(*) = count(DISTINCT b."SortName") ORDER BY count(*) DESC, 1 LIMIT 1')
    return {"filter_IsFolder": 0, "isVirtualItem_Value": 0, "filter_AncestorIds": json.dumps([folder]),
            "p": 10, "p0": 5}


def _favorites(db: _Database) -> dict[str, Any]:
    (user,) = _one(db, 'SELECT "UserId" FROM "UserData" GROUP BY 1 ORDER BY sum("IsFavorite") DESC, 1 LIMIT 1')
    return {"UserId": user, "filter_IsFavorite": 1}


def _counts(db: _Database) -> dict[str, Any]:
    return {"seriesTypeName": SERIES, "includeTypeName": SERIES}


def _related(db: _Database) -> dict[str, Any]:
    """Three items with media streams, as the related ids DeleteItem collects (item, versions, extras)."""
    rows = db.execute('SELECT DISTINCT "ItemId" FROM "MediaStreamInfos" ORDER BY 1 LIMIT 3').fetchall()
    return {"relatedItems": json.dumps([r[0] for r in rows])}


def _detach(db: _Database) -> dict[str, Any]:
    (item,) = _one(db, 'SELECT "ItemId" FROM "UserData" GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1')
    return {"date": NOW, "itemId": item}


def _item_value(db: _Database) -> dict[str, Any]:
    """An existing genre: the get-or-create hits the conflict, as it mostly does in a scan."""
    value, clean = _one(db, 'SELECT "Value", "CleanValue" FROM "ItemValues" WHERE "Type" = 2 ORDER BY "Value" LIMIT 1')
    return {"p0": "6F1C1F38-52B1-4B3F-9F0B-6C0D6A7E2A11", "p1": 2, "p2": value, "p3": clean}


_BINDERS: dict[int, Callable[[_Database], dict[str, Any]]] = {
    55: _item_lacking_provider, 56: _activity, 57: _item_update, 58: _user_touch, 59: _paged_items,
    60: _favorites, 61: _counts, 62: _related, 63: _detach, 69: _item_value,
}


def bindings(entry: QueryEntry, db: _Database) -> dict[str, Any]:
    """Values for every parameter ``entry`` names, read from ``db`` (a Jellyfin 12.0 database, e.g.
    a ``sqlite3`` connection to a generated one); ``{}`` for an entry without parameters. Bind the
    same mapping on every connection compared."""
    names = entry.parameters()
    if not names:
        return {}
    binder = _BINDERS.get(entry.number)
    if binder is None:
        raise LookupError(f"no example values for entry {entry.number} (parameters {names})")
    values = binder(db)
    if sorted(values) != sorted(names):
        raise AssertionError(f"entry {entry.number}: bound {sorted(values)}, the SQL names {sorted(names)}")
    return values
