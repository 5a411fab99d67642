"""Triggers through the driver, differentially against sqlite3: AFTER triggers whose bodies write
other tables, and BEFORE or AFTER checks with RAISE(ABORT, ...), become PL/pgSQL
(``translate/triggers.py``); what their bodies change, the order rows
are visited in (autoincrement ids in an audit table show it), ``changes()`` and
``total_changes()``, DROP TRIGGER and ALTER TABLE re-creating them must all be SQLite's. The forms
whose meaning does not carry over are refused by name.
"""

from __future__ import annotations

import sqlite3
import uuid
from typing import Any

import pytest
from driver_support import observe

import sqlmite

AUDIT = [
    "PRAGMA foreign_keys = ON",
    "CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL, kind TEXT)",
    "CREATE TABLE log (id INTEGER PRIMARY KEY AUTOINCREMENT, item INTEGER, what TEXT NOT NULL, at TEXT DEFAULT 'now')",
    "CREATE TABLE stats (kind TEXT PRIMARY KEY, n INTEGER NOT NULL DEFAULT 0)",
    "INSERT INTO stats VALUES ('a', 0), ('b', 0)",
    ("CREATE TRIGGER item_ins AFTER INSERT ON item BEGIN INSERT INTO log (item, what) VALUES (NEW.id, 'added ' || "
    "NEW.name); UPDATE stats SET n = n + 1 WHERE kind = NEW.kind; END"),
    ("CREATE TRIGGER item_upd AFTER UPDATE OF price ON item FOR EACH ROW WHEN NEW.price > OLD.price BEGIN "
    "INSERT INTO log (item, what) VALUES (NEW.id, 'dearer'); END"),
    ("CREATE TRIGGER item_del AFTER DELETE ON item BEGIN DELETE FROM log WHERE item = OLD.id; "
    "UPDATE stats SET n = n - 1 WHERE kind = OLD.kind; END"),
    "INSERT INTO item (name, price, kind) VALUES ('apple', 1.5, 'a')",
    "INSERT INTO item (name, price, kind) VALUES ('pear', 2.0, 'b'), ('plum', 3.0, 'a')",
    "SELECT total_changes()",
    "SELECT id, item, what FROM log ORDER BY id",
    "SELECT * FROM stats ORDER BY kind",
    "UPDATE item SET price = price + 1 WHERE kind = 'a'",
    "UPDATE item SET price = 0.5 WHERE name = 'pear'",
    "UPDATE item SET name = 'x' WHERE id = 1",
    "SELECT id, item, what FROM log ORDER BY id",
    "SELECT changes(), total_changes()",
    "DELETE FROM item WHERE id = 1",
    "SELECT id, item, what FROM log ORDER BY id",
    "SELECT * FROM stats ORDER BY kind",
    "SELECT total_changes()",
    "SELECT type, name, tbl_name FROM sqlite_master WHERE type = 'trigger' ORDER BY name",
    "INSERT INTO item (name, price, kind) VALUES (NULL, 1, 'a')",
    "BEGIN",
    "INSERT INTO item (name, price, kind) VALUES ('kiwi', 4, 'b')",
    "ROLLBACK",
    "SELECT id, item, what FROM log ORDER BY id",
    "DROP TRIGGER item_upd",
    "UPDATE item SET price = 100 WHERE id = 2",
    "SELECT id, item, what FROM log ORDER BY id",
    "ALTER TABLE item ADD COLUMN note TEXT",
    "INSERT INTO item (name, price, kind) VALUES ('fig', 1, 'b')",
    "SELECT id, item, what FROM log ORDER BY id",
    "SELECT * FROM stats ORDER BY kind",
    "DROP TABLE item",
    "SELECT name FROM sqlite_master WHERE type = 'trigger'",
]

ORDER = [
    "CREATE TABLE t2 (id INTEGER PRIMARY KEY, v INTEGER, tag TEXT)",
    "CREATE INDEX t2_v ON t2 (v)",
    "CREATE TABLE audit (n INTEGER PRIMARY KEY AUTOINCREMENT, rid INTEGER, old INTEGER, new INTEGER)",
    "CREATE TRIGGER t2_u AFTER UPDATE ON t2 BEGIN INSERT INTO audit (rid, old, new) VALUES (OLD.id, OLD.v, NEW.v); END",
    "CREATE TRIGGER t2_d AFTER DELETE ON t2 BEGIN INSERT INTO audit (rid, old) VALUES (OLD.id, OLD.v); END",
    "INSERT INTO t2 VALUES (1, 30, 'a'), (2, 10, 'b'), (3, 20, 'a'), (4, 40, 'b')",
    "UPDATE t2 SET v = v + 1 WHERE id = 3",
    "UPDATE t2 SET v = v * 2",
    "UPDATE t2 SET tag = 'z' WHERE v > 25 RETURNING id",
    "DELETE FROM t2 WHERE tag = 'z'",
    "UPDATE t2 SET v = 0 WHERE v BETWEEN 10 AND 50",
    "SELECT * FROM audit ORDER BY n",
    "SELECT changes(), total_changes()",
]


CHECKS = [
    "CREATE TABLE acct (id INTEGER PRIMARY KEY, owner TEXT, balance INTEGER)",
    "CREATE TABLE hist (id INTEGER PRIMARY KEY AUTOINCREMENT, acct INTEGER, delta INTEGER)",
    ("CREATE TRIGGER no_neg BEFORE INSERT ON acct WHEN NEW.balance < 0 BEGIN "
    "SELECT RAISE(ABORT, 'negative balance'); END"),
    ("CREATE TRIGGER upd_check BEFORE UPDATE ON acct BEGIN SELECT CASE WHEN NEW.balance < 0 THEN "
    "RAISE(ABORT, 'overdrawn') WHEN NEW.owner IS NULL THEN RAISE(ABORT, 'no owner') END; END"),
    ("CREATE TRIGGER upd_log AFTER UPDATE ON acct BEGIN INSERT INTO hist (acct, delta) "
    "VALUES (NEW.id, NEW.balance - OLD.balance); END"),
    "CREATE TRIGGER del_check BEFORE DELETE ON acct BEGIN SELECT RAISE(ABORT, 'not empty') WHERE OLD.balance <> 0; END",
    "INSERT INTO acct VALUES (1, 'ann', 10), (2, 'bob', 0)",
    "INSERT INTO acct VALUES (3, 'cy', -5)",
    "INSERT INTO acct VALUES (4, 'dee', 5), (5, 'eve', -1)",
    "SELECT * FROM acct ORDER BY id",
    "UPDATE acct SET balance = balance - 20 WHERE id = 1",
    "UPDATE acct SET balance = balance + 5",
    "UPDATE acct SET owner = NULL WHERE id = 2",
    "SELECT * FROM acct ORDER BY id",
    "SELECT * FROM hist ORDER BY id",
    "DELETE FROM acct WHERE id = 1",
    "UPDATE acct SET balance = 0 WHERE id = 1",
    "DELETE FROM acct WHERE id = 1",
    "SELECT * FROM acct ORDER BY id",
    "SELECT * FROM hist ORDER BY id",
    "SELECT total_changes()",
    "BEGIN",
    "INSERT INTO acct VALUES (9, 'z', 1)",
    "INSERT INTO acct VALUES (10, 'y', -1)",
    "SELECT count(*) FROM acct",
    "COMMIT",
    "SELECT * FROM acct ORDER BY id",
]


SELF = [  # a body that writes its own table: SQLite's recursive_triggers = OFF keeps it from firing again
    "CREATE TABLE doc (id INTEGER PRIMARY KEY, body TEXT, version INTEGER DEFAULT 0)",
    "CREATE TRIGGER bump AFTER UPDATE OF body ON doc BEGIN UPDATE doc SET version = version + 1 WHERE id = NEW.id; END",
    "INSERT INTO doc (id, body) VALUES (1, 'a'), (2, 'b'), (3, 'c')",
    "UPDATE doc SET body = body || '!' WHERE id <= 2",
    "SELECT * FROM doc ORDER BY id",
    "SELECT total_changes()",
    "UPDATE doc SET version = 10 WHERE id = 3",
    "UPDATE doc SET body = 'x'",
    "SELECT * FROM doc ORDER BY id",
    "SELECT changes(), total_changes()",
]

BEFORE = [
    "CREATE TABLE acct (id INTEGER PRIMARY KEY, balance INTEGER)",
    "CREATE TABLE seen (n INTEGER PRIMARY KEY, what TEXT, b INTEGER)",
    "CREATE TRIGGER before_ins BEFORE INSERT ON acct BEGIN INSERT INTO seen (what, b) VALUES ('ins', NEW.balance); END",
    ("CREATE TRIGGER before_upd BEFORE UPDATE ON acct BEGIN INSERT INTO seen (what, b) "
    "VALUES ('upd ' || OLD.id, NEW.balance - OLD.balance); END"),
    "CREATE TRIGGER before_del BEFORE DELETE ON acct BEGIN DELETE FROM seen WHERE b = OLD.balance; END",
    "INSERT INTO acct (balance) VALUES (5), (7)",
    "UPDATE acct SET balance = balance * 2",
    "DELETE FROM acct WHERE id = 1",
    "SELECT * FROM seen ORDER BY n",
    "SELECT * FROM acct ORDER BY id",
    "SELECT total_changes()",
]

MANY = [  # several triggers on one table fire newest first, and one's write fires the others
    "CREATE TABLE doc (id INTEGER PRIMARY KEY, body TEXT, version INTEGER DEFAULT 0, edits INTEGER DEFAULT 0)",
    "CREATE TRIGGER bump AFTER UPDATE OF body ON doc BEGIN UPDATE doc SET version = version + 1 WHERE id = NEW.id; END",
    "CREATE TRIGGER count_edits AFTER UPDATE ON doc BEGIN UPDATE doc SET edits = edits + 1 WHERE id = NEW.id; END",
    "INSERT INTO doc (id, body) VALUES (1, 'a'), (2, 'b'), (3, 'c')",
    "UPDATE doc SET body = body || '!' WHERE id <= 2",
    "SELECT * FROM doc ORDER BY id",
    "UPDATE doc SET version = 10 WHERE id = 3",
    "SELECT * FROM doc ORDER BY id",
    "SELECT total_changes()",
    "CREATE TABLE t (x INTEGER)",
    "CREATE TABLE log (n INTEGER PRIMARY KEY, m TEXT)",
    "CREATE TRIGGER b_first AFTER INSERT ON t BEGIN INSERT INTO log (m) VALUES ('b_first'); END",
    "CREATE TRIGGER a_second AFTER INSERT ON t BEGIN INSERT INTO log (m) VALUES ('a_second'); END",
    "CREATE TRIGGER c_third AFTER INSERT ON t BEGIN INSERT INTO log (m) VALUES ('c_third'); END",
    "INSERT INTO t VALUES (1)",
    "SELECT * FROM log ORDER BY n",
    "DROP TRIGGER a_second",
    "CREATE TRIGGER a_again AFTER INSERT ON t BEGIN INSERT INTO log (m) VALUES ('a_again'); END",
    "INSERT INTO t VALUES (2)",
    "SELECT * FROM log ORDER BY n",
]


RAISES = [  # RAISE(IGNORE) skips the row's change (BEFORE); RAISE(ROLLBACK) ends the transaction
    "CREATE TABLE item (id INTEGER PRIMARY KEY, v INTEGER)",
    "CREATE TABLE log (n INTEGER PRIMARY KEY, m TEXT)",
    ("CREATE TRIGGER skip_neg BEFORE INSERT ON item WHEN NEW.v < 0 BEGIN "
     "INSERT INTO log (m) VALUES ('skipped ' || NEW.v); SELECT RAISE(IGNORE); END"),
    "CREATE TRIGGER cap BEFORE UPDATE ON item BEGIN SELECT RAISE(IGNORE) WHERE NEW.v > 100; END",
    "CREATE TRIGGER after_ins AFTER INSERT ON item BEGIN INSERT INTO log (m) VALUES ('inserted ' || NEW.id); END",
    "INSERT INTO item VALUES (1, 5), (2, -3), (3, 7)",
    "SELECT * FROM item ORDER BY id",
    "SELECT * FROM log ORDER BY n",
    "SELECT changes(), total_changes()",
    "UPDATE item SET v = v * 15",
    "SELECT * FROM item ORDER BY id",
    "SELECT changes(), total_changes()",
    "CREATE TABLE guard (id INTEGER PRIMARY KEY, v INTEGER)",
    "CREATE TRIGGER stop BEFORE INSERT ON guard WHEN NEW.v = 0 BEGIN SELECT RAISE(ROLLBACK, 'zero'); END",
    "COMMIT",
    "BEGIN",
    "INSERT INTO guard VALUES (1, 1)",
    "INSERT INTO guard VALUES (2, 0)",
    "SELECT * FROM guard",
    "INSERT INTO guard VALUES (3, 3)",
    "SELECT * FROM guard ORDER BY id",
    "COMMIT",
]


@pytest.mark.parametrize("steps", [AUDIT, ORDER, CHECKS, SELF, BEFORE, MANY, RAISES],
                         ids=["audit", "order", "checks", "self", "before", "many", "raises"])
def test_triggers_leave_what_sqlite_leaves(pg_dsn: str, steps: list[str]) -> None:
    reference = sqlite3.connect(":memory:")
    ours = sqlmite.connect("triggers.db", database_url=pg_dsn, schema=f"trg_{uuid.uuid4().hex[:8]}")
    try:
        differences = []
        for sql in steps:
            expected, got = observe(reference, sql, ()), observe(ours, sql, ())
            if expected != got:
                differences.append(f"{sql}\n  sqlite3: {expected}\n  sqlmite: {got}")
        assert not differences, "\n".join(differences)
    finally:
        reference.close()
        ours.close()


@pytest.mark.parametrize("sql", [
    "CREATE TRIGGER r1 BEFORE INSERT ON a BEGIN UPDATE a SET x = 1; END",  # BEFORE writing its own table
    "CREATE TRIGGER r2 AFTER INSERT ON a BEGIN INSERT INTO b SELECT x FROM a; END",  # INSERT ... SELECT
    "CREATE TRIGGER r3 AFTER INSERT ON a BEGIN SELECT RAISE(IGNORE); END",  # IGNORE after the row: its later triggers
    "CREATE TRIGGER r7 BEFORE INSERT ON a BEGIN SELECT RAISE(FAIL, 'no'); END",  # FAIL keeps the rows before
    "CREATE TRIGGER r4 AFTER INSERT ON a BEGIN INSERT INTO b VALUES ((SELECT count(*) FROM a)); END",  # subquery
    "CREATE TEMP TRIGGER r5 AFTER INSERT ON a BEGIN INSERT INTO b VALUES (NEW.x); END",
    "CREATE TRIGGER r6 BEFORE INSERT ON a BEGIN INSERT INTO b VALUES (NEW.rowid); END",  # rowid not chosen yet
])
def test_refused_triggers_say_why(pg_dsn: str, sql: str) -> None:
    ours = sqlmite.connect("refused.db", database_url=pg_dsn, schema=f"trr_{uuid.uuid4().hex[:8]}")
    try:
        ours.execute("CREATE TABLE a (x INTEGER)")
        ours.execute("CREATE TABLE b (y INTEGER)")
        with pytest.raises(sqlmite.NotSupportedError):
            ours.execute(sql)
        assert ours.execute("SELECT count(*) FROM sqlite_master WHERE type = 'trigger'").fetchone() == (0,)
    finally:
        ours.close()


def test_a_second_connection_opens_while_the_first_holds_uncommitted_ddl(pg_dsn: str) -> None:
    """Opening a connection installs nothing once the metadata is current, so it does not wait
    for another connection's open transaction (whose new tables depend on sqlmite's functions)."""
    schema = f"two_{uuid.uuid4().hex[:8]}"
    first: Any = sqlmite.connect("two.db", database_url=pg_dsn, schema=schema)
    try:
        first.execute("BEGIN")
        first.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
        second = sqlmite.connect("other.db", database_url=pg_dsn, schema=f"{schema}_b", timeout=5)
        second.close()
        first.rollback()
    finally:
        first.close()


def test_raise_is_sqlites_error(pg_dsn: str) -> None:
    schema = f"rse_{uuid.uuid4().hex[:8]}"
    seen = []
    for conn in (sqlite3.connect(":memory:"), sqlmite.connect("raise.db", database_url=pg_dsn, schema=schema)):
        conn.execute("CREATE TABLE t (q INTEGER)")
        conn.execute("CREATE TRIGGER v BEFORE INSERT ON t WHEN NEW.q < 0 BEGIN SELECT RAISE(ABORT, 'negative'); END")
        with pytest.raises(sqlite3.IntegrityError) as caught:
            conn.execute("INSERT INTO t VALUES (-1)")
        seen.append((str(caught.value), caught.value.sqlite_errorname))
        conn.close()
    assert seen[0] == seen[1] == ("negative", "SQLITE_CONSTRAINT_TRIGGER")
