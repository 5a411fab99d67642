"""What one statement gives the cursor: sqlite3's description, rows, rowcount."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlmite.mapping.values import SqliteValue


@dataclass
class Result:
    description: tuple[tuple[str, None, None, None, None, None, None], ...] | None = None
    rows: list[tuple[SqliteValue, ...]] = field(default_factory=list)
    rowcount: int = -1
    decltypes: list[str | None] = field(default_factory=list)
    returning: bool = False  # RETURNING rows: sqlite3 counts the changes once they are all fetched

    @classmethod
    def of(cls, columns: Any, rows: list[tuple[SqliteValue, ...]]) -> Result:
        """A result set: ``columns`` are (name, declared type, ...) as SQLite describes them."""
        return cls(description_of(columns), rows, -1, [c[1] if len(c) > 1 else None for c in columns or ()])


def description_of(columns: Any) -> tuple[tuple[str, None, None, None, None, None, None], ...] | None:
    if not columns:
        return None
    return tuple((name, None, None, None, None, None, None) for name, *_ in columns)

