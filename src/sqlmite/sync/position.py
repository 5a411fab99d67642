"""Where PostgreSQL stands in a file's change log: ``sqlmite.sync_state``, one row per database.

The row is written in the same PostgreSQL transaction as the batch it describes, so after a
crash at any point PostgreSQL holds either a batch and its mark or neither: a batch is never
lost and never applied twice.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import psycopg


@dataclass(frozen=True)
class Position:
    log_id: uuid.UUID  # which change log (a file rebuilt by restore starts a new one)
    applied_seq: int  # every change up to this seq is in PostgreSQL
    applied_at: dt.datetime
    batches: int
    rows: int


def read_position(pg: psycopg.Connection[Any], pg_schema: str) -> Position | None:
    if pg.execute("SELECT to_regclass('sqlmite.sync_state')").fetchone()[0] is None:
        return None
    row = pg.execute("SELECT log_id, applied_seq, applied_at, batches, rows FROM sqlmite.sync_state "
                     "WHERE schema_name = %s", (pg_schema,)).fetchone()
    return Position(*row) if row else None


def write_position(pg: psycopg.Connection[Any], pg_schema: str, log_id: uuid.UUID, applied_seq: int,
                   rows: int = 0, *, batch: bool = True) -> None:
    """Move the mark to ``applied_seq`` (in the caller's transaction); a new ``log_id`` resets counts."""
    pg.execute(
        "INSERT INTO sqlmite.sync_state AS s (schema_name, log_id, applied_seq, batches, rows) "
        "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (schema_name) DO UPDATE SET log_id = excluded.log_id, "
        "applied_seq = excluded.applied_seq, applied_at = now(), "
        "batches = CASE WHEN s.log_id = excluded.log_id THEN s.batches + excluded.batches ELSE excluded.batches END, "
        "rows = CASE WHEN s.log_id = excluded.log_id THEN s.rows + excluded.rows ELSE excluded.rows END",
        (pg_schema, log_id, applied_seq, int(batch), rows))
