"""Connection PRAGMAs an application or ORM issues, answered as SQLite answers them.

They tune SQLite's own file and memory handling, which PostgreSQL does for itself; sqlmite keeps
each setting per connection so a later read returns what was set, with SQLite's result shape
(some return a row when set, some nothing). ``journal_mode`` is the database's and is kept in
sqlmite's metadata, so ``export`` writes the file in that mode.

=====================  ===========================  ==================  ======================
PRAGMA                 values                       default             a set returns
=====================  ===========================  ==================  ======================
journal_mode           delete truncate persist      the database's      the new mode
                       memory wal off
locking_mode           normal exclusive             normal              the new mode
journal_size_limit     integer                      -1                  the new limit
synchronous            0-3 / OFF NORMAL FULL EXTRA  2                   nothing
temp_store             0-2 / DEFAULT FILE MEMORY    0                   nothing
cache_size             integer                      -2000               nothing
busy_timeout           milliseconds                 5000                the new timeout
recursive_triggers     boolean                      0                   nothing
wal_checkpoint[(m)]    PASSIVE FULL RESTART         (nothing to do)     (0, 0, 0) in WAL mode
                       TRUNCATE
optimize, shrink_memory                             (no effect)         nothing
=====================  ===========================  ==================  ======================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlmite.translate.errors import NotSupportedError

ENUMS = {
    "synchronous": {"off": 0, "normal": 1, "full": 2, "extra": 3},
    "temp_store": {"default": 0, "file": 1, "memory": 2},
    "journal_mode": {m: m for m in ("delete", "truncate", "persist", "memory", "wal", "off")},
    "locking_mode": {"normal": "normal", "exclusive": "exclusive"},
}
BOOLEANS = {"1": 1, "on": 1, "true": 1, "yes": 1, "0": 0, "off": 0, "false": 0, "no": 0}
RETURNS_ON_SET = {"journal_mode", "locking_mode", "journal_size_limit", "busy_timeout"}
COLUMN = {"busy_timeout": "timeout"}


@dataclass
class ConnectionPragmas:
    journal_mode: str = "delete"
    values: dict[str, Any] = field(default_factory=lambda: {
        "locking_mode": "normal", "journal_size_limit": -1, "synchronous": 2, "temp_store": 0,
        "cache_size": -2000, "busy_timeout": 5000, "recursive_triggers": 0})

    def handles(self, name: str) -> bool:
        return name in self.values or name in ("journal_mode", "wal_checkpoint", "optimize", "shrink_memory",
                                               "case_sensitive_like")

    def run(self, name: str, value: str | None) -> tuple[list[tuple[str, None]], list[tuple[Any, ...]]]:
        """(description, rows) for ``PRAGMA name [= value]``."""
        if name == "wal_checkpoint":
            rows = [(0, 0, 0)] if self.journal_mode == "wal" else [(0, -1, -1)]
            return [("busy", None), ("log", None), ("checkpointed", None)], rows
        if name == "optimize":
            return [("optimize", None)], []
        if name == "shrink_memory":
            return [], []
        if name == "case_sensitive_like":
            if value is not None and BOOLEANS.get(value.strip("'\"").lower()) == 1:
                raise NotSupportedError("PRAGMA case_sensitive_like = ON: LIKE is translated case-insensitively")
            return [], []
        column = [(COLUMN.get(name, name), None)]
        if value is None:
            return column, [(self.journal_mode if name == "journal_mode" else self.values[name],)]
        parsed = self._parse(name, value.strip("'\"").lower())
        if name == "journal_mode":
            self.journal_mode = parsed
        else:
            self.values[name] = parsed
        return (column, [(parsed,)]) if name in RETURNS_ON_SET else ([], [])

    @staticmethod
    def _parse(name: str, text: str) -> Any:
        if name in ENUMS:
            if text in ENUMS[name]:
                return ENUMS[name][text]
            if text.lstrip("-").isdigit() and name in ("synchronous", "temp_store"):
                return int(text)
            raise NotSupportedError(f"PRAGMA {name} = {text}")
        if name == "recursive_triggers":
            return BOOLEANS.get(text, 0)
        try:
            return int(text)
        except ValueError:
            raise NotSupportedError(f"PRAGMA {name} = {text}") from None
