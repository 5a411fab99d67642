"""PRAGMAs through the driver: schema ones answered by the shadow (SQLite itself), the database's
(``user_version``, ``application_id``, ``journal_mode``) kept in sqlmite's metadata, the
connection's emulated (``translate/pragmas.py``), the checks answered from PostgreSQL's guarantees."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlmite.dbapi.result import Result
from sqlmite.mapping.expressions import quote_ident
from sqlmite.translate.errors import NotSupportedError

if TYPE_CHECKING:
    from sqlmite.dbapi.engine import Engine

PRAGMAS_FROM_SCHEMA = {"table_info", "table_xinfo", "index_list", "index_info", "index_xinfo", "foreign_key_list"}


def run_pragma(engine: Engine, sql: str, name: str, value: str | None) -> Result:
    """``PRAGMA name [= value]`` as SQLite answers it (translate/pragmas.py keeps the per-connection ones)."""
    if name == "foreign_keys":
        if value is None:
            return Result.of((("foreign_keys", None),), [(int(engine.foreign_keys),)])
        if not engine.in_transaction:  # SQLite ignores it inside a transaction
            engine.foreign_keys = str(value).lower() in ("1", "on", "true", "yes")
        return Result()
    if name in ("user_version", "application_id") and value is not None:
        with engine._statement(write=True):
            engine.shadow.conn.execute(sql)
            engine.pg.execute(f"UPDATE sqlmite.databases SET {name} = %s WHERE schema_name = %s",
                            (int(engine.shadow.pragma(name)), engine.pg_schema))
        return Result()
    if engine.connection_pragmas.handles(name):
        before = engine.connection_pragmas.journal_mode
        description, rows = engine.connection_pragmas.run(name, value)
        if engine.connection_pragmas.journal_mode != before:  # the database's, as in its file
            engine.pg.execute("UPDATE sqlmite.databases SET journal_mode = %s WHERE schema_name = %s",
                            (engine.connection_pragmas.journal_mode, engine.pg_schema))
            engine.pragmas["journal_mode"] = engine.connection_pragmas.journal_mode
        return Result.of(description, rows) if description else Result()
    if name in ("integrity_check", "quick_check") and value is None:
        # Storage integrity is PostgreSQL's (checksums, WAL); the rows SQLite checks against the
        # schema (NOT NULL, CHECK, UNIQUE) are enforced by PostgreSQL's constraints.
        return Result.of(((name, None),), [("ok",)])
    if name == "foreign_key_check" and value is None:
        return _foreign_key_check(engine)
    if name == "compile_options":
        description, rows = engine.shadow.run(sql)  # the SQLite whose answers sqlmite gives
        return Result.of(description, rows)
    if name in PRAGMAS_FROM_SCHEMA or (name in ("user_version", "application_id") and value is None):
        description, rows = engine.shadow.run(sql)
        return Result.of(description, rows)
    raise NotSupportedError(f"PRAGMA {name}: not supported yet")

def _foreign_key_check(engine: Engine) -> Result:
    """No row can violate a foreign key PostgreSQL validated; one it has not (a migration kept
    it NOT VALID) may hide violations, which only SQLite's own scan would list."""
    unchecked = engine.pg.execute(
        "SELECT conname FROM pg_constraint WHERE contype = 'f' AND NOT convalidated AND connamespace = "
        "%s::regnamespace", (quote_ident(engine.pg_schema),)).fetchall()
    if unchecked:
        raise NotSupportedError(f"PRAGMA foreign_key_check: foreign key {unchecked[0][0]!r} is not validated in "
                                "PostgreSQL; listing its violations is not supported yet")
    return Result.of((("table", None), ("rowid", None), ("parent", None), ("fkid", None)), [])
