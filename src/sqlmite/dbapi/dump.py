"""``Connection.iterdump()``: CPython 3.11's ``Lib/sqlite3/dump.py``, line for line, over sqlmite.

The schema comes from the shadow (``sqlite_master``, ``PRAGMA table_info``: what SQLite itself
answers), the rows from PostgreSQL through the driver, and each row's text from SQLite's own
``quote()`` on the shadow, exactly as CPython's query builds it. CPython reads a table with a
plain ``SELECT ... FROM t``, whose order is SQLite's scan order: the rowid, or for a covering
index scan (the query plan on the shadow says which; it depends on the schema alone) that
index's order. The rows are read in that same order with an explicit ORDER BY.

A table whose rows the driver cannot read (``sqlite_sequence``, for one) raises
``NotSupportedError`` naming it, at the point the dump reaches it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from sqlmite.translate.errors import NotSupportedError

if TYPE_CHECKING:
    from sqlmite.dbapi.connection import Connection

_TABLES = """
        SELECT "name", "type", "sql"
        FROM "sqlite_master"
            WHERE "sql" NOT NULL AND
            "type" == 'table'
            ORDER BY "name"
        """
_OTHERS = """
        SELECT "name", "type", "sql"
        FROM "sqlite_master"
            WHERE "sql" NOT NULL AND
            "type" IN ('index', 'trigger', 'view')
        """


def iterdump(connection: Connection) -> Iterator[str]:
    """The dump, as CPython 3.11's ``_iterdump`` yields it (same statements, same order)."""
    engine = connection._engine

    def read(sql: str) -> list[tuple[Any, ...]]:
        connection._check()  # as sqlite3: every statement of the dump checks the thread
        return engine.execute(sql).rows

    connection._check()  # CPython's first step, connection.cursor(), checks the thread
    writeable_schema = False
    yield "BEGIN TRANSACTION;"
    sqlite_sequence: list[str] = []
    for table_name, _type, sql in read(_TABLES):
        if table_name == "sqlite_sequence":
            rows = _read_rows(connection, 'SELECT * FROM "sqlite_sequence";', table_name)
            sqlite_sequence = ['DELETE FROM "sqlite_sequence"']
            sqlite_sequence += [f"INSERT INTO \"sqlite_sequence\" VALUES('{row[0]}',{row[1]})" for row in rows]
            continue
        elif table_name == "sqlite_stat1":
            yield 'ANALYZE "sqlite_master";'
        elif table_name.startswith("sqlite_"):
            continue
        elif sql.startswith("CREATE VIRTUAL TABLE"):
            if not writeable_schema:
                writeable_schema = True
                yield "PRAGMA writable_schema=ON;"
            yield ("INSERT INTO sqlite_master(type,name,tbl_name,rootpage,sql)"
                   "VALUES('table','{0}','{0}',0,'{1}');".format(table_name.replace("'", "''"), sql.replace("'", "''")))
        else:
            yield f"{sql};"
        table_name_ident = table_name.replace('"', '""')
        column_names = [str(info[1]) for info in read(f'PRAGMA table_info("{table_name_ident}")')]
        yield from _inserts(connection, table_name, column_names)
    for _name, _type, sql in read(_OTHERS):
        yield f"{sql};"
    if writeable_schema:
        yield "PRAGMA writable_schema=OFF;"
    for statement in sqlite_sequence:  # gh-79009: at the end of the transaction
        yield f"{statement};"
    yield "COMMIT;"


def _inserts(connection: Connection, table_name: str, column_names: list[str]) -> Iterator[str]:
    """``INSERT INTO "t" VALUES(...)`` per row, in the order CPython's query would return them."""
    engine = connection._engine
    ident = table_name.replace('"', '""')
    values = ",".join("""'||quote("{}")||'""".format(c.replace('"', '""')) for c in column_names)
    cpython = f"""SELECT 'INSERT INTO "{ident}" VALUES({values})' FROM "{ident}";"""
    connection._check()
    engine.shadow.describe(cpython)  # SQLite's own error where CPython's query would fail to prepare
    columns = ", ".join(_q(c) for c in column_names)
    order = _scan_order(connection, cpython, table_name)
    rows = _read_rows(connection, f"SELECT {columns} FROM {_q(table_name)} ORDER BY {order}", table_name)
    # The same expression as CPython's, with the values bound in place of the columns.
    text = f"""SELECT 'INSERT INTO "{ident}" VALUES({",".join("'||quote(?)||'" for _ in column_names)})'"""
    for row in rows:
        yield engine.shadow.conn.execute(text, tuple(row)).fetchone()[0] + ";"


def _read_rows(connection: Connection, sql: str, table_name: str) -> list[tuple[Any, ...]]:
    connection._check()
    try:
        return connection._engine.execute(sql).rows
    except NotSupportedError as exc:
        raise NotSupportedError(f"iterdump: the rows of table {table_name!r} cannot be read through sqlmite: "
                                f"{exc}") from None


def _scan_order(connection: Connection, cpython: str, table_name: str) -> str:
    """The ORDER BY giving SQLite's order for CPython's full scan of the table: the rowid, the
    primary key of a WITHOUT ROWID table, or the covering index the plan names."""
    conn = connection._engine.shadow.conn
    plan = [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {cpython}")]
    scan = f"SCAN {table_name}"
    covering = f"{scan} USING COVERING INDEX "
    if len(plan) != 1 or not (plan[0] == scan or plan[0].startswith(covering)):
        raise NotSupportedError(f"iterdump: table {table_name!r} is read by SQLite as {' / '.join(plan)!r}; "
                                "sqlmite cannot give that order")
    names = [str(r[1]) for r in conn.execute("SELECT * FROM pragma_table_xinfo(?)", (table_name,))]
    if plan[0] != scan:
        index, keys_only = plan[0].removeprefix(covering), False
    elif conn.execute("SELECT wr FROM pragma_table_list WHERE schema = 'main' AND name = ?", (table_name,)).fetchone()[0]:
        index = conn.execute("SELECT name FROM pragma_index_list(?) WHERE origin = 'pk'", (table_name,)).fetchone()[0]
        keys_only = True
    else:
        return _rowid(names, table_name)
    terms = []
    for _seqno, cid, name, desc, coll, key in conn.execute("SELECT * FROM pragma_index_xinfo(?)", (index,)):
        if keys_only and not key:
            continue
        if cid == -2:
            raise NotSupportedError(f"iterdump: table {table_name!r} is read in the order of index {index!r}, on an "
                                    "expression; sqlmite cannot give that order")
        if cid == -1:
            terms.append(_rowid(names, table_name))
            continue
        # The column's own collation is left implicit: the translator orders by it as SQLite does.
        declared = conn.column_metadata("main", table_name, name)[1]
        collate = "" if str(coll).upper() == str(declared).upper() else f" COLLATE {coll}"
        terms.append(f"{_q(name)}{collate}{' DESC' if desc else ''}")
    return ", ".join(terms)


def _rowid(names: list[str], table_name: str) -> str:
    taken = {n.lower() for n in names}
    for candidate in ("rowid", "_rowid_", "oid"):
        if candidate not in taken:
            return candidate
    raise NotSupportedError(f"iterdump: every name of the rowid of table {table_name!r} is a column's")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
