"""Writes to ``sqlite_sequence`` (migrations reset it: ``UPDATE sqlite_sequence SET seq = 0 ...``).

PostgreSQL keeps the table as ``sqlmite.sequence`` rows. SQLite runs the statement itself: the
shadow's ``sqlite_sequence`` is filled with the database's rows inside a savepoint, the statement
runs there (its WHERE, affinity and errors are SQLite's), and the rows it leaves replace the
database's, in the statement's transaction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlmite.dbapi.result import Result
from sqlmite.translate.errors import NotSupportedError, from_sqlite

if TYPE_CHECKING:
    from sqlmite.dbapi.engine import Engine

import apsw


def write_sequence(engine: Engine, sql: str) -> Result:
    shadow = engine.shadow.conn
    rows = engine.pg.execute("SELECT name, seq FROM sqlmite.sequence WHERE schema_name = %s ORDER BY name",
                             (engine.pg_schema,)).fetchall()
    shadow.execute("SAVEPOINT sqlmite_sequence")
    try:
        shadow.execute("DELETE FROM main.sqlite_sequence")
        shadow.executemany("INSERT INTO main.sqlite_sequence (name, seq) VALUES (?, ?)", rows)
        try:
            shadow.execute(sql)
        except apsw.Error as exc:
            raise from_sqlite(exc) from None
        changed = shadow.changes()
        inserted = shadow.last_insert_rowid() if sql.lstrip()[:6].upper() in ("INSERT", "REPLAC") else None
        after = list(shadow.execute("SELECT name, seq FROM main.sqlite_sequence"))
    finally:
        shadow.execute("ROLLBACK TO sqlmite_sequence")
        shadow.execute("RELEASE sqlmite_sequence")
    for name, seq in after:
        if not isinstance(name, str) or not isinstance(seq, int):
            raise NotSupportedError(f"sqlite_sequence row ({name!r}, {seq!r}): only a table name and an integer "
                                    "can be kept")
    if len({name for name, _ in after}) != len(after):
        raise NotSupportedError("sqlite_sequence with two rows for one table: sqlmite keeps one per table")
    with engine._statement(write=True):
        engine.pg.execute("DELETE FROM sqlmite.sequence WHERE schema_name = %s", (engine.pg_schema,))
        with engine.pg.cursor() as cursor:
            cursor.executemany("INSERT INTO sqlmite.sequence (schema_name, name, seq) VALUES (%s, %s, %s)",
                               [(engine.pg_schema, name, seq) for name, seq in after])
    engine._count(changed)
    if inserted is not None:  # the sqlite_sequence row's rowid, as SQLite reports it
        engine.last_insert_rowid = inserted
    return Result(None, [], changed)
