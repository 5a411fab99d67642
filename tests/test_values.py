"""Data mapper: any value SQLite can hold, in a column of any declared type, comes back identical.

Values go through real SQLite (so affinity is SQLite's own), then the data mapper, real
PostgreSQL, the data mapper again, and are compared with what SQLite stored: value and storage
class, the sign of -0.0 and every bit of a double included.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator

import apsw
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sqlmite.backend.schema import install_schema
from sqlmite.errors import FidelityError
from sqlmite.mapping.affinity import (
    Affinity,
    StorageClass,
    affinity_of,
    storage_class_of,
)
from sqlmite.mapping.ddl import TablePlan, plan_schema
from sqlmite.mapping.expressions import quote_ident
from sqlmite.sqlite.schema import read_schema

DECLARED_TYPES = [
    "INTEGER", "INT", "TINYINT", "UNSIGNED BIG INT", "TEXT", "VARCHAR(255)", "NCHAR(55)", "CLOB", "BLOB", "",
    "REAL", "DOUBLE", "DOUBLE PRECISION", "FLOAT", "NUMERIC", "DECIMAL(10,5)", "BOOLEAN", "DATE", "DATETIME",
    "GUID", "BIT", "STRING", "FLOATING POINT", "CHARINT",
]

sqlite_values = st.one_of(
    st.none(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.sampled_from([-(2**63), 2**63 - 1, 0, -1, 1, 2**53 + 1]),
    st.floats(allow_nan=False),
    st.sampled_from([-0.0, 0.0, math.inf, -math.inf, 5e-324, 1.7976931348623157e308, 1e20, 2.0**63, 0.1]),
    st.text(),
    st.text(alphabet=st.sampled_from(["\x00", "a", "é", "\U0001f600", " "])),
    st.sampled_from(["", "12", "12.5", "1e3", " 7 ", "0x10", "-0", "abc", "9223372036854775808"]),
    st.binary(),
)


def same(a: object, b: object) -> bool:
    """Identical as SQLite sees it: same storage class and value, doubles compared bit for bit."""
    if storage_class_of(a) is not storage_class_of(b):
        return False
    if isinstance(a, float):
        return struct.pack("<d", a) == struct.pack("<d", b)
    return a == b


class Roundtrip:
    """One SQLite table per declared type, and its PostgreSQL twin made by the schema mapper."""

    def __init__(self, conn: psycopg.Connection, pg_schema: str, not_null: bool) -> None:
        self.pg = conn
        self.pg_schema = pg_schema
        self.sqlite = apsw.Connection(":memory:")
        constraint = " NOT NULL" if not_null else ""
        for i, declared in enumerate(DECLARED_TYPES):
            self.sqlite.execute(f"CREATE TABLE t{i} (id INTEGER PRIMARY KEY, v {declared}{constraint})")
        self.schema = read_schema(self.sqlite)
        # NOT NULL columns admit strays once a scan has seen them: give the mapper every class.
        observed = {(f"t{i}", "v"): set(StorageClass) for i in range(len(DECLARED_TYPES))} if not_null else None
        self.plan = plan_schema(self.schema, pg_schema, observed=observed)
        install_schema(conn, self.schema, self.plan, None)
        self.next_id = 0

    def through_sqlite(self, table: int, value: object) -> object:
        self.next_id += 1
        self.sqlite.execute(f"INSERT INTO t{table} VALUES (?, ?)", (self.next_id, value))
        return self.sqlite.execute(f"SELECT v FROM t{table} WHERE id = ?", (self.next_id,)).fetchall()[0][0]

    def through_postgres(self, table: int, stored: object) -> object:
        plan: TablePlan = self.plan.table(f"t{table}")
        row = plan.encode((self.next_id, stored))
        cols = ", ".join(quote_ident(c) for c in plan.pg_columns)
        qtable = f"{quote_ident(self.pg_schema)}.{quote_ident(plan.pg_name)}"
        self.pg.execute(f"INSERT INTO {qtable} ({cols}) VALUES ({', '.join(['%s'] * len(row))})", row)
        back = self.pg.execute(f"SELECT {cols} FROM {qtable} WHERE id = %s", (self.next_id,)).fetchone()
        return plan.decode(back)[1]


@pytest.fixture(scope="module")
def nullable(pg_dsn: str) -> Iterator[Roundtrip]:
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        yield Roundtrip(conn, "values_nullable", not_null=False)


@pytest.fixture(scope="module")
def not_null(pg_dsn: str) -> Iterator[Roundtrip]:
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        yield Roundtrip(conn, "values_not_null", not_null=True)


PROPERTY = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@PROPERTY
@given(table=st.integers(0, len(DECLARED_TYPES) - 1), value=sqlite_values)
def test_any_value_in_any_column_round_trips(nullable: Roundtrip, table: int, value: object) -> None:
    stored = nullable.through_sqlite(table, value)
    back = nullable.through_postgres(table, stored)
    assert same(back, stored), (DECLARED_TYPES[table], stored, back)


@PROPERTY
@given(table=st.integers(0, len(DECLARED_TYPES) - 1), value=sqlite_values.filter(lambda v: v is not None))
def test_not_null_columns_hold_strays_when_the_scan_saw_them(not_null: Roundtrip, table: int, value: object) -> None:
    stored = not_null.through_sqlite(table, value)
    back = not_null.through_postgres(table, stored)
    assert same(back, stored), (DECLARED_TYPES[table], stored, back)


def test_native_values_are_native_in_postgres(nullable: Roundtrip) -> None:
    """PostgreSQL readers see ordinary typed columns; only strays use the overflow column."""
    integer, text, real = DECLARED_TYPES.index("INTEGER"), DECLARED_TYPES.index("TEXT"), DECLARED_TYPES.index("REAL")
    for table, value in ((integer, 2**63 - 1), (text, "Björk"), (real, math.inf)):
        stored = nullable.through_sqlite(table, value)
        nullable.through_postgres(table, stored)
        row = nullable.pg.execute(
            f"SELECT v, _sqlmite_overflow FROM values_nullable.t{table} WHERE id = %s", (nullable.next_id,)
        ).fetchone()
        assert same(row[0], stored) and row[1] is None


def test_strays_are_tagged_in_overflow(nullable: Roundtrip) -> None:
    integer = DECLARED_TYPES.index("INTEGER")
    nullable.through_postgres(integer, nullable.through_sqlite(integer, "not a number"))
    row = nullable.pg.execute(
        f"SELECT v, _sqlmite_overflow FROM values_nullable.t{integer} WHERE id = %s", (nullable.next_id,)
    ).fetchone()
    assert row == (None, {"v": ["t", "not a number"]})


def test_stray_in_native_not_null_column_is_a_named_error(pg: psycopg.Connection) -> None:
    sqlite = apsw.Connection(":memory:")
    sqlite.execute("CREATE TABLE things (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
    plan = plan_schema(read_schema(sqlite), "strict_nn").table("things")
    with pytest.raises(FidelityError) as caught:
        plan.encode((7, "seven"))
    message = str(caught.value)
    assert "'things'" in message and "'n'" in message and "7" in message and "TEXT" in message


@pytest.mark.parametrize("declared", ["TEXT", "BLOB", ""])
def test_large_values_round_trip(pg: psycopg.Connection, declared: str) -> None:
    """100 MB text and blobs; text with U+0000 too (PostgreSQL text cannot hold it natively)."""
    size = 100 * 1024 * 1024
    sqlite = apsw.Connection(":memory:")
    sqlite.execute(f"CREATE TABLE big (id INTEGER PRIMARY KEY, v {declared})")
    schema_name = f"big_{affinity_of(declared).value.lower()}_{declared or 'none'}".lower()
    plan = plan_schema(read_schema(sqlite), schema_name)
    install_schema(pg, read_schema(sqlite), plan, None)
    table = plan.table("big")
    values = [("x" * (size - 1)) + "é", bytes(range(256)) * (size // 256), "nul\x00inside"]
    for i, value in enumerate(values):
        row = table.encode((i, value))
        pg.execute(f"INSERT INTO {quote_ident(schema_name)}.big VALUES (%s, %s, %s)", row)
        back = pg.execute(f"SELECT id, v, _sqlmite_overflow FROM {quote_ident(schema_name)}.big WHERE id = %s",
                          (i,)).fetchone()
        assert same(table.decode(back)[1], value)


def test_affinity_rules() -> None:
    expected = {
        "INT": Affinity.INTEGER, "UNSIGNED BIG INT": Affinity.INTEGER, "VARCHAR(255)": Affinity.TEXT,
        "GUID": Affinity.NUMERIC, "BIT": Affinity.NUMERIC, "": Affinity.BLOB, "BLOB": Affinity.BLOB,
        "DOUBLE PRECISION": Affinity.REAL, "FLOATING POINT": Affinity.INTEGER, "STRING": Affinity.NUMERIC,
        "CHARINT": Affinity.INTEGER, "DATETIME": Affinity.NUMERIC, "CLOB": Affinity.TEXT,
    }
    assert {t: affinity_of(t) for t in expected} == expected
    assert affinity_of("ANY", strict=True) is Affinity.BLOB
    assert affinity_of("ANY") is Affinity.NUMERIC
    # SQLite agrees, column by column.
    conn = apsw.Connection(":memory:")
    for declared, affinity in expected.items():
        conn.execute(f"CREATE TABLE a (v {declared})")
        conn.execute("INSERT INTO a VALUES ('12')")
        stored = conn.execute("SELECT typeof(v) FROM a").fetchall()[0][0]
        conn.execute("DROP TABLE a")
        assert stored == {Affinity.INTEGER: "integer", Affinity.NUMERIC: "integer", Affinity.TEXT: "text",
                          Affinity.BLOB: "text", Affinity.REAL: "real"}[affinity], declared
