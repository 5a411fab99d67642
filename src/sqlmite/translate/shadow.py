"""The shadow: an in-memory SQLite holding the database's schema and none of its rows.

SQLite itself is the reference for everything that does not depend on rows: it parses and
checks each statement (so a syntax error or "no such table" is SQLite's own message), tells
through its authorizer what a statement reads, writes and calls, names the result columns,
answers the schema PRAGMAs and ``sqlite_master``, and applies affinity, defaults, NOT NULL and
CHECK to new rows exactly as it would. PostgreSQL is asked only what needs the rows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import apsw
import apsw.ext

from sqlmite.mapping.values import SqliteValue
from sqlmite.sqlite.rebuild import rebuild_schema
from sqlmite.sqlite.schema import MasterRow, SqliteSchema, read_master, read_schema
from sqlmite.translate.errors import from_sqlite

_NAMES = apsw.mapping_authorizer_function
_PRAGMA = re.compile(r"^\s*PRAGMA\b", re.IGNORECASE)


@dataclass(frozen=True)
class Action:
    """One authorizer report: ``a`` and ``b`` as SQLite passes them for that action (READ: table,
    column; FUNCTION: -, name; PRAGMA: name, value; TRANSACTION: operation; SAVEPOINT: operation,
    name; INSERT/DELETE/CREATE_TABLE: table)."""

    action_name: str
    a: str | None
    b: str | None

    @property
    def table_name(self) -> str | None:
        return self.a if self.action_name in ("SQLITE_READ", "SQLITE_INSERT", "SQLITE_UPDATE", "SQLITE_DELETE") else None

    @property
    def function_name(self) -> str | None:
        return self.b if self.action_name == "SQLITE_FUNCTION" else None


@dataclass(frozen=True)
class Described:
    first_query: str
    query_remaining: str | None
    description: tuple[tuple[str, str | None], ...]
    description_full: tuple[tuple[str, str | None, str | None, str | None, str | None], ...]
    actions: list[Action] = field(default_factory=list)


class Shadow:
    def __init__(self, master: Sequence[MasterRow], pragmas: Mapping[str, object]) -> None:
        self.conn = apsw.Connection(":memory:")
        rebuild_schema(self.conn, master, pragmas)
        self._scratch = apsw.Connection(":memory:")
        self._probes: dict[str, str] = {}

    def describe(self, sql: str) -> Described:
        """Prepare the first statement of ``sql`` without running it: its result columns (with
        the table and column each comes from), the authorizer's report of everything it touches,
        and the text after it."""
        actions: list[Action] = []
        triggers = self._triggers()

        def authorize(op: int, a: str | None, b: str | None, db: str | None, inner: str | None) -> int:
            # ``inner`` names the trigger, view or common table expression the action is part of:
            # what a trigger body does is not this statement's, what a view or a CTE reads is.
            if inner is None or inner.lower() not in triggers:
                actions.append(Action(_NAMES.get(op, str(op)), a, b))
            return apsw.SQLITE_OK

        # Flag PRAGMAs (foreign_keys, case_sensitive_like, ...) take effect when prepared: prepare
        # them on a scratch connection, so the shadow keeps SQLite's defaults (its tables are empty).
        conn = self._scratch if _PRAGMA.match(sql) else self.conn
        conn.authorizer = authorize
        try:
            details = apsw.ext.query_info(conn, sql)
        except apsw.Error as exc:
            raise from_sqlite(exc) from None
        finally:
            conn.authorizer = None
        return Described(details.first_query, details.query_remaining, details.description or (),
                         details.description_full or (), list(dict.fromkeys(actions)))

    def _triggers(self) -> set[str]:
        return {name.lower() for (name,) in self.conn.execute(
            "SELECT name FROM sqlite_schema WHERE type = 'trigger' UNION ALL "
            "SELECT name FROM temp.sqlite_schema WHERE type = 'trigger'")}

    def reads_tables(self, sql: str) -> bool:
        """True when ``sql`` opens a table or index other than ``sqlite_master`` (SQLite's bytecode
        says so even where its authorizer reports no column: ``SELECT count(*) FROM a, b``)."""
        try:
            program = apsw.ext.query_info(self.conn, sql, explain=True).explain or []
        except apsw.Error:
            return True  # let the statement's own run report what is wrong
        return any(i.opcode in ("OpenRead", "OpenWrite") and not (i.p2 == 1 and i.p3 in (0, 1)) for i in program)

    def run(self, sql: str, params: Any = None) -> tuple[tuple[tuple[str, str | None], ...],
                                                        list[tuple[SqliteValue, ...]]]:
        """Run a read on the shadow itself (schema PRAGMAs, ``sqlite_master``, no table at all):
        description, rows."""
        description = self.describe(sql).description or ()
        try:
            return tuple(description), list(self.conn.execute(sql, params))
        except apsw.Error as exc:
            raise from_sqlite(exc) from None

    def coerce_rows(self, sql: str, table: str, columns: Sequence[str],
                    rowid: str | None = "_rowid_", triggers: bool = True) -> list[tuple[SqliteValue, ...]]:
        """The rows an INSERT would store (affinity, defaults, NOT NULL and CHECK applied), as
        ``rowid, columns...`` (``rowid`` names it; None: a WITHOUT ROWID table, NULL); the shadow
        keeps none of them. ``triggers=False``: the table's triggers dropped for the while (a
        BEFORE trigger's RAISE(IGNORE) would otherwise hide the row PostgreSQL's trigger must see)."""
        quoted = ", ".join(_q(c) for c in columns)
        self.conn.execute("SAVEPOINT sqlmite_coerce")
        try:
            if not triggers:
                names = [r[0] for r in self.conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ? COLLATE NOCASE", (table,))]
                for name in names:
                    self.conn.execute(f"DROP TRIGGER main.{_q(name)}")
            self.conn.execute(sql)
            order = f" ORDER BY {rowid}" if rowid else ""
            return list(self.conn.execute(f"SELECT {rowid or 'NULL'}, {quoted} FROM main.{_q(table)}{order}"))
        except apsw.Error as exc:
            error = from_sqlite(exc)
            if self.conn.getautocommit():  # a trigger's RAISE(ROLLBACK) ended the whole transaction
                error.ends_transaction = True  # type: ignore[attr-defined]
            raise error from None
        finally:
            if not self.conn.getautocommit():
                self.conn.execute("ROLLBACK TO sqlmite_coerce")
                self.conn.execute("RELEASE sqlmite_coerce")

    def coerce(self, declared_type: str, value: SqliteValue) -> SqliteValue:
        """``value`` after the affinity of a column declared ``declared_type``."""
        probe = self._probes.setdefault(declared_type, f"sqlmite_probe_{len(self._probes)}")
        self.conn.execute("SAVEPOINT sqlmite_coerce")
        # Created inside the savepoint and rolled back with it: the application's transactions
        # never see it, and its ROLLBACK cannot take it away from under a later call.
        self.conn.execute(f"CREATE TEMP TABLE {probe} (v {declared_type})")
        try:
            self.conn.execute(f"INSERT INTO temp.{probe} VALUES (?)", (value,))
            return self.conn.execute(f"SELECT v FROM temp.{probe}").fetchone()[0]
        finally:
            self.conn.execute("ROLLBACK TO sqlmite_coerce")
            self.conn.execute("RELEASE sqlmite_coerce")

    def execute_ddl(self, sql: str) -> None:
        try:
            self.conn.execute(sql)
        except apsw.Error as exc:
            raise from_sqlite(exc) from None

    def master(self) -> tuple[MasterRow, ...]:
        return read_master(self.conn)

    def schema(self) -> SqliteSchema:
        return read_schema(self.conn)

    def pragma(self, name: str) -> Any:
        return self.conn.execute(f"PRAGMA main.{name}").fetchone()[0]

    def close(self) -> None:
        self.conn.close()
        self._scratch.close()


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
