"""The translator's statement constructs, differentially, one family per list: window functions,
common table expressions, views and subqueries in FROM, LIMIT forms, result aliases; then a
sequence of statements (RETURNING, sqlite_sequence, views, maintenance PRAGMAs) on one database. Each case must give sqlite3's answer; each entry of REFUSED must raise
NotSupportedError (sqlmite cannot keep SQLite's meaning there yet; docs/driver.md lists why).
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from typing import Any

import apsw
import pytest
from driver_support import observe

import sqlmite

SCHEMA = """
CREATE TABLE e (id INTEGER PRIMARY KEY, dept TEXT COLLATE NOCASE, name TEXT, salary INTEGER, bonus REAL);
CREATE TABLE d (code TEXT PRIMARY KEY, title TEXT NOT NULL) WITHOUT ROWID;
CREATE INDEX e_salary ON e (salary);
INSERT INTO e VALUES (1, 'a', 'x', 100, 1.5), (2, 'A', 'y', 200, NULL), (3, 'b', 'z', 100, 2.5),
                     (4, 'b', 'w', NULL, 0.5), (5, 'c', 'v', 300, 1.0), (6, NULL, 'u', 50, NULL);
INSERT INTO d VALUES ('a', 'Alpha'), ('b', 'Beta'), ('z', 'Zeta');
"""

WINDOWS = [
    "SELECT id, row_number() OVER (ORDER BY salary, id) FROM e ORDER BY id",
    "SELECT id, rank() OVER (ORDER BY salary), dense_rank() OVER (ORDER BY salary DESC) FROM e ORDER BY id",
    "SELECT id, row_number() OVER (PARTITION BY dept ORDER BY id) FROM e ORDER BY id",
    "SELECT id, sum(salary) OVER (PARTITION BY dept) FROM e ORDER BY id",
    "SELECT id, sum(salary) OVER (ORDER BY id ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) FROM e ORDER BY id",
    ("SELECT id, sum(salary) OVER (ORDER BY salary RANGE BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) "
    "FROM e ORDER BY id"),
    "SELECT id, count(*) OVER (), count(salary) OVER (ORDER BY salary) FROM e ORDER BY id",
    "SELECT id, lag(salary) OVER (ORDER BY id), lead(salary, 2, 0) OVER (ORDER BY id) FROM e ORDER BY id",
    ("SELECT id, first_value(name) OVER (PARTITION BY dept ORDER BY id), last_value(name) OVER (ORDER BY id) "
    "FROM e ORDER BY id"),
    "SELECT id, nth_value(name, 2) OVER (ORDER BY id) FROM e ORDER BY id",
    ("SELECT id, ntile(3) OVER (ORDER BY id), percent_rank() OVER (ORDER BY salary), cume_dist() OVER (ORDER BY salary) "
    "FROM e ORDER BY id"),
    "SELECT id, min(name) OVER (ORDER BY id), max(salary) OVER (PARTITION BY dept) FROM e ORDER BY id",
    "SELECT id, avg(salary) OVER (ORDER BY id), total(salary) OVER () FROM e ORDER BY id",
    "SELECT id, rank() OVER (ORDER BY dept) FROM e ORDER BY id",
    "SELECT id, rank() OVER (ORDER BY dept DESC, name) FROM e ORDER BY id",
    "SELECT id, row_number() OVER w, sum(salary) OVER w FROM e WINDOW w AS (ORDER BY id) ORDER BY id",
    "SELECT id, row_number() OVER (ORDER BY id DESC) AS rn FROM e ORDER BY rn",
    "SELECT id, salary - lag(salary, 1) OVER (ORDER BY id) FROM e ORDER BY id",
    ("SELECT name FROM e WHERE id IN (SELECT id FROM (SELECT id, rank() OVER (ORDER BY salary DESC) AS r FROM e) "
    "WHERE r = 1)"),
]

DERIVED = [
    "SELECT * FROM (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM e) WHERE rn <= 2",
    "SELECT max(rn) FROM (SELECT row_number() OVER (PARTITION BY dept ORDER BY id) AS rn FROM e)",
    "SELECT x.id, e.name FROM (SELECT id FROM e WHERE salary = 100) x JOIN e ON e.id = x.id ORDER BY 1",
    "SELECT * FROM (SELECT dept FROM e) WHERE dept = 'A' ORDER BY 1",
    "SELECT id FROM (SELECT id, salary FROM e) WHERE salary = '100' ORDER BY id",
    "SELECT * FROM (SELECT * FROM e) ORDER BY id",
    "SELECT s.* FROM (SELECT name, bonus FROM e WHERE bonus IS NOT NULL) s ORDER BY s.bonus",
    ("SELECT t.title, count(*) FROM d t JOIN (SELECT lower(dept) AS k FROM e) x ON x.k = t.code GROUP BY t.title "
    "ORDER BY 1"),
    "WITH big AS (SELECT dept, salary FROM e WHERE salary > 60) SELECT dept, salary FROM big ORDER BY salary, dept",
    "WITH v(x, y) AS (SELECT id, name FROM e) SELECT y FROM v WHERE x > 3 ORDER BY x",
    "WITH a AS (SELECT id FROM e WHERE id < 5), b AS (SELECT id FROM a WHERE id > 1) SELECT count(*) FROM b",
    "WITH t AS (SELECT id, name FROM e) SELECT * FROM t WHERE id IN (SELECT id FROM t WHERE id > 4) ORDER BY id",
    "WITH e AS (SELECT 'shadowed' AS name) SELECT name FROM e",
    "WITH m AS MATERIALIZED (SELECT max(salary) AS top FROM e) SELECT name FROM e, m WHERE salary = m.top",
    "SELECT * FROM (SELECT id FROM e UNION SELECT 7) ORDER BY 1",
    # RIGHT and FULL JOIN USING: SQLite's merged column is coalesce(left, right)
    "SELECT * FROM e AS x RIGHT JOIN (SELECT id + 3 AS id, name FROM e) AS y USING (id) ORDER BY 1, 2, 3",
    "SELECT id, x.id, y.id FROM e AS x FULL JOIN (SELECT id * 2 AS id FROM e) AS y USING (id) ORDER BY 1, 2, 3",
    "SELECT id, count(*) FROM e AS x FULL JOIN (SELECT id - 2 AS id FROM e) AS y USING (id) GROUP BY id ORDER BY id",
    "SELECT x, count(*) FROM (SELECT salary AS x FROM e UNION ALL SELECT salary FROM e) GROUP BY x ORDER BY x",
    "SELECT n FROM (SELECT name AS n FROM e EXCEPT SELECT 'y') WHERE n > 'w' ORDER BY n",
    "WITH u AS (SELECT id FROM e WHERE id < 2 UNION SELECT id FROM e WHERE id > 4) SELECT * FROM u ORDER BY id",
    "SELECT * FROM (SELECT id, name FROM e INTERSECT SELECT id, name FROM e WHERE id > 1) AS i ORDER BY i.id",
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5) SELECT x FROM c",
    "WITH RECURSIVE c(x) AS (SELECT min(id) FROM e UNION ALL SELECT x + 1 FROM c WHERE x < 5) SELECT x FROM c ORDER BY x",
    ("WITH RECURSIVE c(x, n) AS (SELECT 1, name FROM e WHERE id = 1 UNION ALL SELECT x + 1, e.name FROM c JOIN e "
     "ON e.id = c.x + 1) SELECT * FROM c ORDER BY x"),
    ("WITH RECURSIVE c(x) AS (SELECT 100 UNION SELECT salary FROM e, c WHERE salary > c.x) "
     "SELECT x FROM c ORDER BY x"),  # UNION: each row once, so it ends
    ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x * 3 FROM c WHERE x < 9000000000000000000 / 3) "
     "SELECT x, (SELECT count(*) FROM e WHERE salary < x) FROM c ORDER BY x"),
    "WITH RECURSIVE c(x) AS (SELECT 1.5 UNION ALL SELECT x * 2 FROM c WHERE x < 100) SELECT sum(x) + count(e.id) FROM c, e",
]

CLAUSES = [
    "SELECT id FROM e ORDER BY id LIMIT 2, 3",
    "SELECT id FROM e ORDER BY id LIMIT 3 OFFSET 2",
    "SELECT id FROM e ORDER BY id LIMIT -1 OFFSET 4",
    "SELECT id FROM e ORDER BY id LIMIT 0",
    "SELECT salary * 2 AS doubled FROM e WHERE doubled > 150 ORDER BY doubled",
    "SELECT salary AS s, count(*) FROM e GROUP BY s ORDER BY s",
    "SELECT e.id, t.title FROM e LEFT JOIN d t ON t.code = e.dept ORDER BY e.id",
    "SELECT e.id, t.code FROM e RIGHT JOIN d t ON t.code = e.dept ORDER BY t.code, e.id",
    "SELECT e.id, t.code FROM e FULL OUTER JOIN d t ON t.code = e.dept ORDER BY e.id, t.code",
    "SELECT count(*) FROM e, d", "SELECT count(*) FROM e CROSS JOIN d WHERE 1",
    "SELECT * FROM e AS x JOIN e AS y USING (id) ORDER BY 1",
    ("SELECT id, x.name, y.salary FROM e AS x LEFT JOIN (SELECT id, salary FROM e WHERE salary > 100) AS y USING (id) "
    "ORDER BY id"),
    "SELECT * FROM e AS x NATURAL JOIN e AS y ORDER BY 1",
    "SELECT count(*) FROM e AS x NATURAL LEFT JOIN (SELECT id, name FROM e WHERE id < 3) AS y",
    "SELECT x.*, y.* FROM e AS x JOIN e AS y USING (id, dept) ORDER BY x.id",
    "SELECT count(*), count(DISTINCT salary), min(salary), max(salary), sum(salary) FROM e",
    "SELECT salary, count(*) FROM e GROUP BY salary HAVING count(*) > 1",
    "SELECT DISTINCT salary FROM e ORDER BY 1",
    "SELECT id FROM e WHERE salary IS NULL OR bonus IS NULL ORDER BY id",
    "SELECT code, title FROM d ORDER BY code DESC",
    "SELECT id, hex(name), hex(id), hex(dept), quote(name), quote(id), quote(dept) FROM e ORDER BY id",
    ("SELECT id, round(salary), round(salary, 0), round(salary / 3.0), round(-salary / 1000.0), round(bonus) FROM e "
    "ORDER BY id"),
    "SELECT id, round(bonus, 1), round(salary / 7.0, 3), round(bonus, id % 4 - 1) FROM e ORDER BY id",
]

# Each: sqlmite cannot keep SQLite's meaning yet (the reason is in docs/driver.md).
REFUSED = [
    "SELECT id, lag(name, 1, 0) OVER (ORDER BY id) FROM e",  # default of another class than the value
    "SELECT dept, count(*) FROM e GROUP BY dept",  # NOCASE groups: which spelling SQLite shows is its choice
    "SELECT id FROM (SELECT id, salary + 0 AS s FROM e) WHERE s = '100'",  # no affinity: class mismatch
    # SQLite stops an endless recursion at the LIMIT outside; PostgreSQL's join may compute it whole first
    "WITH RECURSIVE c(x) AS (SELECT min(id) FROM e UNION ALL SELECT x + 1 FROM c) SELECT x FROM c LIMIT 3",
    # SQLite's queue as a priority queue: ORDER BY in the recursive step decides which rows LIMIT keeps
    "WITH RECURSIVE c(x) AS (SELECT min(id) FROM e UNION ALL SELECT x + 1 FROM c ORDER BY 1 DESC LIMIT 3) SELECT x FROM c",
    "SELECT id FROM (SELECT id, salary FROM e UNION SELECT 5, '100') WHERE salary = 100",  # classes differ by arm
    "UPDATE OR IGNORE e SET salary = 1",  # which rows conflict depends on SQLite's scan order
    "SELECT hex(bonus) FROM e",  # a real's text form is SQLite's own
    "SELECT * FROM e AS x FULL JOIN e AS y USING (id) FULL JOIN e AS z USING (id)",  # a merged column merged again
]

# Run in this order on one fresh pair of connections; each observation must be equal.
STATEMENTS = [
    "PRAGMA foreign_keys = ON",
    "CREATE TABLE s (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, n INTEGER DEFAULT 0)",
    "INSERT INTO s (name, n) VALUES ('a', 1) RETURNING id, name, n",
    "INSERT INTO s (name, n) VALUES ('b', '2'), ('c', 3.0) RETURNING *",
    "INSERT OR IGNORE INTO s (name) VALUES ('a') RETURNING id",
    "INSERT INTO s (name) VALUES ('a') ON CONFLICT (name) DO UPDATE SET n = 10 RETURNING id, n",
    "UPDATE s SET n = n + 1 WHERE id <= 2 RETURNING n, upper(name) AS up",
    "DELETE FROM s WHERE name = 'c' RETURNING *",
    "DELETE FROM s WHERE name = 'zz' RETURNING *",
    "INSERT INTO s (id, name) VALUES (100, 'big')",
    "SELECT * FROM sqlite_sequence",
    "SELECT name, seq + 1 FROM sqlite_sequence WHERE name = 's'",
    "DELETE FROM s WHERE id = 100",
    "INSERT INTO s (name) VALUES ('after') RETURNING id",
    "CREATE VIEW rich AS SELECT id, name FROM s WHERE n > 1",
    "CREATE VIEW pairs (k, v) AS SELECT name, n * 2 FROM s",
    "SELECT * FROM rich ORDER BY id",
    "SELECT k, v FROM pairs WHERE v >= 2 ORDER BY k",
    "SELECT rich.name, pairs.v FROM rich JOIN pairs ON pairs.k = rich.name ORDER BY 1",
    "WITH rich AS (SELECT 'cte' AS name) SELECT name FROM rich",
    "SELECT type, name, tbl_name FROM sqlite_master WHERE type = 'view' ORDER BY name",
    "DROP VIEW pairs",
    "SELECT name FROM sqlite_master WHERE type = 'view'",
    "REINDEX",
    "REINDEX s",
    "ANALYZE s",
    "PRAGMA integrity_check",
    "PRAGMA quick_check",
    "PRAGMA foreign_key_check",
    "SELECT id, name, n FROM s ORDER BY id",
    "CREATE TABLE child (id INTEGER PRIMARY KEY, sid INTEGER REFERENCES s (id), note)",
    "INSERT INTO child VALUES (1, 1, 'text'), (2, 2, X'00ff'), (3, NULL, 7)",
    "ALTER TABLE child ADD COLUMN flag TEXT DEFAULT 'no'",
    "SELECT * FROM child ORDER BY id",
    "ALTER TABLE child RENAME COLUMN note TO remark",
    "SELECT id, remark, flag FROM child ORDER BY id",
    "PRAGMA table_info(child)",
    "ALTER TABLE s RENAME TO people",
    "SELECT sql FROM sqlite_master WHERE name IN ('child', 'rich') ORDER BY name",
    "SELECT name, seq FROM sqlite_sequence",
    "UPDATE sqlite_sequence SET seq = 0 WHERE name = 'people'",
    "SELECT name, seq FROM sqlite_sequence",
    "INSERT INTO people (name) VALUES ('after reset') RETURNING id",
    "DELETE FROM sqlite_sequence",
    "INSERT INTO sqlite_sequence (name, seq) VALUES ('people', 500)",
    "INSERT INTO people (name) VALUES ('after insert') RETURNING id",
    "UPDATE sqlite_sequence SET seq = seq + '5' WHERE name = 'people'",
    "SELECT name, seq FROM sqlite_sequence",
    "INSERT INTO child (id, sid) VALUES (4, 999)",
    "INSERT INTO people (name) VALUES ('renamed') RETURNING id",
    "ALTER TABLE child DROP COLUMN flag",
    "SELECT * FROM child ORDER BY id",
    "CREATE TABLE plain (a, b)",
    "INSERT INTO plain VALUES (1, 'one'), ('two', 2.5)",
    "ALTER TABLE plain RENAME TO plain2",
    "SELECT rowid, a, b FROM plain2 ORDER BY rowid",
    "ALTER TABLE plain2 ADD COLUMN c INTEGER NOT NULL DEFAULT 0",
    "INSERT INTO plain2 (a) VALUES ('after')",
    "SELECT rowid, * FROM plain2 ORDER BY rowid",
    "CREATE TABLE defaults (id INTEGER PRIMARY KEY, a TEXT DEFAULT 'x', b INTEGER DEFAULT 5, c REAL)",
    "INSERT INTO defaults DEFAULT VALUES",
    "INSERT INTO defaults DEFAULT VALUES RETURNING *",
    "INSERT INTO plain2 DEFAULT VALUES",
    "SELECT rowid, * FROM plain2 ORDER BY rowid",
    "BEGIN",
    "INSERT OR FAIL INTO people (name) VALUES ('f1'), ('a'), ('f2')",
    "SELECT changes()",
    "SELECT name FROM people ORDER BY id",
    "INSERT OR ROLLBACK INTO people (name) VALUES ('r1'), ('a')",
    "SELECT name FROM people ORDER BY id",
    "COMMIT",
    "INSERT OR FAIL INTO people (name) VALUES ('f3'), ('a')",
    "SELECT name FROM people ORDER BY id",
    "CREATE TABLE rates (name TEXT PRIMARY KEY, factor INTEGER)",
    "INSERT INTO rates VALUES ('a', 3), ('b', 4)",
    "UPDATE people SET n = rates.factor FROM rates WHERE rates.name = people.name",
    ("UPDATE people AS p SET n = p.n * x.f FROM (SELECT name, factor AS f FROM rates) AS x WHERE x.name = p.name "
    "RETURNING p.name, n"),
    "SELECT name, n FROM people ORDER BY id",
    "UPDATE people SET n = 7 WHERE name LIKE 'a%'",
    "UPDATE people SET name = name || '%' WHERE name LIKE '%f%' RETURNING name",
    "DELETE FROM people WHERE name LIKE '%\\%' ESCAPE '\\' RETURNING id",
    "SELECT name, n FROM people ORDER BY id",
]

CASES = WINDOWS + DERIVED + CLAUSES


@pytest.fixture(scope="module")
def pair(pg_dsn: str) -> Iterator[tuple[sqlite3.Connection, Any]]:
    reference = sqlite3.connect(":memory:")
    ours = sqlmite.connect("queries.db", database_url=pg_dsn, schema=f"qry_{uuid.uuid4().hex[:8]}")
    for conn in (reference, ours):
        conn.execute("PRAGMA foreign_keys = ON")
        conn.executescript(SCHEMA)
        conn.commit()
    yield reference, ours
    reference.close()
    ours.close()


@pytest.mark.parametrize("sql", CASES)
def test_answers_as_sqlite(pair: tuple[sqlite3.Connection, Any], sql: str) -> None:
    reference, ours = pair
    assert observe(ours, sql, ()) == observe(reference, sql, ())


@pytest.mark.parametrize("sql", REFUSED)
def test_refused_by_name(pair: tuple[sqlite3.Connection, Any], sql: str) -> None:
    reference, ours = pair
    reference.execute(sql).fetchall()  # SQLite runs it ...
    with pytest.raises(sqlmite.NotSupportedError):  # ... sqlmite says it cannot yet, rather than differ
        ours.execute(sql).fetchall()


def test_statements_in_sequence(pg_dsn: str) -> None:
    reference = sqlite3.connect(":memory:")
    ours = sqlmite.connect("sequence.db", database_url=pg_dsn, schema=f"seq_{uuid.uuid4().hex[:8]}")
    try:
        differences = []
        for sql in STATEMENTS:
            expected, got = observe(reference, sql, ()), observe(ours, sql, ())
            if expected != got:
                differences.append(f"{sql}\n  sqlite3: {expected}\n  sqlmite: {got}")
        assert not differences, "\n".join(differences)
    finally:
        reference.close()
        ours.close()


def test_group_concat_in_the_order_asked(pg_dsn: str) -> None:
    """group_concat(x ORDER BY ...) (SQLite 3.44+, so APSW's SQLite is the reference); without
    ORDER BY SQLite's scan order decides, which sqlmite refuses."""
    reference = apsw.Connection(":memory:")
    ours = sqlmite.connect("concat.db", database_url=pg_dsn, schema=f"gc_{uuid.uuid4().hex[:8]}")
    try:
        for conn in (reference, ours):
            conn.execute("CREATE TABLE g (id INTEGER PRIMARY KEY, k TEXT, v TEXT, n INTEGER)")
            conn.executemany("INSERT INTO g VALUES (?, ?, ?, ?)",
                             [(1, "a", "x", 3), (2, "b", None, 1), (3, "a", "y,z", 2), (4, "b", "w", None), (5, "c", None, 5)])
        ours.commit()
        for sql in ["SELECT group_concat(v ORDER BY id) FROM g", "SELECT group_concat(v, '; ' ORDER BY id DESC) FROM g",
                    ("SELECT k, group_concat(n, '-' ORDER BY n DESC), string_agg(v, '|' ORDER BY v) FROM g GROUP BY k "
                    "ORDER BY k"), "SELECT group_concat(v ORDER BY id) FROM g WHERE id > 10"]:
            assert ours.execute(sql).fetchall() == list(reference.execute(sql)), sql
        with pytest.raises(sqlmite.NotSupportedError):
            ours.execute("SELECT group_concat(v) FROM g")
    finally:
        reference.close()
        ours.close()


def test_real_sums_as_sqlite_adds_them(pg_dsn: str) -> None:
    """sum/total/avg of reals use Kahan-Babuska-Neumaier summation since SQLite 3.43; Python's
    sqlite3 may link an older SQLite, so the reference here is APSW's (the SQLite sqlmite follows)."""
    import random

    rng = random.Random(5)
    rows = [(i, rng.choice([0.1, 0.2, 0.3, 1e16, -1e16, 1.0, 3.3333, -2.5e-8, None]), i % 3) for i in range(300)]
    reference = apsw.Connection(":memory:")
    ours = sqlmite.connect("sums.db", database_url=pg_dsn, schema=f"sum_{uuid.uuid4().hex[:8]}")
    try:
        for conn in (reference, ours):
            conn.execute("CREATE TABLE r (id INTEGER PRIMARY KEY, x REAL, g INTEGER)")
            conn.executemany("INSERT INTO r VALUES (?, ?, ?)", rows)
        ours.commit()
        for sql in ["SELECT sum(x), total(x), avg(x) FROM r", "SELECT g, sum(x), avg(x) FROM r GROUP BY g ORDER BY g",
                    "SELECT id, sum(x) OVER (ORDER BY id), avg(x) OVER (PARTITION BY g) FROM r ORDER BY id",
                    "SELECT sum(x * 2), sum(x + g), total(x) FROM r WHERE id < 0", "SELECT sum(x + g) FROM r"]:
            assert ours.execute(sql).fetchall() == list(reference.execute(sql)), sql
    finally:
        reference.close()
        ours.close()


def test_unordered_selects_come_in_sqlites_order(pg_dsn: str) -> None:
    """Without ORDER BY, a one-table SELECT returns rows in the order SQLite's plan walks them
    (rowid, primary key, or index), even after UPDATEs moved them in PostgreSQL's heap."""
    setup = [
        "CREATE TABLE o (id INTEGER PRIMARY KEY, dept TEXT COLLATE NOCASE, name TEXT, salary INTEGER)",
        ("INSERT INTO o VALUES (1, 'b', 'x', 100), (2, 'A', 'y', 200), (3, 'a', 'z', 100), (4, NULL, 'w', NULL), "
        "(5, 'c', 'v', 300)"),
        "UPDATE o SET salary = salary + 1 WHERE id = 1", "UPDATE o SET name = 'yy' WHERE id = 2",
        "CREATE INDEX o_salary ON o (salary DESC)", "CREATE INDEX o_dept ON o (dept)",
        "CREATE TABLE kv (k TEXT PRIMARY KEY COLLATE NOCASE, v) WITHOUT ROWID",
        "INSERT INTO kv VALUES ('b', 1), ('A', 2), ('c', 3)", "UPDATE kv SET v = 9 WHERE k = 'A'",
        "CREATE TABLE plain (x INTEGER, y TEXT)", "INSERT INTO plain VALUES (3, 'c'), (1, 'a'), (2, 'b')",
        "UPDATE plain SET y = 'aa' WHERE x = 1",
    ]
    queries = [
        "SELECT * FROM o", "SELECT name FROM o LIMIT 2", "SELECT * FROM o WHERE id > 1",
        "SELECT salary FROM o WHERE salary > 0", "SELECT * FROM o WHERE salary > 150", "SELECT dept, id FROM o WHERE dept > ''",
        "SELECT dept FROM o", "SELECT * FROM kv", "SELECT * FROM kv LIMIT 1", "SELECT * FROM plain",
        "SELECT x FROM plain LIMIT 2", "SELECT id FROM o WHERE dept = 'a'", "SELECT * FROM o WHERE id IN (5, 1, 3)",
    ]
    reference = sqlite3.connect(":memory:")
    ours = sqlmite.connect("order.db", database_url=pg_dsn, schema=f"ord_{uuid.uuid4().hex[:8]}")
    try:
        for conn in (reference, ours):
            for sql in setup:
                conn.execute(sql)
            conn.commit()
        for sql in queries:
            assert ours.execute(sql).fetchall() == reference.execute(sql).fetchall(), sql
    finally:
        reference.close()
        ours.close()
