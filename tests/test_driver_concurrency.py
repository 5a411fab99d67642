"""One writer at a time, as SQLite: the same scenarios on two ``sqlite3`` connections to one WAL
file and on two sqlmite connections to one database must end alike.

SQLite lets one connection write at a time; another writer waits ``timeout`` seconds, then fails
with "database is locked" (SQLITE_BUSY); readers never wait (WAL). sqlmite takes a per-database
PostgreSQL advisory lock at each transaction's first write (or at BEGIN IMMEDIATE), so two
connections writing through sqlmite meet the same rule instead of PostgreSQL's row locks (where
two inserts picking the same new rowid would end in a UNIQUE error).
"""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import sqlmite

Opener = Callable[[float], Any]


@pytest.fixture(params=["sqlite3", "sqlmite"])
def opener(request: pytest.FixtureRequest, tmp_path: Path, pg_dsn: str) -> Iterator[Opener]:
    """Connections to one fresh database (autocommit off, sqlite3's default transactions)."""
    opened: list[Any] = []
    if request.param == "sqlite3":
        path = tmp_path / "locks.db"
        setup = sqlite3.connect(path)
        setup.execute("PRAGMA journal_mode = wal")
        setup.close()

        def connect(timeout: float) -> Any:
            conn = sqlite3.connect(path, timeout=timeout, check_same_thread=False)
            opened.append(conn)
            return conn
    else:
        schema = f"locks_{uuid.uuid4().hex[:8]}"

        def connect(timeout: float) -> Any:
            conn = sqlmite.connect("locks.db", database_url=pg_dsn, schema=schema, timeout=timeout,
                                   check_same_thread=False)
            opened.append(conn)
            return conn
    first = connect(5.0)
    first.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    first.commit()
    yield connect
    for conn in opened:
        conn.close()


def test_a_second_writer_waits_then_is_told_the_database_is_locked(opener: Opener) -> None:
    a, b = opener(5.0), opener(0.3)
    a.execute("INSERT INTO t (v) VALUES ('a')")  # a's transaction holds the write lock
    started = time.monotonic()
    with pytest.raises(sqlite3.OperationalError, match="database is locked") as raised:
        b.execute("INSERT INTO t (v) VALUES ('b')")
    assert time.monotonic() - started >= 0.25
    assert raised.value.sqlite_errorcode == sqlite3.SQLITE_BUSY
    b.rollback()
    a.commit()
    b.execute("INSERT INTO t (v) VALUES ('b')")
    b.commit()
    assert b.execute("SELECT id, v FROM t ORDER BY id").fetchall() == [(1, "a"), (2, "b")]


def test_a_waiting_writer_goes_on_when_the_first_commits(opener: Opener) -> None:
    a, b = opener(5.0), opener(5.0)
    a.execute("INSERT INTO t (v) VALUES ('a')")
    done: list[Any] = []

    def write() -> None:
        b.execute("INSERT INTO t (v) VALUES ('b')")  # waits for a's commit, then takes the next rowid
        b.commit()
        done.append(time.monotonic())

    thread = threading.Thread(target=write)
    thread.start()
    time.sleep(0.3)
    assert not done
    committed = time.monotonic()
    a.commit()
    thread.join(10)
    assert done and done[0] >= committed
    assert a.execute("SELECT id, v FROM t ORDER BY id").fetchall() == [(1, "a"), (2, "b")]


def test_readers_never_wait(opener: Opener) -> None:
    a, b = opener(5.0), opener(0.2)
    a.execute("INSERT INTO t (v) VALUES ('uncommitted')")
    started = time.monotonic()
    assert b.execute("SELECT count(*) FROM t").fetchall() == [(0,)]  # the committed state
    assert time.monotonic() - started < 0.2
    a.rollback()


def test_begin_immediate_takes_the_lock_at_once(opener: Opener) -> None:
    a, b = opener(5.0), opener(0.2)
    a.isolation_level = None
    b.isolation_level = None
    a.execute("BEGIN IMMEDIATE")
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        b.execute("BEGIN IMMEDIATE")
    assert not b.in_transaction
    a.execute("COMMIT")
    b.execute("BEGIN IMMEDIATE")
    b.execute("COMMIT")


@pytest.mark.parametrize("write", [
    "INSERT INTO t (v) VALUES ('b')",  # one planned INSERT, autocommit
    "UPDATE t SET v = 'b'",
    "CREATE TABLE u (x)",
])
def test_autocommit_writes_wait_too(opener: Opener, write: str) -> None:
    a, b = opener(5.0), opener(0.2)
    b.isolation_level = None  # each statement its own transaction
    a.execute("INSERT INTO t (v) VALUES ('a')")
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        b.execute(write)
    a.commit()
    b.execute(write)


def test_executemany_waits_too(opener: Opener) -> None:
    a, b = opener(5.0), opener(0.2)
    a.execute("INSERT INTO t (v) VALUES ('a')")
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        b.executemany("INSERT INTO t (v) VALUES (?)", [("x",)] * 50)
    b.rollback()
    a.commit()
    b.executemany("INSERT INTO t (v) VALUES (?)", [("x",)] * 50)
    b.commit()
    assert b.execute("SELECT count(*), max(id) FROM t").fetchall() == [(51, 51)]


def test_other_databases_are_not_locked(pg_dsn: str) -> None:
    a = sqlmite.connect("one.db", database_url=pg_dsn, schema=f"lk1_{uuid.uuid4().hex[:8]}")
    b = sqlmite.connect("two.db", database_url=pg_dsn, schema=f"lk2_{uuid.uuid4().hex[:8]}", timeout=0.2)
    try:
        for conn in (a, b):
            conn.execute("CREATE TABLE t (x)")
            conn.commit()
        a.execute("INSERT INTO t VALUES (1)")
        b.execute("INSERT INTO t VALUES (2)")  # another database: no wait
        b.commit()
        a.commit()
    finally:
        a.close()
        b.close()
