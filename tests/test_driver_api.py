"""The driver's ``sqlite3`` API surface beyond statements: transaction control (legacy and
Python 3.12's ``autocommit``), ``check_same_thread``, ``iterdump()``, ``interrupt()``, the cursor's
attributes, the refused extension points and the module's names.

Differential where Python 3.11's ``sqlite3`` has the behaviour (the same calls on both, what the
application sees compared); ``autocommit`` exists only from Python 3.12, so it is checked
against CPython's documented semantics (and Modules/_sqlite/connection.c).
"""

from __future__ import annotations

import datetime
import re
import sqlite3
import sqlite3.dump
import threading
import types
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import apsw
import pytest

import sqlmite

# Public names of Python 3.11's sqlite3 that sqlmite does not provide, each with its reason in
# docs/driver.md (checked below).
INTENTIONALLY_MISSING = {
    "Blob",  # blobopen() is refused: incremental blob I/O needs SQLite's storage
    "enable_shared_cache",  # SQLite's shared cache has no meaning over PostgreSQL (removed in 3.12)
}


def open_ours(pg_dsn: str, schema: str | None = None, **kwargs: Any) -> Any:
    return sqlmite.connect("api.db", database_url=pg_dsn, schema=schema or f"api_{uuid.uuid4().hex[:8]}", **kwargs)


@pytest.fixture
def pair(pg_dsn: str) -> Iterator[tuple[sqlite3.Connection, Any]]:
    reference, ours = sqlite3.connect(":memory:"), open_ours(pg_dsn)
    for conn in (reference, ours):
        conn.execute("CREATE TABLE t (x INTEGER, y TEXT)")
        conn.commit()
    yield reference, ours
    reference.close()
    ours.close()


def outcome(action: Callable[[], Any]) -> Any:
    """What the application sees of one call: its value (a cursor or connection by its class
    name), or its exception's class and message."""
    try:
        value = action()
    except Exception as exc:  # noqa: BLE001 - the class and message are what is compared
        bases = [c.__name__ for c in type(exc).__mro__ if c.__module__ in ("sqlite3", "builtins")]
        return ("raised", bases[0], str(exc))
    if isinstance(value, (sqlite3.Cursor, sqlite3.Connection, sqlmite.Cursor, sqlmite.Connection)):
        return type(value).__name__
    return value


# -- legacy transaction control (differential) ----------------------------------------------------


def legacy_script(conn: Any) -> list[Any]:
    seen = []

    def note(action: Callable[[], Any]) -> None:
        seen.append((outcome(action), conn.in_transaction))

    note(lambda: conn.execute("INSERT INTO t VALUES (1, 'a')").rowcount)
    note(conn.commit)
    note(lambda: conn.execute("INSERT INTO nosuch VALUES (1)"))  # fails to prepare: no BEGIN
    note(lambda: conn.execute("INSERT INTO t VALUES (1, 2, 3)"))
    note(lambda: conn.executemany("INSERT INTO t VALUES (?, ?)", 5))  # not iterable: no BEGIN either
    note(lambda: conn.executemany("INSERT INTO t VALUES (?, ?)", []).rowcount)  # BEGIN, even for no rows
    note(conn.rollback)
    note(lambda: conn.execute("/* a comment */ -- and another\n UPDATE t SET y = 'b'").rowcount)  # still DML
    note(lambda: setattr(conn, "isolation_level", None))  # commits, as sqlite3 does
    note(lambda: conn.execute("BEGIN"))
    note(lambda: conn.execute("INSERT INTO t VALUES (2, 'c')").rowcount)
    note(lambda: conn.executescript("SELECT 1;"))  # commits first, whatever the isolation level
    note(lambda: conn.execute("SELECT x, y FROM t ORDER BY x").fetchall())
    note(lambda: setattr(conn, "isolation_level", "immediate"))
    note(lambda: conn.isolation_level)
    note(lambda: conn.execute("DELETE FROM t WHERE x = 2").rowcount)
    note(conn.rollback)
    note(lambda: setattr(conn, "isolation_level", "SERIALIZABLE"))
    note(lambda: setattr(conn, "isolation_level", 1))
    note(lambda: delattr(conn, "isolation_level"))
    note(lambda: conn.isolation_level)
    with conn:
        conn.execute("INSERT INTO t VALUES (3, 'd')")
    note(lambda: conn.execute("SELECT x, y FROM t ORDER BY x").fetchall())
    return seen


def test_legacy_transaction_control_follows_sqlite3(pair: tuple[sqlite3.Connection, Any]) -> None:
    reference, ours = pair
    assert ours.autocommit == sqlmite.LEGACY_TRANSACTION_CONTROL == -1
    assert legacy_script(reference) == legacy_script(ours)


def test_connect_checks_isolation_level_and_autocommit(pg_dsn: str) -> None:
    for bad in ("SERIALIZABLE", 3):
        assert outcome(lambda bad=bad: sqlite3.connect(":memory:", isolation_level=bad)) == \
            outcome(lambda bad=bad: open_ours(pg_dsn, isolation_level=bad))
    for bad in (1, 0, None, "yes", -2):
        assert outcome(lambda bad=bad: open_ours(pg_dsn, autocommit=bad)) == (
            "raised", "ValueError", "autocommit must be True, False, or sqlite3.LEGACY_TRANSACTION_CONTROL")


# -- Python 3.12's autocommit (documented semantics) -----------------------------------------------


def rows(conn: Any) -> list[Any]:
    return conn.execute("SELECT x FROM t ORDER BY x").fetchall()


def test_autocommit_true_commits_every_statement(pg_dsn: str) -> None:
    schema = f"api_{uuid.uuid4().hex[:8]}"
    conn, other = open_ours(pg_dsn, schema, autocommit=True), None
    try:
        assert conn.autocommit is True
        conn.execute("CREATE TABLE t (x INTEGER)")
        conn.execute("INSERT INTO t VALUES (1)")
        assert not conn.in_transaction
        other = open_ours(pg_dsn, schema)
        assert rows(other) == [(1,)]  # committed: another connection sees it
        conn.execute("BEGIN")  # explicit transactions still work ...
        conn.execute("INSERT INTO t VALUES (2)")
        conn.rollback()  # ... but commit() and rollback() do nothing
        conn.commit()
        assert conn.in_transaction
        conn.execute("ROLLBACK")
        assert rows(conn) == [(1,)]
        conn.isolation_level = "DEFERRED"  # ignored outside legacy control
        conn.execute("INSERT INTO t VALUES (3)")
        assert not conn.in_transaction
    finally:
        conn.close()
        if other is not None:
            other.close()


def test_autocommit_false_keeps_a_transaction_open(pg_dsn: str) -> None:
    schema = f"api_{uuid.uuid4().hex[:8]}"
    conn, other = open_ours(pg_dsn, schema, autocommit=False), None
    try:
        assert conn.autocommit is False and conn.in_transaction  # BEGIN right after connect
        conn.execute("CREATE TABLE t (x INTEGER)")
        conn.execute("INSERT INTO t VALUES (1)")
        conn.rollback()  # rolls back and opens the next transaction
        assert conn.in_transaction
        assert outcome(lambda: rows(conn))[0] == "raised"  # the table went with the rollback
        conn.execute("CREATE TABLE t (x INTEGER)")
        conn.execute("INSERT INTO t VALUES (1)")
        conn.commit()
        other = open_ours(pg_dsn, schema)  # committed: another connection sees the table and its row
        assert conn.in_transaction and rows(other) == [(1,)]
        conn.executescript("INSERT INTO t VALUES (2);")  # no commit first: still the same transaction
        assert conn.in_transaction
        conn.rollback()
        with conn:  # commit(): COMMIT, then BEGIN
            conn.execute("INSERT INTO t VALUES (3)")
        assert conn.in_transaction and rows(other) == [(1,), (3,)]
        conn.isolation_level = None  # calls commit(): in this mode that opens the next transaction
        assert conn.in_transaction
        conn.execute("INSERT INTO t VALUES (4)")
        conn.close()  # rolls back
        assert rows(other) == [(1,), (3,)]
    finally:
        conn.close()
        if other is not None:
            other.close()


def test_setting_autocommit_at_run_time(pg_dsn: str) -> None:
    conn = open_ours(pg_dsn)
    try:
        conn.execute("CREATE TABLE t (x INTEGER)")
        conn.execute("INSERT INTO t VALUES (1)")  # legacy: an implicit BEGIN
        assert conn.in_transaction
        conn.autocommit = False  # a transaction is open already: nothing to do
        assert conn.in_transaction
        conn.autocommit = True  # commits the open transaction
        assert not conn.in_transaction and conn.autocommit is True
        conn.execute("INSERT INTO t VALUES (2)")
        assert not conn.in_transaction
        conn.autocommit = False  # opens one
        assert conn.in_transaction
        conn.execute("INSERT INTO t VALUES (3)")
        conn.autocommit = sqlmite.LEGACY_TRANSACTION_CONTROL  # changes nothing by itself
        assert conn.in_transaction and conn.autocommit == -1
        conn.rollback()
        assert not conn.in_transaction and rows(conn) == [(1,), (2,)]
        for bad in (1, 0, None):
            assert outcome(lambda bad=bad: setattr(conn, "autocommit", bad)) == (
                "raised", "ValueError", "autocommit must be True, False, or sqlite3.LEGACY_TRANSACTION_CONTROL")
    finally:
        conn.close()


# -- check_same_thread (differential, with a real thread) ------------------------------------------


def from_another_thread(conn: Any, cursor: Any) -> dict[str, Any]:
    """Each use from a second thread, and whether it was refused (thread ids made comparable)."""
    calls: dict[str, Callable[[], Any]] = {
        "execute": lambda: conn.execute("SELECT 1"), "cursor": conn.cursor, "commit": conn.commit,
        "rollback": conn.rollback, "fetchone": cursor.fetchone, "cursor.execute": lambda: cursor.execute("SELECT 1"),
        "cursor.close": cursor.close, "iterdump": lambda: next(conn.iterdump()), "close": conn.close,
        "set_trace_callback": lambda: conn.set_trace_callback(None), "in_transaction": lambda: conn.in_transaction,
        "total_changes": lambda: conn.total_changes, "isolation_level": lambda: conn.isolation_level,
        "interrupt": conn.interrupt,
    }
    seen: dict[str, Any] = {}

    def run() -> None:
        for name, call in calls.items():
            got = outcome(call)
            if isinstance(got, tuple) and got and got[0] == "raised":
                got = (got[1], re.sub(r"thread id \d+", "thread id N", got[2]))
            seen[name] = got

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    return seen


def test_check_same_thread_refuses_other_threads(pair: tuple[sqlite3.Connection, Any]) -> None:
    reference, ours = pair
    expected = from_another_thread(reference, reference.execute("SELECT 1"))
    assert from_another_thread(ours, ours.execute("SELECT 1")) == expected
    refused = ("SQLite objects created in a thread can only be used in that same thread. The object was created in "
               "thread id {} and this is thread id {}.")
    assert expected["execute"] == ("ProgrammingError", refused.format("N", "N"))
    worker: list[int] = []

    def use() -> Any:
        worker.append(threading.get_ident())
        return ours.execute("SELECT 1")

    assert outcome(lambda: _in_thread(use)) == ("raised", "ProgrammingError",
                                                refused.format(threading.get_ident(), worker[0]))
    assert ours.execute("SELECT 2").fetchall() == [(2,)]  # the creating thread still may


def _in_thread(call: Callable[[], Any]) -> Any:
    box: list[Any] = []

    def run() -> None:
        try:
            box.append(call())
        except Exception as exc:  # noqa: BLE001 - handed back to the caller
            box.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    if isinstance(box[0], Exception):
        raise box[0]
    return box[0]


def test_check_same_thread_false_allows_other_threads(pg_dsn: str) -> None:
    conn = open_ours(pg_dsn, check_same_thread=False)
    try:
        assert _in_thread(lambda: conn.execute("SELECT 1 + 1").fetchall()) == [(2,)]
    finally:
        _in_thread(conn.close)
    assert outcome(lambda: conn.execute("SELECT 1")) == ("raised", "ProgrammingError",
                                                         "Cannot operate on a closed database.")


# -- iterdump (differential) ----------------------------------------------------------------------

DUMP_SCHEMA = '''
CREATE TABLE t1 (id INTEGER PRIMARY KEY, i INTEGER, r REAL, s TEXT, b BLOB, n);
CREATE INDEX t1_s ON t1 (s);
CREATE TABLE "odd ""name""" ("col ""q""" TEXT, other);
CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER) WITHOUT ROWID;
CREATE INDEX kv_v ON kv (v);
CREATE TABLE plain (a, b);
CREATE TABLE empty (e);
'''
DUMP_ROWS: list[tuple[str, tuple[Any, ...]]] = [
    ("INSERT INTO t1 VALUES (?, ?, ?, ?, ?, ?)", (5, -9223372036854775808, 1.5, "it's", b"\x00\xff", None)),
    ("INSERT INTO t1 VALUES (?, ?, ?, ?, ?, ?)", (2, 42, 1e100, 'say "hi"', b"", 3.25)),
    ("INSERT INTO t1 VALUES (?, ?, ?, ?, ?, ?)", (3, None, -0.25, "Élan ☃\nnext line", None, "x")),
    ("INSERT INTO t1 (i, r, s) VALUES (?, ?, ?)", (9223372036854775807, 100.0, "")),
    ('INSERT INTO "odd ""name""" VALUES (?, ?)', ("a'b", 1)),
    ("INSERT INTO kv VALUES (?, ?)", ("b", 2)),  # read through the covering index kv_v: by v
    ("INSERT INTO kv VALUES (?, ?)", ("a", 3)),
    ("INSERT INTO kv VALUES (?, ?)", ("c", 1)),
    ("INSERT INTO plain VALUES (?, ?)", ("z", 1)),
    ("INSERT INTO plain VALUES (?, ?)", (1, "z")),
    ("INSERT INTO plain VALUES (?, ?)", (0.1, None)),
    ("DELETE FROM plain WHERE rowid = 1", ()),
    ("INSERT INTO plain VALUES (?, ?)", (b"\x01", -1)),
]


def build(conn: Any, schema: str, statements: list[tuple[str, tuple[Any, ...]]]) -> None:
    conn.executescript(schema)
    for sql, params in statements:
        conn.execute(sql, params)
    conn.commit()


def test_iterdump_is_sqlite3s(pair: tuple[sqlite3.Connection, Any]) -> None:
    reference, ours = pair
    for conn in pair:
        build(conn, DUMP_SCHEMA, DUMP_ROWS)
    expected = list(reference.iterdump())
    assert list(ours.iterdump()) == expected
    assert 'INSERT INTO "kv" VALUES(\'c\',1);' in expected  # the covering-index order was exercised
    restored = sqlite3.connect(":memory:")  # and the dump restores the database
    restored.executescript("\n".join(expected))
    assert list(restored.iterdump()) == expected


def test_iterdump_reals_as_the_sqlite_sqlmite_answers_with(pg_dsn: str) -> None:
    """A REAL's text is SQLite's quote() of it, whose digits changed between SQLite versions
    (Python's sqlite3 may link an older one): compared with CPython's own dump code run on
    APSW's SQLite, the one sqlmite answers as (docs/driver.md, "Which SQLite")."""
    reals = [1 / 3, 0.30000000000000004, 2.0 ** 70, 1e16, 5e-324, 123456789.123456789, float("inf"), -0.0]
    statements = [("INSERT INTO r VALUES (?)", (v,)) for v in reals]
    reference = apsw.Connection(":memory:")
    reference.execute("CREATE TABLE r (v REAL)")
    for sql, params in statements:
        reference.execute(sql, params)
    ours = open_ours(pg_dsn)
    try:
        build(ours, "CREATE TABLE r (v REAL);", statements)
        assert list(ours.iterdump()) == list(sqlite3.dump._iterdump(reference))
    finally:
        ours.close()


def test_iterdump_sqlite_sequence(pair: tuple[sqlite3.Connection, Any]) -> None:
    """AUTOINCREMENT: CPython dumps sqlite_sequence's rows at the end. Where the engine cannot read
    sqlite_sequence, the dump must refuse it by name at the point it reaches it, never invent it."""
    reference, ours = pair
    script = "CREATE TABLE ai (id INTEGER PRIMARY KEY AUTOINCREMENT, x); CREATE TABLE zz (z);"
    statements: list[tuple[str, tuple[Any, ...]]] = [
        ("INSERT INTO ai (x) VALUES (?)", ("one",)), ("INSERT INTO ai (id, x) VALUES (?, ?)", (10, "ten")),
        ("DELETE FROM ai WHERE id = 10", ()), ("INSERT INTO zz VALUES (?)", (1,))]
    for conn in pair:
        build(conn, script, statements)
    expected = list(reference.iterdump())
    if outcome(lambda: ours.execute("SELECT name, seq FROM sqlite_sequence").fetchall())[0] != "raised":
        assert list(ours.iterdump()) == expected
        return
    got: list[str] = []  # the engine cannot read sqlite_sequence: the dump stops there, saying so
    with pytest.raises(sqlmite.NotSupportedError, match="sqlite_sequence"):
        got.extend(ours.iterdump())
    assert got == expected[:len(got)]


def test_iterdump_checks_the_connection(pg_dsn: str) -> None:
    conn = open_ours(pg_dsn)
    dump = conn.iterdump()
    assert outcome(lambda: _in_thread(lambda: next(dump)))[1] == "ProgrammingError"  # checked when it reads
    conn.close()
    assert outcome(conn.iterdump) == ("raised", "ProgrammingError", "Cannot operate on a closed database.")


# -- interrupt (differential, with a real thread) -------------------------------------------------

LONG_READ = "SELECT count(*) FROM big a, big b, big c"  # a billion rows: seconds on either side
LONG_WRITE = "INSERT INTO t (x) SELECT count(*) FROM big a, big b, big c"  # one row: nothing piles up


def interrupted(conn: Any) -> list[Any]:
    conn.execute("CREATE TABLE big (n INTEGER)")
    conn.executemany("INSERT INTO big VALUES (?)", [(n,) for n in range(1000)])
    conn.commit()
    seen: list[Any] = []
    for sql in (LONG_READ, LONG_WRITE):
        conn.execute("INSERT INTO t VALUES (7, 'in the transaction')")
        timer = threading.Timer(0.3, conn.interrupt)
        timer.start()
        got = outcome(lambda sql=sql: conn.execute(sql).fetchall())
        timer.join()
        # A read keeps the transaction; an interrupted write rolls all of it back, as SQLite does.
        seen.append((got, conn.in_transaction, conn.execute("SELECT count(*) FROM t").fetchall()))
        conn.rollback()
    conn.interrupt()  # nothing running: nothing happens
    seen.append(conn.execute("SELECT count(*) FROM big").fetchall())
    return seen


def test_interrupt_stops_the_running_statement(pair: tuple[sqlite3.Connection, Any]) -> None:
    reference, ours = pair  # interrupt() comes from a timer thread: it is the one call any thread may make
    expected = interrupted(reference)
    assert expected[0][0] == ("raised", "OperationalError", "interrupted")
    assert interrupted(ours) == expected


# -- cursors (differential) ----------------------------------------------------------------------


def cursor_script(conn: Any) -> list[Any]:
    cursor = conn.cursor()
    seen: list[Any] = [cursor.connection is conn, cursor.arraysize, cursor.rowcount, cursor.lastrowid,
                       cursor.description]
    conn.executemany("INSERT INTO t VALUES (?, ?)", [(n, str(n)) for n in range(1, 8)])
    seen.append(cursor.execute("INSERT INTO t VALUES (8, 'eight')").lastrowid)
    seen.append(cursor.execute("UPDATE t SET y = 'even' WHERE x % 2 = 0").rowcount)
    cursor.execute("SELECT x, y FROM t ORDER BY x")
    seen += [cursor.rowcount, cursor.description, iter(cursor) is cursor, cursor.fetchone(), next(cursor)]
    seen += [cursor.fetchmany(), cursor.fetchmany(size=2)]
    cursor.arraysize = 2
    seen += [cursor.fetchmany(), list(cursor), cursor.fetchone(), cursor.fetchmany()]
    cursor.execute("SELECT x FROM t ORDER BY x")
    seen.append(cursor.fetchmany(0))  # zero (or less): every row, as sqlite3
    cursor.execute("SELECT x FROM t ORDER BY x")
    seen.append(cursor.fetchmany(-1))
    cursor.execute("SELECT x FROM t ORDER BY x")
    seen.append(outcome(lambda: cursor.execute("SELEC")))  # a failed execute forgets the earlier rows
    seen += [cursor.fetchall(), cursor.description, cursor.rowcount, cursor.lastrowid]
    seen.append(conn.executescript("INSERT INTO t VALUES (9, 'nine'); SELECT x FROM t;").fetchall())
    for name in ("connection", "description", "rowcount", "lastrowid"):
        seen.append(outcome(lambda name=name: setattr(cursor, name, None))[:2])
    cursor.execute("SELECT x FROM t ORDER BY x")
    cursor.close()
    for call in (cursor.fetchone, cursor.fetchall, lambda: next(cursor), lambda: cursor.execute("SELECT 1"),
                 lambda: cursor.executemany("INSERT INTO t VALUES (?, ?)", [])):
        seen.append(outcome(call))
    seen += [outcome(cursor.close), cursor.description]
    other = conn.execute("SELECT 1")
    seen.append(outcome(lambda: conn.cursor(lambda c: 1)))
    seen.append(type(conn.cursor(factory=type(other))).__name__)
    conn.commit()
    conn.close()
    seen += [outcome(other.fetchone), outcome(other.close), outcome(lambda: conn.in_transaction),
             outcome(lambda: conn.total_changes), outcome(conn.commit), outcome(conn.close),
             outcome(conn.__enter__)]
    return seen


def test_cursor_attributes_and_closing_follow_sqlite3(pair: tuple[sqlite3.Connection, Any]) -> None:
    reference, ours = pair
    expected = cursor_script(reference)
    assert cursor_script(ours) == expected


# -- types, converters, adapters (differential) ------------------------------------------------------


def test_default_adapters_and_converters(pg_dsn: str) -> None:
    """sqlite3's default date/datetime adapters and converters, PARSE_DECLTYPES and PARSE_COLNAMES
    (column names cut at " [type]"), and converters reading SQLite's text of each value."""
    day, moment = datetime.date(2024, 2, 29), datetime.datetime(2024, 2, 29, 13, 14, 15, 123456)
    detect = sqlite3.PARSE_DECLTYPES | sqlite3.PARSE_COLNAMES
    reference, ours = sqlite3.connect(":memory:", detect_types=detect), open_ours(pg_dsn, detect_types=detect)
    try:
        got = []
        for module, conn in ((sqlite3, reference), (sqlmite, ours)):
            module.register_converter("api_tagged", lambda raw: ("tagged", raw))
            conn.execute("CREATE TABLE d (day DATE, at TIMESTAMP, tagged API_TAGGED(4), r REAL)")
            conn.execute("INSERT INTO d VALUES (?, ?, ?, ?)", (day, moment, 1.5, 2.5))
            cursor = conn.execute('SELECT day, at, tagged, r AS "r [api_tagged]", \'x\' AS "plain [none]", '
                                  '2 AS "n[api_tagged]", r FROM d')
            got.append((cursor.fetchall(), cursor.description))
        assert got[1] == got[0]
        assert got[0][0][0][:4] == (day, moment, ("tagged", b"1.5"), ("tagged", b"2.5"))
    finally:
        sqlite3.converters.pop("API_TAGGED", None)
        sqlmite.converters.pop("API_TAGGED", None)
        reference.close()
        ours.close()
    assert sqlmite.adapt(day) == sqlite3.adapt(day) == "2024-02-29"
    assert outcome(lambda: sqlmite.adapt(object())) == outcome(lambda: sqlite3.adapt(object()))


# -- what sqlmite refuses, and what it accepts instead ------------------------------------------------


@pytest.mark.parametrize(("method", "args"), [
    ("blobopen", ("t", "x", 1)), ("serialize", ()), ("deserialize", (b"",)), ("enable_load_extension", (True,)),
    ("load_extension", ("x",)), ("set_authorizer", (lambda *a: 0,)), ("set_progress_handler", (lambda: 0, 10)),
    ("setlimit", (sqlite3.SQLITE_LIMIT_LENGTH, 10)), ("getlimit", (sqlite3.SQLITE_LIMIT_LENGTH,)),
    ("set_trace_callback", (print,)), ("backup", (None,)),
])
def test_refused_methods_say_so(pair: tuple[sqlite3.Connection, Any], method: str, args: tuple[Any, ...]) -> None:
    ours = pair[1]
    with pytest.raises(sqlmite.NotSupportedError, match=method):
        getattr(ours, method)(*args)
    assert issubclass(sqlmite.NotSupportedError, sqlite3.NotSupportedError)


def test_removing_callbacks_is_accepted(pair: tuple[sqlite3.Connection, Any]) -> None:
    for conn in pair:  # None means "no callback": sqlmite has none, so there is nothing to remove
        assert conn.set_trace_callback(None) is None
        assert conn.set_authorizer(None) is None
        assert conn.set_progress_handler(None, 10) is None
    assert pair[1].Error is sqlmite.Error and pair[1].NotSupportedError is sqlmite.NotSupportedError


# -- the module ------------------------------------------------------------------------------------


def test_module_names_match_sqlite3() -> None:
    # Its names, less the modules it imports (collections, datetime, time; sqlite3.dump once
    # imported): those are not its API, except dbapi2.
    public = {name for name in dir(sqlite3) if not name.startswith("_")
              and not isinstance(getattr(sqlite3, name), types.ModuleType)} | {"dbapi2"}
    missing = sorted(name for name in public - INTENTIONALLY_MISSING if not hasattr(sqlmite, name))
    assert not missing, f"sqlite3 names sqlmite lacks: {missing}"
    for name in public - INTENTIONALLY_MISSING:  # constants: SQLite's numbers, as sqlite3 has them
        if name.startswith(("SQLITE_", "PARSE_")):
            assert getattr(sqlmite, name) == getattr(sqlite3, name), name
    assert sqlmite.LEGACY_TRANSACTION_CONTROL == -1
    assert sqlmite.PrepareProtocol is sqlite3.PrepareProtocol and sqlmite.Date is datetime.date
    assert sqlmite.dbapi2.connect is sqlmite.connect
    docs = (Path(__file__).parent.parent / "docs" / "driver.md").read_text()
    section = docs.split("Intentionally missing", 1)[1].split("\n\n", 1)[0]
    assert {name for name in INTENTIONALLY_MISSING if f"`{name}`" in section} == INTENTIONALLY_MISSING


def test_connect_hands_its_arguments_to_the_factory(pg_dsn: str) -> None:
    seen: list[Any] = []
    schema = f"api_{uuid.uuid4().hex[:8]}"
    for module, settings in ((sqlite3, {}), (sqlmite, {"database_url": pg_dsn, "schema": schema})):
        class Mine(module.Connection):  # type: ignore[name-defined,misc]
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                seen.append((args, sorted(k for k in kwargs if k not in ("database_url", "schema"))))
                super().__init__(*args, **kwargs)

        conn = module.connect(":memory:" if module is sqlite3 else "api.db", 2.0, factory=Mine, **settings)
        assert isinstance(conn, Mine)
        conn.close()
    assert seen[1] == (("api.db", 2.0), ["factory"]) and seen[0] == ((":memory:", 2.0), ["factory"])
    direct = sqlmite.Connection("api.db", isolation_level="exclusive", database_url=pg_dsn, schema=schema)
    assert direct.isolation_level == "EXCLUSIVE"  # the class opens a database by itself, as sqlite3's does
    direct.close()


def test_returning_counts_rows_once_fetched(pair: tuple[sqlite3.Connection, Any]) -> None:
    """sqlite3 reports a RETURNING statement's rowcount as 0 until every row is fetched."""
    seen = []
    for conn in pair:
        conn.execute("CREATE TABLE ret (id INTEGER PRIMARY KEY, x INTEGER)")
        conn.executemany("INSERT INTO ret VALUES (?, ?)", [(1, 1), (2, 2), (3, 3)])
        out: list[Any] = []
        cur = conn.execute("UPDATE ret SET x = x + 1 RETURNING id, x")
        out += [cur.rowcount, cur.fetchone(), cur.rowcount, sorted(cur.fetchall()), cur.rowcount]
        cur = conn.execute("DELETE FROM ret WHERE id > 1 RETURNING *")
        out += [cur.rowcount, sorted(cur.fetchall()), cur.rowcount, cur.lastrowid]
        cur = conn.execute("INSERT INTO ret (x) VALUES (9) RETURNING id")
        out += [cur.rowcount, cur.lastrowid, cur.fetchall(), cur.rowcount]
        seen.append(out)
    assert seen[0] == seen[1]


class _Total:
    def __init__(self) -> None:
        self.total = 0

    def step(self, value: Any) -> None:
        self.total += value

    def inverse(self, value: Any) -> None:
        self.total -= value

    def value(self) -> Any:
        return self.total

    def finalize(self) -> Any:
        return self.total


class _Broken(_Total):
    def step(self, value: Any) -> None:
        raise ValueError(value)


def test_python_functions_run_where_sqlite_answers(pair: tuple[sqlite3.Connection, Any]) -> None:
    """Registered functions, aggregates, windows and collations answer as in sqlite3 on statements
    that read no table; on table data they are refused by name (PostgreSQL cannot call Python)."""
    statements = [
        "SELECT twice(21), twice('ab')", "SELECT boom(1)",
        "SELECT total_of(x) FROM (VALUES (1), (2), (3)) AS v(x)",
        "SELECT x, running(x) OVER (ORDER BY x ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) FROM (VALUES (1), (2), (4))",
        "SELECT broken(1)", "SELECT 'b' < 'A' COLLATE backwards, 'b' < 'A'",
    ]
    seen = []
    for conn in pair:
        conn.create_function("twice", 1, lambda v: v * 2, deterministic=True)
        conn.create_function("boom", 1, lambda v: 1 / 0)
        conn.create_aggregate("total_of", 1, _Total)
        conn.create_aggregate("broken", 1, _Broken)
        conn.create_window_function("running", 1, _Total)
        conn.create_collation("backwards", lambda a, b: (a < b) - (a > b))
        seen.append([outcome(lambda sql=sql, conn=conn: conn.execute(sql).fetchall()) for sql in statements])
    assert seen[0] == seen[1]
    ours = pair[1]
    ours.create_function("twice", 1, None)  # removed, as sqlite3's documentation says (3.11 calls None instead)
    with pytest.raises(sqlmite.OperationalError, match="no such function: twice"):
        ours.execute("SELECT twice(1)")
    ours.execute("CREATE TABLE fx (v INTEGER)")
    ours.create_function("twice", 1, lambda v: v * 2)
    for sql in ["SELECT twice(v) FROM fx", "SELECT v FROM fx ORDER BY v COLLATE backwards"]:
        with pytest.raises(sqlmite.NotSupportedError):
            ours.execute(sql)
