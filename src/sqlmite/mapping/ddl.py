"""The schema mapper: a SQLite schema → PostgreSQL DDL, as a plan the doors execute.

Two profiles:

* ``replica`` (the sync sidecar's target): PostgreSQL stores what SQLite decided. No triggers,
  no FK actions (SQLite already cascaded, and the cascaded rows arrive as changes), foreign keys
  ``DEFERRABLE INITIALLY DEFERRED`` so a consistent batch applies in any order; views and
  triggers are kept in the metadata only, to rebuild the SQLite file.
* ``primary`` (the driver's store): FK actions and deferral as declared; views and triggers are
  kept in the metadata (the driver's translator expands views in queries and installs triggers as
  PL/pgSQL).

Every table gains ``_sqlmite_overflow jsonb`` (lossless strays, see ``values``); a rowid table
without an ``INTEGER PRIMARY KEY`` gains ``_sqlmite_rowid bigint`` so row identity survives.
Rowids get ``sqlmite.next_rowid(...)`` as default: SQLite's own rule (max + 1, or past
``sqlite_sequence`` under AUTOINCREMENT), so a default never collides with an explicit id.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from sqlglot import exp

from sqlmite.errors import UnsupportedSchemaError
from sqlmite.mapping.affinity import Affinity, StorageClass, storage_class_of
from sqlmite.mapping.expressions import (
    ColumnRef,
    SchemaExpression,
    default_value,
    is_constant,
    quote_ident,
    quote_literal,
    sql_literal,
)
from sqlmite.mapping.expressions import (
    is_current_time as _now_kind,
)
from sqlmite.mapping.values import (
    AFFINITY_DEFAULT,
    ColumnCodec,
    PgType,
    RowCodec,
    SqliteValue,
    fits,
    native_type_for,
    strays_possible,
)
from sqlmite.sqlite.schema import Column, ForeignKey, Index, SqliteSchema, Table

ROWID_COLUMN = "_sqlmite_rowid"
OVERFLOW_COLUMN = "_sqlmite_overflow"
RESERVED_COLUMNS = (ROWID_COLUMN, OVERFLOW_COLUMN)
ROWID_NAMES = ("rowid", "_rowid_", "oid")  # SQLite's names for the rowid, unless a column takes them
PG_NAME_MAX = 63  # bytes; PostgreSQL would silently truncate longer names


class Profile(str, Enum):
    REPLICA = "replica"
    PRIMARY = "primary"


def pg_ident(name: str) -> str:
    """``name`` if PostgreSQL can hold it, else a stable shortened form with a hash suffix."""
    raw = name.encode("utf-8")
    if len(raw) <= PG_NAME_MAX:
        return name
    digest = hashlib.sha1(raw).hexdigest()[:8]
    prefix = raw[: PG_NAME_MAX - 9].decode("utf-8", errors="ignore")
    return f"{prefix}_{digest}"


def default_pg_schema(path: str | Path) -> str:
    """The PostgreSQL schema for a SQLite file when none is configured: its file name's stem."""
    stem = Path(path).stem or "main"
    return re.sub(r"\s+", "_", stem)


@dataclass(frozen=True)
class Statement:
    """One DDL statement and the object it creates (for the audit trail and error messages).

    ``table`` names the SQLite table a post-data statement belongs to, so statements of
    different tables can run on different connections at once; ``constraint`` names a foreign
    key added ``NOT VALID``, which a loader may then try to validate.
    """

    sql: str
    obj: str
    table: str | None = None
    constraint: str | None = None


@dataclass(frozen=True)
class ColumnPlan:
    name: str
    pg_name: str
    declared_type: str
    pg_type: PgType
    not_null: bool  # SQLite's NOT NULL
    native_not_null: bool  # enforced as PostgreSQL NOT NULL (else as a CHECK that admits strays)
    collation: str
    strays: bool = field(default=False, compare=False)  # the data holds values only the overflow holds


@dataclass
class TablePlan:
    name: str
    pg_name: str
    columns: list[ColumnPlan]
    rowid_column: str | None  # pg name of the column holding the rowid (alias or _sqlmite_rowid)
    keeps_rowid: bool  # True when _sqlmite_rowid was added (no INTEGER PRIMARY KEY alias)
    without_rowid: bool
    primary_key: tuple[str, ...]
    codec: RowCodec = field(init=False)

    def __post_init__(self) -> None:
        self.codec = RowCodec(self.name, [ColumnCodec(c.name, c.pg_type, c.native_not_null) for c in self.columns])

    @property
    def pg_columns(self) -> list[str]:
        """PostgreSQL column names in the order ``codec.encode`` produces values (rowid first if kept)."""
        names = [c.pg_name for c in self.columns]
        return ([ROWID_COLUMN] if self.keeps_rowid else []) + names + [OVERFLOW_COLUMN]

    @property
    def source_columns(self) -> list[str]:
        """SQLite column names to select, in the order ``encode`` expects (rowid first if kept)."""
        return ([self.rowid_name] if self.keeps_rowid else []) + [c.name for c in self.columns]

    @property
    def rowid_name(self) -> str:
        """How to name the real rowid in SQLite: a column called ``rowid`` hides it, ``_rowid_`` may not."""
        taken = {c.name.lower() for c in self.columns}
        return next(name for name in ROWID_NAMES if name not in taken)

    def encode(self, row: Sequence[SqliteValue]) -> list[Any]:
        """PostgreSQL values for a SQLite row selected as ``source_columns``."""
        if self.keeps_rowid:
            return [row[0], *self.codec.encode(row[1:], key=row[0])]
        return self.codec.encode(row, key=self._key(row))

    def decode(self, pg_row: Sequence[Any]) -> tuple[SqliteValue, ...]:
        """The SQLite row (as ``source_columns``) for a PostgreSQL row selected as ``pg_columns``."""
        if self.keeps_rowid:
            return (pg_row[0], *self.codec.decode(pg_row[1:]))
        return self.codec.decode(pg_row)

    def _key(self, row: Sequence[SqliteValue]) -> object:
        """The row's identity for error messages: its rowid alias or its primary key."""
        values = {c.name: v for c, v in zip(self.columns, row)}
        if len(self.primary_key) == 1:
            return values[self.primary_key[0]]
        return {name: values[name] for name in self.primary_key}


@dataclass
class SchemaPlan:
    pg_schema: str
    profile: Profile
    tables: list[TablePlan] = field(default_factory=list)
    pre_data: list[Statement] = field(default_factory=list)  # schema and tables
    post_data: list[Statement] = field(default_factory=list)  # keys, indexes, checks, foreign keys
    notes: list[str] = field(default_factory=list)  # what lives in the metadata only, and why

    def table(self, name: str) -> TablePlan:
        for t in self.tables:
            if t.name.lower() == name.lower():
                return t
        raise KeyError(name)

    def statements(self) -> list[Statement]:
        return self.pre_data + self.post_data

    def script(self) -> str:
        return "\n".join(s.sql.rstrip(";") + ";" for s in self.statements())


class _TableMapper:
    """Builds one table's plan and statements."""

    def __init__(self, schema: SqliteSchema, table: Table, pg_schema: str, profile: Profile,
                 observed: Mapping[tuple[str, str], set[StorageClass]],
                 unchecked_fks: Set[tuple[str, int]] = frozenset(), validate_fks: bool = True,
                 strays: Set[tuple[str, str]] = frozenset()) -> None:
        self.schema, self.table, self.profile = schema, table, profile
        self.unchecked_fks = unchecked_fks
        self.validate_fks = validate_fks
        self.strays = strays
        self.peers: dict[str, _TableMapper] = {}
        self._defaults: dict[int, tuple[SchemaExpression, exp.Expression, SqliteValue]] = {}
        self.obj = f"table {table.name!r}"
        self.qtable = f"{quote_ident(pg_schema)}.{quote_ident(pg_ident(table.name))}"
        self.pg_schema = pg_schema
        self.observed = observed
        self.columns = [self._column(c) for c in table.columns]
        keeps_rowid = not table.without_rowid and table.rowid_alias is None
        if keeps_rowid and {c.name.lower() for c in table.columns} >= set(ROWID_NAMES):
            raise UnsupportedSchemaError(self.obj, "columns named rowid, _rowid_ and oid hide the rowid, so row "
                                                   "identity cannot be read")
        self.rowid_pg = ROWID_COLUMN if keeps_rowid else (
            pg_ident(table.rowid_alias) if table.rowid_alias else None)
        self.plan = TablePlan(table.name, pg_ident(table.name), self.columns, self.rowid_pg, keeps_rowid,
                              table.without_rowid, table.primary_key)
        self.refs = column_refs(table, self.plan)

    def _column(self, col: Column) -> ColumnPlan:
        if col.name.lower() in RESERVED_COLUMNS:
            raise UnsupportedSchemaError(f"{self.obj}, column {col.name!r}", "the name is reserved by sqlmite")
        observed = self.observed.get((self.table.name, col.name))
        evidence = self._default_class(col) if col.affinity in (Affinity.NUMERIC, Affinity.BLOB) else None
        if evidence is not None:
            # Where the declared type says little, the default's storage class is evidence: a
            # DATETIME (NUMERIC) column defaulting to CURRENT_TIMESTAMP holds text.
            observed = (observed or set()) | {evidence}
        pg_type = native_type_for(col.affinity, observed)
        strays = (self.table.name, col.name) in self.strays or (
            bool(observed) and strays_possible(pg_type, observed or set()))
        return ColumnPlan(col.name, pg_ident(col.name), col.declared_type, pg_type, col.not_null,
                          col.not_null and not strays, col.collation, strays)

    def _evaluated_default(self, col: Column) -> tuple[SchemaExpression, exp.Expression, SqliteValue]:
        """The DEFAULT parsed once, and for a constant one the value SQLite itself would store."""
        if col.cid not in self._defaults:
            where = SchemaExpression(f"{self.obj}, column {col.name!r} DEFAULT", {})
            assert col.default is not None
            node = where.parse(col.default)
            constant = is_constant(node)
            value = default_value(col.declared_type, col.default, strict=self.table.strict) if constant else None
            self._defaults[col.cid] = (where, node, value)
        return self._defaults[col.cid]

    def _default_class(self, col: Column) -> StorageClass | None:
        if col.default is None:
            return None
        _, node, value = self._evaluated_default(col)
        if not is_constant(node):
            return StorageClass.TEXT if _now_kind(node) else None
        return storage_class_of(value)

    def _default(self, col: Column, plan: ColumnPlan) -> str | None:
        if col.default is None:
            return None
        where, node, value = self._evaluated_default(col)
        if not is_constant(node):
            return where.value(col.default)
        if not fits(plan.pg_type, value):
            raise where.unsupported(f"the default {col.default} is a value a {plan.pg_type.base} column cannot hold")
        return sql_literal(value, plan.pg_type)

    def create(self) -> list[Statement]:
        lines = []
        if self.plan.keeps_rowid:
            lines.append(f"{quote_ident(ROWID_COLUMN)} bigint NOT NULL")
        for col, plan in zip(self.table.columns, self.columns):
            line = f"{quote_ident(plan.pg_name)} {plan.pg_type.value}"
            if plan.native_not_null:
                line += " NOT NULL"
            default = self._default(col, plan)
            if default is not None:
                line += f" DEFAULT {default}"
            lines.append(line)
        lines.append(f"{quote_ident(OVERFLOW_COLUMN)} jsonb")
        for cid, plan in enumerate(self.columns):
            if plan.not_null and not plan.native_not_null:
                # `overflow ? 'col'` is NULL when the overflow column is NULL, and a CHECK passes
                # on NULL: coalesce makes a missing stray count as absent.
                lines.append(f"CONSTRAINT {self._name(f'nn{cid}')} CHECK ({quote_ident(plan.pg_name)} IS NOT NULL OR "
                             f"coalesce({quote_ident(OVERFLOW_COLUMN)} ? {quote_literal(plan.name)}, false))")
        body = ",\n  ".join(lines)
        out = [Statement(f"CREATE TABLE {self.qtable} (\n  {body}\n)", self.obj)]
        if self.rowid_pg:
            seq = quote_literal(self.table.name) if self.table.autoincrement else "NULL"
            out.append(Statement(
                f"ALTER TABLE {self.qtable} ALTER COLUMN {quote_ident(self.rowid_pg)} SET DEFAULT "
                f"sqlmite.next_rowid({quote_literal(self.qtable)}::regclass, {quote_literal(self.rowid_pg)}, "
                f"{quote_literal(self.pg_schema)}, {seq})", f"{self.obj} rowid default"))
        return out

    def _name(self, suffix: str) -> str:
        """Constraint names of sqlmite's own: PostgreSQL's generated ones (t_pkey, t_a_key) could
        collide with an index the SQLite schema names so."""
        return quote_ident(pg_ident(f"{self.table.name}_sqlmite_{suffix}"))

    def keys(self) -> list[Statement]:
        """Primary key, UNIQUE constraints and CHECKs (added after the data, for load speed), and
        an index of the rows holding strays: usually empty, it lets a query prove in one probe
        that the columns it computes on hold native values only."""
        table = self.table
        out = [Statement(f"CREATE INDEX {self._name('strays')} ON {self.qtable} ((1)) "
                         f"WHERE {quote_ident(OVERFLOW_COLUMN)} IS NOT NULL", f"{self.obj} strays index", table.name)]
        pk_index = next((i for i in table.constraint_indexes if i.origin == "pk"), None)
        if self.plan.keeps_rowid:
            kind = "UNIQUE" if table.primary_key else "PRIMARY KEY"
            out.append(Statement(f"ALTER TABLE {self.qtable} ADD CONSTRAINT {self._name('rowid')} {kind} "
                                 f"({quote_ident(ROWID_COLUMN)})", f"{self.obj} rowid key", table.name))
        if table.rowid_alias:
            out.append(Statement(f"ALTER TABLE {self.qtable} ADD CONSTRAINT {self._name('pk')} PRIMARY KEY "
                                 f"({quote_ident(self.rowid_pg or '')})", f"{self.obj} primary key", table.name))
        elif pk_index is not None:
            # SQLite lets NULLs into the primary key of a rowid table, and a key column holding strays
            # has NULL natively: PostgreSQL's PRIMARY KEY would refuse both, UNIQUE does not.
            nullable = not table.without_rowid and any(not table.column(c).not_null for c in table.primary_key)
            strays = any(self.plan.columns[table.column(c).cid].strays for c in table.primary_key)
            out.append(self._unique(pk_index, "UNIQUE" if nullable or strays else "PRIMARY KEY", "primary key", "pk"))
        for n, index in enumerate((i for i in table.constraint_indexes if i.origin == "u"), 1):
            out.append(self._unique(index, "UNIQUE", f"unique constraint {index.name!r}", f"uq{n}"))
        for i, check in enumerate(table.checks, 1):
            what = f"{self.obj}, CHECK {check.name or i}"
            predicate = SchemaExpression(what, self.refs).predicate(check.expression)
            out.append(Statement(f"ALTER TABLE {self.qtable} ADD CONSTRAINT {self._name(f'ck{i}')} CHECK ({predicate})",
                                 what, table.name))
        return out

    def _unique(self, index: Index, kind: str, what: str, suffix: str) -> Statement:
        if all(k.column and k.collation == "BINARY" for k in index.keys):
            cols = ", ".join(quote_ident(self.refs[k.column].pg_name) for k in index.keys if k.column)
            return Statement(f"ALTER TABLE {self.qtable} ADD CONSTRAINT {self._name(suffix)} {kind} ({cols})",
                             f"{self.obj} {what}", self.table.name)
        # A NOCASE/RTRIM key is unique on its folded form: an expression index, not a constraint.
        keys = self._keys(index, f"{self.obj} {what}")
        return Statement(f"CREATE UNIQUE INDEX {self._name(suffix)} ON {self.qtable} ({keys})", f"{self.obj} {what}",
                         self.table.name)

    def _keys(self, index: Index, what: str) -> str:
        expr = SchemaExpression(what, self.refs)
        parts = []
        for key in index.keys:
            source = quote_ident(key.column) if key.column else key.expression
            assert source is not None
            sql = expr.value(f"{source} COLLATE {key.collation}" if key.collation != "BINARY" else source)
            if key.column is None:
                # PostgreSQL takes an index key that is neither a column nor a function call only
                # in parentheses (`(a * 2 + 1)`).
                sql = f"({sql})"
            # SQLite sorts NULLs first ascending and last descending.
            parts.append(f"{sql} {'DESC NULLS LAST' if key.desc else 'ASC NULLS FIRST'}")
        return ", ".join(parts)

    def index(self, index: Index) -> Statement:
        what = f"index {index.name!r}"
        sql = (f"CREATE {'UNIQUE ' if index.unique else ''}INDEX {quote_ident(pg_ident(index.name))} "
               f"ON {self.qtable} ({self._keys(index, what)})")
        if index.where:
            sql += f" WHERE {SchemaExpression(what, self.refs).predicate(index.where)}"
        return Statement(sql, what, self.table.name)

    def foreign_key(self, fk: ForeignKey, n: int) -> Statement:
        what = f"{self.obj}, foreign key {n} ({', '.join(fk.columns)}) → {fk.parent!r}"
        try:
            parent = self.schema.table(fk.parent)
        except KeyError:
            raise UnsupportedSchemaError(what, "the parent table does not exist") from None
        parent_cols = list(fk.parent_columns)
        if any(c is None for c in parent_cols):
            parent_cols = list(parent.primary_key)
        if not _is_unique(parent, parent_cols):
            raise UnsupportedSchemaError(what, "the parent key is not a PRIMARY KEY or UNIQUE constraint "
                                               "(SQLite reports 'foreign key mismatch' on use)")
        child_types = [self.plan.columns[self.table.column(c).cid].pg_type for c in fk.columns]
        parent_plan = self.peers[parent.name].plan
        parent_types = [parent_plan.columns[parent.column(c).cid].pg_type for c in parent_cols]
        child_names = [self.plan.columns[self.table.column(c).cid].pg_name for c in fk.columns]
        parent_names = [parent_plan.columns[parent.column(c).cid].pg_name for c in parent_cols]
        if any(a.base != b.base for a, b in zip(child_types, parent_types)):
            raise UnsupportedSchemaError(what, "the key columns have different affinities, which PostgreSQL "
                                               "cannot compare in a foreign key")
        name = pg_ident(f"{self.table.name}_fk{n}")
        sql = (f"ALTER TABLE {self.qtable} ADD CONSTRAINT {quote_ident(name)} "
               f"FOREIGN KEY ({', '.join(quote_ident(c) for c in child_names)}) "
               f"REFERENCES {quote_ident(self.pg_schema)}.{quote_ident(parent_plan.pg_name)} "
               f"({', '.join(quote_ident(c) for c in parent_names)})")
        if self.profile is Profile.REPLICA:
            sql += " DEFERRABLE INITIALLY DEFERRED"
        else:
            for event, action in (("DELETE", fk.on_delete), ("UPDATE", fk.on_update)):
                if action.upper() != "NO ACTION":
                    sql += f" ON {event} {action.upper()}"
            if fk.deferred:
                sql += " DEFERRABLE INITIALLY DEFERRED"
        if (self.table.name, n) in self.unchecked_fks:
            # Existing rows already violate it (SQLite allowed that); enforce it for new rows only.
            return Statement(sql + " NOT VALID", what)
        if not self.validate_fks:
            # The caller validates it after the load (VALIDATE CONSTRAINT), keeping it NOT VALID
            # if existing rows violate it: cheaper than SQLite's foreign_key_check beforehand.
            return Statement(sql + " NOT VALID", what, self.table.name, name)
        return Statement(sql, what)


def column_refs(table: Table, plan: TablePlan) -> dict[str, ColumnRef]:
    """What an expression over ``table`` may name: each column as PostgreSQL holds it, and the
    rowid under each of SQLite's names that no column takes."""
    refs = {c.name: ColumnRef(c.pg_name, col.affinity, c.collation,
                              c.pg_type if c.pg_type is not AFFINITY_DEFAULT[col.affinity] else None)
            for c, col in zip(plan.columns, table.columns, strict=True)}
    if plan.rowid_column:
        taken = {name.lower() for name in refs}
        for alias in ROWID_NAMES:
            if alias not in taken:  # a column of that name (in any case) hides the rowid
                refs[alias] = ColumnRef(plan.rowid_column, Affinity.INTEGER)
    return refs


def _is_unique(table: Table, cols: list[str]) -> bool:
    wanted = sorted(c.lower() for c in cols)
    if table.rowid_alias and wanted == [table.rowid_alias.lower()]:
        return True
    if sorted(c.lower() for c in table.primary_key) == wanted:
        return True
    return any(sorted((k.column or "").lower() for k in i.keys) == wanted and i.unique
               for i in table.constraint_indexes)


def plan_schema(schema: SqliteSchema, pg_schema: str, profile: Profile = Profile.REPLICA,
                observed: Mapping[tuple[str, str], set[StorageClass]] | None = None,
                unchecked_fks: Set[tuple[str, int]] = frozenset(),
                validate_fks: bool = True,
                strays: Set[tuple[str, str]] = frozenset()) -> SchemaPlan:
    """The PostgreSQL DDL for ``schema`` in ``pg_schema``; raises ``UnsupportedSchemaError`` naming
    the first object it cannot express with SQLite's meaning.

    ``observed`` maps (table, column) to the storage classes a data scan found; it lets the mapper
    choose better native types and admit strays in NOT NULL columns. Without it, the mapping
    follows affinity alone. ``strays`` names (table, column) pairs known to hold values no native
    type holds whatever their class (text with U+0000): NOT NULL then admits them. ``unchecked_fks`` names foreign keys, as (table, 1-based number in declaration order), that
    existing rows violate: they are added ``NOT VALID``. With ``validate_fks`` false, every foreign
    key is added ``NOT VALID`` and named in its ``Statement.constraint`` for the caller to validate.
    """
    if pg_schema.lower() in ("sqlmite", "information_schema", "public") or pg_schema.lower().startswith("pg_"):
        raise UnsupportedSchemaError(f"PostgreSQL schema {pg_schema!r}", "is reserved (sqlmite's metadata, the "
                                     "catalog, or the shared public schema); choose another with --schema")
    plan = SchemaPlan(pg_schema, profile)
    for row in schema.virtual_tables:
        raise UnsupportedSchemaError(f"virtual table {row.name!r}", "virtual tables are not supported yet")
    if profile is Profile.PRIMARY:
        for row in schema.views:
            plan.notes.append(f"view {row.name!r} is kept in sqlmite's metadata (the driver's translator expands "
                              "it in each query, as SQLite does)")
        for row in schema.triggers:
            plan.notes.append(f"trigger {row.name!r} is kept in sqlmite's metadata; the driver installs it as a "
                              "PL/pgSQL trigger (translate/triggers.py)")
    else:
        for row in (*schema.views, *schema.triggers):
            plan.notes.append(f"{row.type} {row.name!r} is kept in sqlmite's metadata (the replica stores data; "
                              "SQLite runs its views and triggers)")
    plan.pre_data.append(Statement(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(pg_schema)}", f"schema {pg_schema!r}"))
    mappers = {}
    for table in schema.tables:
        mapper = _TableMapper(schema, table, pg_schema, profile, observed or {}, unchecked_fks, validate_fks, strays)
        mappers[table.name] = mapper
        mapper.peers = mappers
        plan.tables.append(mapper.plan)
        plan.pre_data.extend(mapper.create())
    for mapper in mappers.values():
        plan.post_data.extend(mapper.keys())
    for index in schema.indexes:
        plan.post_data.append(mappers[index.table].index(index))
    for mapper in mappers.values():
        for n, fk in enumerate(mapper.table.foreign_keys, 1):
            plan.post_data.append(mapper.foreign_key(fk, n))
            if (mapper.table.name, n) in unchecked_fks:
                plan.notes.append(f"table {mapper.table.name!r}, foreign key {n}: existing rows violate it; "
                                  "PostgreSQL enforces it for new rows only (NOT VALID)")
    return plan
