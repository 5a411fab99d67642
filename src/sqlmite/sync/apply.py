"""Applying one batch of logged changes to PostgreSQL: every change up to the snapshot's newest.

A batch is read from one SQLite snapshot and written in one PostgreSQL transaction with its
position. For each table it deletes every changed row in PostgreSQL, then copies the changed rows
that still exist in the snapshot. Rows not changed are equal on both sides, so the result is the
snapshot's state of every row, which satisfies every unique key and foreign key the snapshot
does: order inside the batch does not matter, and applying it twice gives the same result.
A batch always runs to the newest change in its snapshot; a prefix of the log, applied with the
rows' *current* state, could break a unique key that only a later change frees.
"""

from __future__ import annotations

import uuid
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

import apsw
import psycopg

from sqlmite.mapping.ddl import TablePlan
from sqlmite.mapping.expressions import quote_ident
from sqlmite.mapping.metadata import load_database_info, load_master, load_tables
from sqlmite.migrate.load import copy_rows
from sqlmite.migrate.rows import pg_table
from sqlmite.sqlite.schema import MasterRow
from sqlmite.sync.capture import LOG_TABLE
from sqlmite.sync.position import write_position

_CHANGED = f"SELECT rid FROM {LOG_TABLE} WHERE seq > ? AND seq <= ? AND tbl = ?"


class UnmappedTable(Exception):
    """Changes name a table PostgreSQL does not hold: the schema moved on; reload."""


@dataclass
class Replica:
    """What PostgreSQL holds for one database, as sync last wrote it (so a batch need not ask)."""

    pg_schema: str
    tables: dict[str, TablePlan]
    master: tuple[MasterRow, ...]
    extras: dict[str, Any] = field(default_factory=dict)  # sqlite_sequence, sqlite_stat1, pragmas

    @classmethod
    def read(cls, pg: psycopg.Connection[Any], pg_schema: str) -> Replica:
        info = load_database_info(pg, pg_schema)
        assert info is not None
        replica = cls(pg_schema, {t.name: t for t in load_tables(pg, pg_schema)}, tuple(load_master(pg, pg_schema)))
        sequence = pg.execute("SELECT name, seq FROM sqlmite.sequence WHERE schema_name = %s", (pg_schema,)).fetchall()
        stat1 = pg.execute("SELECT tbl, idx, stat FROM sqlmite.stat1 WHERE schema_name = %s", (pg_schema,)).fetchall()
        replica.extras = _extras(sequence, stat1, info.user_version, info.application_id)
        return replica


def _extras(sequence: list[Any], stat1: list[Any], user_version: int, application_id: int) -> dict[str, Any]:
    def key(row: tuple[Any, ...]) -> tuple[str, ...]:  # sorts rows holding NULLs
        return tuple("" if v is None else str(v) for v in row)

    return {"sequence": sorted(map(tuple, sequence), key=key), "stat1": sorted(map(tuple, stat1), key=key),
            "user_version": user_version, "application_id": application_id}


def read_extras(reader: apsw.Connection) -> dict[str, Any]:
    """``sqlite_sequence``, ``sqlite_stat1`` and the two user pragmas: no trigger sees them change."""
    names = {r[0] for r in reader.execute("SELECT name FROM main.sqlite_master WHERE type = 'table' "
                                          "AND name IN ('sqlite_sequence', 'sqlite_stat1')")}
    sequence = reader.execute("SELECT name, seq FROM main.sqlite_sequence").fetchall() \
        if "sqlite_sequence" in names else []
    stat1 = reader.execute("SELECT tbl, idx, stat FROM main.sqlite_stat1").fetchall() if "sqlite_stat1" in names else []
    user_version, application_id = (reader.execute(f"PRAGMA main.{name}").fetchone()[0]
                                    for name in ("user_version", "application_id"))
    return _extras(sequence, stat1, user_version, application_id)


def _write_extras(pg: psycopg.Connection[Any], pg_schema: str, extras: dict[str, Any]) -> None:
    with pg.cursor() as cur:
        cur.execute("DELETE FROM sqlmite.sequence WHERE schema_name = %s", (pg_schema,))
        cur.executemany("INSERT INTO sqlmite.sequence VALUES (%s, %s, %s)",
                        [(pg_schema, *row) for row in extras["sequence"]])
        cur.execute("DELETE FROM sqlmite.stat1 WHERE schema_name = %s", (pg_schema,))
        cur.executemany("INSERT INTO sqlmite.stat1 VALUES (%s, %s, %s, %s)", [(pg_schema, *row) for row in extras["stat1"]])
        cur.execute("UPDATE sqlmite.databases SET user_version = %s, application_id = %s, updated_at = now() "
                    "WHERE schema_name = %s", (extras["user_version"], extras["application_id"], pg_schema))


@dataclass(frozen=True)
class Applied:
    applied_seq: int
    changes: int  # log entries covered
    rows: int  # rows written (deleted rows are not counted)


def apply_batch(reader: apsw.Connection, pg: psycopg.Connection[Any], replica: Replica, log_id: uuid.UUID,
                applied: int, top: int, extras: dict[str, Any], whole: AbstractSet[str] = frozenset()) -> Applied:
    """Changes ``applied`` < seq <= ``top`` from the snapshot ``reader`` is in, in one PostgreSQL
    transaction with the new position. Tables named in ``whole`` are copied entirely."""
    name = replica.pg_schema
    rows = 0
    changes = 0
    with pg.transaction():
        for tbl, count, any_null in reader.execute(
                f"SELECT tbl, count(*), max(rid IS NULL) FROM {LOG_TABLE} WHERE seq > ? AND seq <= ? GROUP BY tbl",
                (applied, top)):
            changes += count
            plan = replica.tables.get(tbl)
            if plan is None:
                raise UnmappedTable(tbl)
            target = pg_table(name, plan)
            if any_null or tbl in whole or plan.rowid_column is None:
                pg.execute(f"DELETE FROM {target}")
                rows += copy_rows(reader, pg, name, plan)
                continue
            rids = [r for (r,) in reader.execute(_CHANGED, (applied, top, tbl))]
            pg.execute(f"DELETE FROM {target} WHERE {quote_ident(plan.rowid_column)} = ANY(%s)", (rids,))
            rows += copy_rows(reader, pg, name, plan, where=f"{quote_ident(plan.rowid_name)} IN ({_CHANGED})",
                              params=(applied, top, tbl))
        if extras != replica.extras:
            _write_extras(pg, name, extras)
        write_position(pg, name, log_id, top, rows)
    replica.extras = extras
    return Applied(top, changes, rows)
