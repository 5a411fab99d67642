"""After the data: keys, indexes, CHECKs, statistics, then foreign keys, then "complete".

PostgreSQL builds one index at a time per session, so tables are finished on several
connections at once (threads: the work happens in the server, psycopg waits without the GIL),
each table in one transaction together with its ANALYZE and its ``keys_done`` mark, so an
interrupted finish resumes without adding a key twice. Foreign keys come last, in one
transaction: each is added ``NOT VALID`` and then validated; one that existing rows violate
(SQLite allows that when enforcement was off) stays ``NOT VALID``, enforced for new rows, and
is reported in a note.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg

from sqlmite.backend import ConnectionManager
from sqlmite.backend.ddl import execute_ddl
from sqlmite.errors import BackendError, UnsupportedSchemaError
from sqlmite.mapping.ddl import SchemaPlan, Statement
from sqlmite.mapping.expressions import quote_ident
from sqlmite.migrate.rows import pg_table
from sqlmite.migrate.state import finish_migration, keys_done, mark_keys_done

# Index builds sort whole tables; more memory makes them in-memory sorts.
MAINTENANCE_WORK_MEM = "256MB"


def finish(manager: ConnectionManager, plan: SchemaPlan, workers: int,
           lost: Callable[[psycopg.Error, str], BackendError]) -> list[str]:
    """Finish every table, then the foreign keys; return notes about foreign keys left NOT VALID."""
    name = plan.pg_schema
    per_table: dict[str, list[Statement]] = {t.name: [] for t in plan.tables}
    foreign_keys = []
    for statement in plan.post_data:
        if statement.table is not None and statement.constraint is None:
            per_table[statement.table].append(statement)
        else:
            foreign_keys.append(statement)
    with manager.connection() as pg:
        done = keys_done(pg, name)
    todo = [(table, statements) for table, statements in per_table.items() if table not in done]

    def finish_table(item: tuple[str, list[Statement]]) -> None:
        table, statements = item
        with manager.connection() as pg, _reported(name, f"table {table!r}", lost):
            with pg.transaction():
                pg.execute(f"SET LOCAL maintenance_work_mem = '{MAINTENANCE_WORK_MEM}'")
                for statement in statements:
                    execute_ddl(pg, statement.sql, obj=statement.obj)
                pg.execute(f"ANALYZE {pg_table(name, plan.table(table))}")
                mark_keys_done(pg, name, table)

    with ThreadPoolExecutor(max(1, workers)) as pool:
        list(pool.map(finish_table, todo))
    notes = []
    with manager.connection() as pg, _reported(name, "foreign keys", lost):
        with pg.transaction():
            for statement in foreign_keys:
                execute_ddl(pg, statement.sql, obj=statement.obj)
            for statement in foreign_keys:
                if statement.constraint is not None and not _validated(pg, plan, statement):
                    notes.append(f"{statement.obj}: existing rows violate it; PostgreSQL enforces it for new "
                                 "rows only (NOT VALID)")
            finish_migration(pg, name)
    return notes


def _validated(pg: psycopg.Connection[Any], plan: SchemaPlan, statement: Statement) -> bool:
    assert statement.table is not None and statement.constraint is not None
    qtable = pg_table(plan.pg_schema, plan.table(statement.table))
    try:
        with pg.transaction():  # a savepoint: a failed validation leaves the rest intact
            pg.execute(f"ALTER TABLE {qtable} VALIDATE CONSTRAINT {quote_ident(statement.constraint)}")
    except psycopg.errors.ForeignKeyViolation:
        return False
    return True


class _reported:
    """Turn PostgreSQL failures of a finishing step into one line each, with the right exit code."""

    def __init__(self, name: str, step: str, lost: Callable[[psycopg.Error, str], BackendError]) -> None:
        self.name, self.step, self.lost = name, step, lost

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if isinstance(exc, psycopg.IntegrityError):
            # Existing rows can violate a CHECK or UNIQUE SQLite never enforced on them.
            raise UnsupportedSchemaError(f"PostgreSQL schema {self.name!r}, {self.step}",
                                         "PostgreSQL refuses a constraint on the existing rows (rows SQLite never "
                                         "checked, or a constraint whose translation differs): "
                                         f"{str(exc).splitlines()[0]}") from None
        if isinstance(exc, psycopg.OperationalError):
            raise self.lost(exc, "keys and indexes") from None
