"""Reading a SQLite database's schema from the file itself, through SQLite.

SQLite's own answers come first: ``PRAGMA table_list/table_xinfo/index_list/index_xinfo/
foreign_key_list`` and ``sqlite3_table_column_metadata`` know affinities, collations, the rowid
alias and AUTOINCREMENT exactly as SQLite applies them. Only what no PRAGMA reports (CHECK
constraints, index expressions and ``WHERE`` clauses, FK deferrability) is taken from the stored
``CREATE`` text, located with sqlglot's SQLite tokenizer and kept as SQL text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import apsw
import sqlglot
from sqlglot import exp
from sqlglot.dialects.sqlite import SQLite
from sqlglot.tokens import Token, TokenType

from sqlmite.errors import SourceError, UnsupportedSchemaError
from sqlmite.mapping.affinity import Affinity, affinity_of
from sqlmite.sqlite.dialect import DIALECT

INTERNAL_TABLES = ("sqlite_sequence", "sqlite_stat1", "sqlite_stat2", "sqlite_stat3", "sqlite_stat4")
SQLMITE_PREFIX = "_sqlmite_"  # objects the sync sidecar installs in an application's file


@dataclass(frozen=True)
class MasterRow:
    """One ``sqlite_master`` row, verbatim (``sql`` is None for automatic indexes)."""

    type: str
    name: str
    tbl_name: str
    sql: str | None

    @property
    def is_sqlmite(self) -> bool:
        """True for the change log, state table and triggers of sync: never part of the application's schema."""
        return self.name.lower().startswith(SQLMITE_PREFIX) or self.tbl_name.lower().startswith(SQLMITE_PREFIX)


def read_master(conn: apsw.Connection) -> tuple[MasterRow, ...]:
    """The application's ``sqlite_master`` rows in rowid order, without sqlmite's own objects."""
    rows = (MasterRow(*row) for row in conn.execute(
        "SELECT type, name, tbl_name, sql FROM main.sqlite_master ORDER BY rowid"))
    return tuple(row for row in rows if not row.is_sqlmite)


@dataclass(frozen=True)
class Column:
    cid: int
    name: str
    declared_type: str
    affinity: Affinity
    not_null: bool
    default: str | None  # the DEFAULT expression as written, or None
    pk: int  # 1-based position in the primary key, 0 if not part of it
    collation: str  # BINARY, NOCASE, RTRIM or a custom name
    hidden: int  # 0 normal, 1 hidden (virtual tables), 2 virtual generated, 3 stored generated


@dataclass(frozen=True)
class IndexKey:
    """One key of an index: a column (``column`` set) or an expression (``expression`` SQL)."""

    column: str | None
    expression: str | None
    desc: bool
    collation: str


@dataclass(frozen=True)
class Index:
    name: str
    table: str
    unique: bool
    origin: str  # "c" CREATE INDEX, "u" UNIQUE constraint, "pk" PRIMARY KEY constraint
    keys: tuple[IndexKey, ...]
    where: str | None  # partial-index predicate SQL
    sql: str | None


@dataclass(frozen=True)
class ForeignKey:
    columns: tuple[str, ...]
    parent: str
    parent_columns: tuple[str | None, ...]  # None: the parent's primary key
    on_update: str
    on_delete: str
    match: str
    deferred: bool  # DEFERRABLE INITIALLY DEFERRED


@dataclass(frozen=True)
class Check:
    name: str | None
    expression: str


@dataclass(frozen=True)
class Table:
    name: str
    sql: str
    columns: tuple[Column, ...]
    without_rowid: bool
    strict: bool
    rowid_alias: str | None  # the INTEGER PRIMARY KEY column, if any
    autoincrement: bool
    primary_key: tuple[str, ...]
    checks: tuple[Check, ...]
    foreign_keys: tuple[ForeignKey, ...]
    constraint_indexes: tuple[Index, ...]  # UNIQUE / PRIMARY KEY indexes SQLite made

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name.lower() == name.lower():
                return col
        raise KeyError(name)


@dataclass(frozen=True)
class SqliteSchema:
    master: tuple[MasterRow, ...]
    tables: tuple[Table, ...]
    indexes: tuple[Index, ...]  # explicit CREATE INDEX only
    views: tuple[MasterRow, ...]
    triggers: tuple[MasterRow, ...]
    virtual_tables: tuple[MasterRow, ...]
    pragmas: dict[str, int | str] = field(default_factory=dict)

    def table(self, name: str) -> Table:
        for table in self.tables:
            if table.name.lower() == name.lower():
                return table
        raise KeyError(name)


def _tokens(sql: str, obj: str) -> list[Token]:
    try:
        return SQLite().tokenize(sql)
    except sqlglot.errors.TokenError as exc:
        raise UnsupportedSchemaError(obj, f"cannot tokenize its SQL: {exc}") from None


def _paren_span(tokens: list[Token], open_at: int) -> int:
    """Index of the token closing the parenthesis opened at ``open_at``."""
    depth = 0
    for i in range(open_at, len(tokens)):
        if tokens[i].token_type is TokenType.L_PAREN:
            depth += 1
        elif tokens[i].token_type is TokenType.R_PAREN:
            depth -= 1
            if depth == 0:
                return i
    raise ValueError("unbalanced parentheses")


def _word(token: Token) -> str:
    return token.text.upper() if token.token_type not in (TokenType.IDENTIFIER, TokenType.STRING) else ""


def _checks_and_deferrals(sql: str, obj: str) -> tuple[list[Check], list[bool]]:
    """CHECK constraints (name, expression text) and, per REFERENCES clause in order, deferral."""
    tokens = _tokens(sql, obj)
    checks: list[Check] = []
    deferrals: list[bool] = []
    for i, token in enumerate(tokens):
        word = _word(token)
        if word == "CHECK" and i + 1 < len(tokens) and tokens[i + 1].token_type is TokenType.L_PAREN:
            close = _paren_span(tokens, i + 1)
            text = sql[tokens[i + 1].end + 1 : tokens[close].start].strip()
            name = None
            if i >= 2 and _word(tokens[i - 2]) == "CONSTRAINT":
                name = tokens[i - 1].text
            checks.append(Check(name, text))
        elif word == "REFERENCES":
            deferred = False
            for j in range(i + 1, len(tokens)):
                w = _word(tokens[j])
                if tokens[j].token_type is TokenType.COMMA and _depth_at(tokens, i, j) == 0:
                    break
                if w == "DEFERRED" and j >= 1 and _word(tokens[j - 1]) == "INITIALLY":
                    deferred = not (j >= 3 and _word(tokens[j - 3]) == "NOT")
                    break
                if w in ("REFERENCES", "CONSTRAINT", "CHECK", "UNIQUE", "PRIMARY", "FOREIGN"):
                    break
            deferrals.append(deferred)
    return checks, deferrals


def _depth_at(tokens: list[Token], start: int, end: int) -> int:
    depth = 0
    for t in tokens[start:end]:
        if t.token_type is TokenType.L_PAREN:
            depth += 1
        elif t.token_type is TokenType.R_PAREN:
            depth -= 1
    return depth


def _parse_create_index(sql: str, name: str) -> tuple[list[str], str | None]:
    """Expression SQL of each key (SQLite dialect text) and the WHERE clause of a CREATE INDEX."""
    try:
        tree = sqlglot.parse_one(sql, read=DIALECT)
    except sqlglot.errors.ParseError as exc:
        raise UnsupportedSchemaError(f"index {name!r}", f"cannot parse its SQL: {exc.errors[0]['description']}") from None
    params = tree.find(exp.IndexParameters)
    if params is None:
        raise UnsupportedSchemaError(f"index {name!r}", "no key list found in its SQL")
    keys = []
    for ordered in params.args.get("columns") or []:
        inner = ordered.this if isinstance(ordered, exp.Ordered) else ordered
        if isinstance(inner, exp.Collate):
            inner = inner.this
        keys.append(inner.sql(dialect="sqlite"))
    where = params.args.get("where")
    return keys, (where.this.sql(dialect="sqlite") if where is not None else None)


def _read_index(conn: apsw.Connection, name: str, table: str, unique: bool, origin: str, partial: bool,
                sql: str | None) -> Index:
    expressions: list[str] = []
    where = None
    if sql is not None:
        expressions, where = _parse_create_index(sql, name)
    keys = []
    for seqno, cid, col_name, desc, coll, key in conn.execute(f'PRAGMA main.index_xinfo("{_q(name)}")'):
        if not key:
            continue
        if cid == -2:
            keys.append(IndexKey(None, expressions[seqno], bool(desc), coll))
        elif cid == -1:
            keys.append(IndexKey("rowid", None, bool(desc), coll))
        else:
            keys.append(IndexKey(col_name, None, bool(desc), coll))
    if partial and where is None:
        raise UnsupportedSchemaError(f"index {name!r}", "is partial but its WHERE clause was not found")
    return Index(name, table, unique, origin, tuple(keys), where, sql)


def _q(name: str) -> str:
    return name.replace('"', '""')


def _read_table(conn: apsw.Connection, name: str, sql: str, without_rowid: bool, strict: bool) -> Table:
    obj = f"table {name!r}"
    columns = []
    for cid, col_name, decl, notnull, default, pk, hidden in conn.execute(f'PRAGMA main.table_xinfo("{_q(name)}")'):
        _, collation, _, _, _ = conn.column_metadata("main", name, col_name)
        if hidden in (2, 3):
            raise UnsupportedSchemaError(f"{obj}, column {col_name!r}", "generated columns are not supported yet")
        columns.append(Column(cid, col_name, decl or "", affinity_of(decl, strict=strict), bool(notnull), default,
                              pk, collation.upper() if collation.upper() in ("BINARY", "NOCASE", "RTRIM") else collation,
                              hidden))
    pk_cols = tuple(c.name for c in sorted((c for c in columns if c.pk), key=lambda c: c.pk))
    constraint_indexes = []
    has_pk_index = False
    for _, idx_name, unique, origin, partial in conn.execute(f'PRAGMA main.index_list("{_q(name)}")'):
        if origin == "c":
            continue
        has_pk_index |= origin == "pk"
        constraint_indexes.append(_read_index(conn, idx_name, name, bool(unique), origin, bool(partial), None))
    rowid_alias = None
    autoincrement = False
    if not without_rowid and len(pk_cols) == 1 and not has_pk_index:
        # An INTEGER PRIMARY KEY column is the rowid; SQLite then makes no index for the key.
        rowid_alias = pk_cols[0]
        autoincrement = bool(conn.column_metadata("main", name, rowid_alias)[4])
    checks, deferrals = _checks_and_deferrals(sql, obj)
    fks: dict[int, list[tuple]] = {}
    for fk_id, _seq, parent, from_col, to_col, on_update, on_delete, match in conn.execute(
        f'PRAGMA main.foreign_key_list("{_q(name)}")'
    ):
        fks.setdefault(fk_id, []).append((parent, from_col, to_col, on_update, on_delete, match))
    foreign_keys = []
    for fk_id in sorted(fks, reverse=True):  # SQLite lists the last-declared key first
        rows = fks[fk_id]
        order = len(fks) - 1 - fk_id
        foreign_keys.append(ForeignKey(
            tuple(r[1] for r in rows), rows[0][0], tuple(r[2] for r in rows), rows[0][3], rows[0][4], rows[0][5],
            deferrals[order] if order < len(deferrals) else False,
        ))
    return Table(name, sql, tuple(columns), without_rowid, strict, rowid_alias, autoincrement, pk_cols,
                 tuple(checks), tuple(foreign_keys), tuple(constraint_indexes))


PRAGMAS = ("user_version", "application_id", "journal_mode", "encoding", "page_size", "auto_vacuum")


def read_schema(conn: apsw.Connection) -> SqliteSchema:
    """The whole schema of the ``main`` database of ``conn``, read through SQLite.

    Call inside a read transaction when the file may be written concurrently, so that the schema
    and any data read after it come from one snapshot.
    """
    try:
        master = read_master(conn)
        table_kinds = {name: (bool(wr), bool(strict)) for _, name, kind, _, wr, strict in
                       conn.execute("PRAGMA main.table_list") if kind in ("table", "shadow")}
    except apsw.NotADBError as exc:
        raise SourceError(f"not a SQLite database: {exc}") from None
    except apsw.Error as exc:
        raise SourceError(f"cannot read the schema: {exc}") from None
    tables, indexes, views, triggers, virtual = [], [], [], [], []
    for row in master:
        if row.type == "table":
            if row.name in INTERNAL_TABLES:
                continue
            if (row.sql or "").upper().startswith("CREATE VIRTUAL"):
                virtual.append(row)
                continue
            wr, strict = table_kinds[row.name]
            tables.append(_read_table(conn, row.name, row.sql or "", wr, strict))
        elif row.type == "index" and row.sql is not None:
            info = {n: (u, o, p) for _, n, u, o, p in conn.execute(f'PRAGMA main.index_list("{_q(row.tbl_name)}")')}
            unique, origin, partial = info[row.name]
            indexes.append(_read_index(conn, row.name, row.tbl_name, bool(unique), origin, bool(partial), row.sql))
        elif row.type == "view":
            views.append(row)
        elif row.type == "trigger":
            triggers.append(row)
    pragmas = {p: next(iter(conn.execute(f"PRAGMA main.{p}")))[0] for p in PRAGMAS}
    return SqliteSchema(master, tuple(tables), tuple(indexes), tuple(views), tuple(triggers), tuple(virtual), pragmas)
