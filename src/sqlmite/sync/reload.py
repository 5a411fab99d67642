"""The whole database from one snapshot of the file into PostgreSQL, in one transaction.

Sync reloads when it starts on an empty PostgreSQL, after every schema change (a new or dropped
table or index, ``ALTER TABLE``, an EF Core ``ef_temp_`` rebuild), and when a new value no longer
fits the layout chosen earlier (the plan is made again from what the snapshot now holds). One
transaction means PostgreSQL goes from the old state to the new one at once, together with the
change-log position the snapshot corresponds to, and keeps its lineage (generation).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import apsw
import psycopg

from sqlmite.backend.schema import create_tables, finish_tables
from sqlmite.mapping.ddl import Profile, TablePlan, plan_schema
from sqlmite.migrate.load import load_table
from sqlmite.migrate.rows import pg_table
from sqlmite.migrate.scan import clean_columns, scan
from sqlmite.migrate.state import finish_migration, start_migration
from sqlmite.sqlite.schema import MasterRow, read_schema
from sqlmite.sync.capture import LOG_TABLE
from sqlmite.sync.position import write_position


@dataclass(frozen=True)
class Reloaded:
    tables: list[TablePlan]
    master: tuple[MasterRow, ...]
    generation: uuid.UUID
    applied_seq: int
    rows: int
    seconds: float
    notes: list[str]


def reload(reader: apsw.Connection, pg: psycopg.Connection[Any], pg_schema: str, source: str, log_id: uuid.UUID,
           generation: uuid.UUID | None = None) -> Reloaded:
    """Replace what PostgreSQL holds for ``pg_schema`` with the snapshot ``reader`` is in.

    Call inside a read transaction on ``reader``: schema, rows and log position then come from
    the same instant.
    """
    started = time.monotonic()
    schema = read_schema(reader)
    found = scan(reader, schema, full=False)
    plan = plan_schema(schema, pg_schema, Profile.REPLICA, observed=found.observed, validate_fks=False,
                       strays=found.strays)
    top = reader.execute(f"SELECT coalesce(max(seq), 0) FROM {LOG_TABLE}").fetchone()[0]
    clean = clean_columns(plan, found)
    rows = 0
    with pg.transaction():
        info = create_tables(pg, schema, plan, source, replace=True, sequence=found.sequence, generation=generation)
        start_migration(pg, pg_schema, source, None, found.stat1)
        for table in plan.tables:
            rows += load_table(reader, pg, pg_schema, table, None, clean[table.name]).rows
        finish_tables(pg, plan)
        for table in plan.tables:
            pg.execute(f"ANALYZE {pg_table(pg_schema, table)}")
        finish_migration(pg, pg_schema)
        write_position(pg, pg_schema, log_id, top, rows, batch=False)
    return Reloaded(plan.tables, schema.master, info.generation, top, rows, time.monotonic() - started, plan.notes)
