"""DDL through the driver: SQLite (the shadow) runs it first, PostgreSQL follows the new schema.

The shadow applies the statement, so what SQLite refuses fails with SQLite's message, and the
schema afterwards (including SQLite's own rewriting of views and foreign keys on a rename) is
SQLite's. The schema mapper plans it again; PostgreSQL gets the difference:

==================================  ==========================================================
SQLite                              PostgreSQL
==================================  ==========================================================
CREATE TABLE / INDEX                the mapper's statements for the new table or index
DROP TABLE / INDEX                  DROP ... (a parent's dangling references are refused by
                                    the mapper, as PostgreSQL would need them)
CREATE / DROP VIEW                  metadata only: queries expand views as SQLite does
CREATE / DROP TRIGGER               a PL/pgSQL function and trigger (translate/triggers.py:
                                    the subset that keeps SQLite's meaning)
ALTER TABLE ... RENAME TO,          the table rebuilt from the new plan: rows copied with their
  RENAME COLUMN, ADD COLUMN,        rowids, a renamed column's strays moved to its new name, a
  DROP COLUMN                       dropped one's removed, new columns from their DEFAULT;
                                    foreign keys of other tables to it added again
==================================  ==========================================================

Everything runs in one PostgreSQL savepoint with the metadata, so a failure leaves both sides
as they were.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlmite.backend.ddl import execute_ddl
from sqlmite.errors import UnsupportedSchemaError
from sqlmite.mapping.ddl import (
    OVERFLOW_COLUMN,
    ROWID_COLUMN,
    Profile,
    SchemaPlan,
    TablePlan,
    pg_ident,
    plan_schema,
)
from sqlmite.mapping.expressions import quote_ident, quote_literal
from sqlmite.mapping.metadata import load_master, save_metadata
from sqlmite.sqlite.schema import SqliteSchema
from sqlmite.translate.catalog import Catalog, Mapped
from sqlmite.translate.errors import NotSupportedError
from sqlmite.translate.triggers import literal_with, translate_trigger

if TYPE_CHECKING:
    from sqlmite.dbapi.engine import Engine

DDL = {"SQLITE_CREATE_TABLE", "SQLITE_CREATE_INDEX", "SQLITE_DROP_TABLE", "SQLITE_DROP_INDEX",
       "SQLITE_CREATE_VIEW", "SQLITE_DROP_VIEW", "SQLITE_ALTER_TABLE", "SQLITE_CREATE_TRIGGER",
       "SQLITE_DROP_TRIGGER"}


def run_ddl(engine: Engine, sql: str, actions: list[Any]) -> SchemaPlan:
    """Apply one DDL statement on both sides; the new plan (the engine rebuilds its catalog)."""
    kinds = {a.action_name for a in actions}
    altered = next((a.b for a in actions if a.action_name == "SQLITE_ALTER_TABLE"), None)
    shadow = engine.shadow
    shadow.conn.execute("SAVEPOINT sqlmite_ddl")
    try:
        before = dict(engine.catalog.tables)
        triggers_before = {r.name.lower(): r.sql for r in shadow.master() if r.type == "trigger"}
        shadow.execute_ddl(sql)
        schema = shadow.schema()
        plan = plan_for(schema, engine.pg_schema)
        with engine._statement(write=True):
            statements = (_alter(engine, before[altered.lower()], schema, plan, before) if altered
                          else _changes(engine, schema, plan, before, kinds))
            # Triggers follow their SQLite text; an ALTER rebuilt tables, so every one is made again.
            statements += _triggers(engine, schema, plan, {} if altered else triggers_before,
                                    set(triggers_before) if altered else set())
            for statement in statements:
                execute_ddl(engine.pg, statement, obj="sqlmite driver DDL")
            sequence = engine.pg.execute("SELECT name, seq FROM sqlmite.sequence WHERE schema_name = %s",
                                         (engine.pg_schema,)).fetchall()
            schema.pragmas["journal_mode"] = engine.pragmas["journal_mode"]
            save_metadata(engine.pg, schema, plan, engine.source, sequence, engine.generation)
    except BaseException:
        shadow.conn.execute("ROLLBACK TO sqlmite_ddl")
        shadow.conn.execute("RELEASE sqlmite_ddl")
        raise
    shadow.conn.execute("RELEASE sqlmite_ddl")
    return plan


def _triggers(engine: Engine, schema: SqliteSchema, plan: SchemaPlan, before: dict[str, str | None],
              dropped_anyway: set[str]) -> list[str]:
    """DROP FUNCTION ... CASCADE for triggers gone or changed, the PL/pgSQL of new or changed ones."""
    after = {t.name.lower(): t.sql for t in schema.triggers}
    changed = {n for n in set(before) | set(after) if before.get(n) != after.get(n)} | dropped_anyway
    # A table whose triggers changed gets all of them made again, ranked newest first.
    tables = {t.tbl_name.lower() for t in schema.triggers if t.name.lower() in changed}
    remade = changed | {t.name.lower() for t in schema.triggers if t.tbl_name.lower() in tables}
    out = [f"DROP FUNCTION IF EXISTS {quote_ident(engine.pg_schema)}.{quote_ident(pg_ident(f'_sqlmite_trg_{name}'))} "
           "CASCADE" for name in sorted(remade & (set(before) | dropped_anyway))]
    catalog = Catalog(engine.pg_schema, schema, plan.tables)
    literal = literal_with(engine.pg)
    for rank, row in enumerate(schema.triggers):  # sqlite_master order: the order they were created in
        if row.name.lower() not in remade:
            continue
        others = [t.sql or "" for t in schema.triggers if t.name.lower() != row.name.lower()]
        out.extend(translate_trigger(row.sql or "", catalog, engine.pg_schema, others, literal,
                                     engine.shadow.coerce, rank).statements)
    return out


def plan_for(schema: SqliteSchema, pg_schema: str) -> SchemaPlan:
    """The driver's plan: a NOT NULL column of an ordinary table may receive a value of any class,
    which only the overflow column holds, so every one is planned to admit strays."""
    strays = {(t.name, c.name) for t in schema.tables if not t.strict for c in t.columns
              if c.not_null and c.name != t.rowid_alias}
    try:
        return plan_schema(schema, pg_schema, Profile.PRIMARY, strays=strays)
    except UnsupportedSchemaError as exc:
        raise NotSupportedError(str(exc)) from None


def _changes(engine: Engine, schema: SqliteSchema, plan: SchemaPlan, before: dict[str, Mapped],
             kinds: set[str]) -> list[str]:
    after = {t.name.lower() for t in schema.tables}
    out = [f"DROP TABLE {before[name].qtable} CASCADE" for name in set(before) - after]
    for table in (t.name for t in schema.tables if t.name.lower() not in before):
        out.extend(_table_statements(plan, table))
    known = {r.name.lower() for r in load_master(engine.pg, engine.pg_schema)}
    for index in schema.indexes:
        if index.name.lower() not in known and index.table.lower() in before:
            out.extend(s.sql for s in plan.post_data if s.obj == f"index {index.name!r}")
    if "SQLITE_DROP_INDEX" in kinds:
        remaining = {i.name.lower() for i in schema.indexes}
        for row in load_master(engine.pg, engine.pg_schema):
            if row.type == "index" and row.sql and row.name.lower() not in remaining:
                out.append(f"DROP INDEX {quote_ident(engine.pg_schema)}.{quote_ident(pg_ident(row.name))}")
    return out


def _table_statements(plan: SchemaPlan, table: str) -> list[str]:
    """Everything that creates one table: itself, its keys, checks, indexes and foreign keys."""
    prefix = f"table {table!r}"
    out = [s.sql for s in plan.pre_data[1:] if s.obj.startswith(prefix)]
    out += [s.sql for s in plan.post_data if s.obj.startswith(prefix) or (
        s.obj.startswith("index ") and (s.table or "").lower() == table.lower())]
    return out


def _alter(engine: Engine, old: Mapped, schema: SqliteSchema, plan: SchemaPlan, before: dict[str, Mapped]) -> list[str]:
    """ALTER TABLE: rebuild the table from the new plan and copy its rows across."""
    after = {t.name.lower(): t for t in schema.tables}
    renamed = [t for name, t in after.items() if name not in before]
    table = renamed[0] if renamed else after[old.table.name.lower()]
    new = plan.table(table.name)
    pairs = _column_pairs([c.name for c in old.table.columns], [c.name for c in table.columns])
    old_pg = {c.name: c.pg_name for c in old.plan.columns}
    new_pg = {c.name: c.pg_name for c in new.columns}
    copy = quote_ident(f"_sqlmite_alter_{pg_ident(table.name)}"[:63])
    targets, sources = [], []
    if old.plan.keeps_rowid and new.keeps_rowid:
        targets.append(quote_ident(ROWID_COLUMN))
        sources.append(quote_ident(ROWID_COLUMN))
    for before_name, after_name in pairs:
        targets.append(quote_ident(new_pg[after_name]))
        sources.append(quote_ident(old_pg[before_name]))
    targets.append(quote_ident(OVERFLOW_COLUMN))
    sources.append(_overflow(old.plan, pairs))
    qnew = f"{quote_ident(engine.pg_schema)}.{quote_ident(new.pg_name)}"
    out = [f"CREATE TEMP TABLE {copy} AS SELECT * FROM {old.qtable}",
           f"DROP TABLE {old.qtable} CASCADE",
           *_table_statements(plan, table.name),
           f"INSERT INTO {qnew} ({', '.join(targets)}) SELECT {', '.join(sources)} FROM {copy}",
           f"DROP TABLE {copy}"]
    # CASCADE dropped the foreign keys other tables had to it: add them again, as now planned.
    out += [s.sql for s in plan.post_data if s.obj.endswith(f"→ {table.name!r}")
            and not s.obj.startswith(f"table {table.name!r}")]
    if table.name != old.table.name:  # SQLite renames the table's sqlite_sequence row too
        out.append(f"UPDATE sqlmite.sequence SET name = {quote_literal(table.name)} WHERE schema_name = "
                   f"{quote_literal(engine.pg_schema)} AND name = {quote_literal(old.table.name)}")
    return out


def _column_pairs(before: list[str], after: list[str]) -> list[tuple[str, str]]:
    """(old name, new name) of every column that survives: SQLite renames one in place, appends
    an added one, and removes a dropped one."""
    if len(after) >= len(before):  # the same columns (one perhaps renamed), or one added at the end
        return list(zip(before, after[:len(before)], strict=True))
    kept = {name.lower() for name in after}
    return [(name, next(a for a in after if a.lower() == name.lower())) for name in before if name.lower() in kept]


def _overflow(plan: TablePlan, pairs: list[tuple[str, str]]) -> str:
    """The overflow column of the copied rows: strays keep following their column's name."""
    value = quote_ident(OVERFLOW_COLUMN)
    kept = {before for before, _ in pairs}
    for column in plan.columns:
        if column.name not in kept:
            value = f"({value} - {quote_literal(column.name)})"
    for before, after in pairs:
        if before != after:
            value = (f"(CASE WHEN {value} ? {quote_literal(before)} THEN ({value} - {quote_literal(before)}) || "
                     f"jsonb_build_object({quote_literal(after)}, {value} -> {quote_literal(before)}) ELSE {value} END)")
    return f"nullif({value}, '{{}}'::jsonb)"
