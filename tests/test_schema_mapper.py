"""Schema mapper against real PostgreSQL: Jellyfin 12 / 10.11 and a torture schema.

Each schema is read from a real SQLite database, mapped, created in PostgreSQL, and its saved
metadata must rebuild ``sqlite_master`` exactly in a fresh SQLite file.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import apsw
import psycopg
import pytest

from sqlmite.backend.schema import TargetNotEmptyError, install_schema
from sqlmite.errors import UnsupportedSchemaError
from sqlmite.mapping.ddl import Profile, pg_ident, plan_schema
from sqlmite.mapping.metadata import load_database_info, load_master, load_tables
from sqlmite.sqlite.rebuild import rebuild_schema
from sqlmite.sqlite.schema import SqliteSchema, read_schema
from sqlmite.testing.jellyfin import schema_sql

TORTURE = (Path(__file__).parent / "fixtures" / "torture.sql").read_text()


def sqlite_from(sql: str) -> apsw.Connection:
    conn = apsw.Connection(":memory:")
    conn.execute(sql).fetchall()
    return conn


def schema_of(sql: str) -> SqliteSchema:
    return read_schema(sqlite_from(sql))


def master_rows(conn: apsw.Connection) -> list[tuple]:
    return conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY rowid").fetchall()


@pytest.fixture(scope="module")
def torture(pg_dsn: str) -> SqliteSchema:
    schema = schema_of(TORTURE)
    with psycopg.connect(pg_dsn) as conn:
        install_schema(conn, schema, plan_schema(schema, "torture"), "torture.db")
    return schema


CASES = {
    "jellyfin-12.0": lambda: schema_sql("12.0"),
    "jellyfin-10.11": lambda: schema_sql("10.11"),
    "torture": lambda: TORTURE,
}


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("profile", [Profile.REPLICA, Profile.PRIMARY])
def test_schema_maps_and_metadata_rebuilds_sqlite_master_exactly(pg_dsn: str, name: str, profile: Profile) -> None:
    source = sqlite_from(CASES[name]())
    schema = read_schema(source)
    pg_schema = f"{name}-{profile.value}"
    plan = plan_schema(schema, pg_schema, profile)
    with psycopg.connect(pg_dsn) as conn:
        info = install_schema(conn, schema, plan, f"{name}.db")
        master = load_master(conn, pg_schema)
        saved = load_database_info(conn, pg_schema)
        tables = load_tables(conn, pg_schema)
    assert saved == info
    assert [(t.name, t.pg_columns, t.columns, t.primary_key, t.rowid_column) for t in tables] == [
        (t.name, t.pg_columns, t.columns, t.primary_key, t.rowid_column) for t in plan.tables]
    rebuilt = apsw.Connection(":memory:")
    rebuild_schema(rebuilt, master, {"user_version": saved.user_version, "application_id": saved.application_id,
                                     "page_size": saved.page_size, "encoding": saved.encoding,
                                     "auto_vacuum": saved.auto_vacuum})
    assert master_rows(rebuilt) == master_rows(source)
    for pragma in ("user_version", "application_id"):
        assert rebuilt.execute(f"PRAGMA {pragma}").fetchall() == source.execute(f"PRAGMA {pragma}").fetchall()


def test_every_table_and_index_exists_in_postgres(pg: psycopg.Connection) -> None:
    schema = schema_of(schema_sql("12.0"))
    plan = plan_schema(schema, "jf-catalog")
    install_schema(pg, schema, plan, None)
    tables = {r[0] for r in pg.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'jf-catalog'")}
    assert tables == {t.name for t in schema.tables}
    indexes = {r[0] for r in pg.execute("SELECT indexname FROM pg_indexes WHERE schemaname = 'jf-catalog'")}
    assert {pg_ident(i.name) for i in schema.indexes} <= indexes
    partial = pg.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'IX_BaseItems_PrimaryVersionId'").fetchone()
    assert "WHERE" in partial[0] and "PrimaryVersionId" in partial[0]
    lower = pg.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'IX_Peoples_NameLower'").fetchone()
    assert "lower" in lower[0]


def _column(pg: psycopg.Connection, table: str, column: str) -> tuple[str, bool]:
    return pg.execute(
        "SELECT format_type(a.atttypid, a.atttypmod), a.attnotnull FROM pg_attribute a "
        "WHERE a.attrelid = format('%%I.%%I', 'torture', %s::text)::regclass AND a.attname = %s",
        (table, column),
    ).fetchone()


def test_types_and_not_null_kept(torture: SqliteSchema, pg: psycopg.Connection) -> None:
    assert _column(pg, "Artists", "Rating") == ("double precision", True)  # not shrunk to real
    assert _column(pg, "Artists", "Name") == ("text", True)
    assert _column(pg, "Artists", "Flags") == ("bigint", True)  # UNSIGNED BIG INT → INTEGER affinity
    assert _column(pg, "Artists", "Payload") == ("bytea", False)
    assert _column(pg, "albums", "price") == ("numeric", False)
    assert _column(pg, "loose", "_sqlmite_rowid") == ("bigint", True)  # row identity kept
    collation = pg.execute(
        "SELECT collation_name FROM information_schema.columns WHERE table_schema = 'torture' "
        "AND table_name = 'Artists' AND column_name = 'Name'").fetchone()
    assert collation == ("C",)  # bytewise, as SQLite's BINARY


def test_current_timestamp_default_is_sqlite_text(torture: SqliteSchema, pg: psycopg.Connection) -> None:
    with pg.transaction(force_rollback=True):
        row = pg.execute('INSERT INTO torture."Artists" ("Name") VALUES (\'Cher\') '
                         'RETURNING "Founded", "Created", "Rating", "Flags", "Payload", "Country"').fetchone()
    founded, created, rating, flags, payload, country = row
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", founded)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", created)
    assert (rating, flags, payload, country) == (-1.5, 0, b"\x00\xff", "SE")


def test_rowid_default_never_collides_with_explicit_ids(torture: SqliteSchema, pg: psycopg.Connection) -> None:
    with pg.transaction(force_rollback=True):
        pg.execute("INSERT INTO torture.albums (id, artist_id, title) VALUES (100, 1, 'x')")
        pg.execute('INSERT INTO torture."Artists" ("Id", "Name") VALUES (1, \'A\')')
        got = pg.execute("INSERT INTO torture.albums (artist_id, title) VALUES (1, 'y') RETURNING id").fetchone()
        assert got == (101,)
        pg.execute("INSERT INTO torture.loose (a) VALUES ('\\x01')")
        pg.execute("INSERT INTO torture.loose (_sqlmite_rowid, a) VALUES (7, '\\x02')")
        assert pg.execute("INSERT INTO torture.loose (a) VALUES ('\\x03') RETURNING _sqlmite_rowid").fetchone() == (8,)


def test_nocase_unique_and_checks_enforced(torture: SqliteSchema, pg: psycopg.Connection) -> None:
    pg.execute('INSERT INTO torture."Artists" ("Id", "Name") VALUES (50, \'Abba\')')
    with pytest.raises(psycopg.errors.UniqueViolation):
        pg.execute('INSERT INTO torture."Artists" ("Id", "Name") VALUES (51, \'ABBA\')')
    # Non-ASCII letters are not folded by NOCASE, exactly as in SQLite.
    pg.execute('INSERT INTO torture."Artists" ("Id", "Name") VALUES (52, \'Ärla\'), (53, \'äRLA\')')
    with pytest.raises(psycopg.errors.CheckViolation):
        pg.execute('INSERT INTO torture."Artists" ("Id", "Name", "Rating") VALUES (54, \'x\', 9)')
    with pytest.raises(psycopg.errors.CheckViolation):
        pg.execute("INSERT INTO torture.reviews (id, stars) VALUES (1, 6)")


def test_replica_foreign_keys_are_deferred_without_actions(torture: SqliteSchema, pg: psycopg.Connection) -> None:
    rows = pg.execute(
        "SELECT conname, condeferrable, condeferred, confdeltype FROM pg_constraint "
        "WHERE contype = 'f' AND connamespace = 'torture'::regnamespace").fetchall()
    assert len(rows) == 4
    assert all(deferrable and deferred and deltype == "a" for _, deferrable, deferred, deltype in rows)
    # A batch in child-before-parent order commits, as the sync sidecar needs.
    with pg.transaction(force_rollback=True):
        pg.execute("INSERT INTO torture.tracks (album_id, position, name) VALUES (900, 1, 'x')")
        pg.execute('INSERT INTO torture."Artists" ("Id", "Name") VALUES (900, \'Late\')')
        pg.execute("INSERT INTO torture.albums (id, artist_id, title) VALUES (900, 900, 't')")
        pg.execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_primary_profile_keeps_actions_and_deferral(pg: psycopg.Connection) -> None:
    sql = TORTURE.split("CREATE VIEW")[0]
    schema = schema_of(sql)
    install_schema(pg, schema, plan_schema(schema, "torture-primary-actions", Profile.PRIMARY), None)
    rows = dict(pg.execute(
        "SELECT conrelid::regclass::text || ':' || pg_get_constraintdef(oid), 1 FROM pg_constraint "
        "WHERE contype = 'f' AND connamespace = 'torture-primary-actions'::regnamespace").fetchall())
    text = "\n".join(rows)
    assert "ON UPDATE CASCADE ON DELETE CASCADE" in text
    assert "ON DELETE SET NULL" in text and "ON DELETE SET DEFAULT" in text
    assert "DEFERRABLE INITIALLY DEFERRED" in text  # tracks → albums only
    assert text.count("DEFERRABLE") == 1


def test_long_names_are_shortened_stably(torture: SqliteSchema, pg: psycopg.Connection) -> None:
    long = "a table with a really long name that PostgreSQL would truncate at sixty-three bytes"
    assert len(pg_ident(long).encode()) <= 63 and pg_ident(long) == pg_ident(long)
    found = pg.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'torture' AND tablename = %s",
                       (pg_ident(long),)).fetchone()
    assert found == (1,)


def test_existing_target_is_refused_unless_replace(torture: SqliteSchema, pg_dsn: str) -> None:
    with psycopg.connect(pg_dsn) as conn:
        with pytest.raises(TargetNotEmptyError, match="--replace"):
            install_schema(conn, torture, plan_schema(torture, "torture"), None)
    with psycopg.connect(pg_dsn) as conn:
        install_schema(conn, torture, plan_schema(torture, "torture"), None, replace=True)


@pytest.mark.parametrize(
    ("sql", "named"),
    [
        ("CREATE TABLE t(a TEXT CHECK (a LIKE 'x%'))", "table 't', CHECK 1"),
        ("CREATE TABLE t(a INTEGER, b INTEGER GENERATED ALWAYS AS (a + 1))", "column 'b'"),
        ("CREATE TABLE t(a REFERENCES nowhere(id))", "'nowhere'"),
        ("CREATE TABLE t(a INTEGER DEFAULT (random()))", "column 'a' DEFAULT"),
        ("CREATE TABLE t(a INTEGER DEFAULT 'abc')", "column 'a' DEFAULT"),
        ("CREATE TABLE t(a TEXT); CREATE INDEX i ON t(substr(a, -2))", "index 'i'"),
        ("CREATE TABLE t(_sqlmite_overflow TEXT)", "column '_sqlmite_overflow'"),
        ("CREATE TABLE p(k TEXT); CREATE TABLE c(k REFERENCES p(k))", "foreign key"),
        ("CREATE VIRTUAL TABLE f USING fts5(body)", "virtual table 'f'"),
    ],
)
def test_what_cannot_be_expressed_is_refused_by_name(sql: str, named: str) -> None:
    with pytest.raises(UnsupportedSchemaError) as caught:
        plan_schema(schema_of(sql), "x")
    assert named in str(caught.value)


def test_a_column_named_like_the_rowid_keeps_its_name_in_indexes() -> None:
    schema = schema_of("CREATE TABLE t(RowId TEXT, v INT); CREATE INDEX i ON t(RowId) WHERE RowId IS NOT NULL")
    index = next(s.sql for s in plan_schema(schema, "x").post_data if s.obj == "index 'i'")
    assert '"RowId"' in index and "_sqlmite_rowid" not in index


def test_numeric_default_keeps_every_digit(pg: psycopg.Connection) -> None:
    schema = schema_of("CREATE TABLE t(id INTEGER PRIMARY KEY, n NUMERIC DEFAULT 0.30000000000000004)")
    install_schema(pg, schema, plan_schema(schema, "numdef"), None)
    assert pg.execute("INSERT INTO numdef.t (id) VALUES (1) RETURNING n").fetchone()[0] == Decimal("0.30000000000000004")


def test_foreign_keys_name_parent_columns_as_declared(pg: psycopg.Connection) -> None:
    schema = schema_of("CREATE TABLE Parent(Id INTEGER PRIMARY KEY, Code TEXT UNIQUE);"
                       "CREATE TABLE child(pid INTEGER REFERENCES parent(id), c TEXT REFERENCES PARENT(code))")
    install_schema(pg, schema, plan_schema(schema, "fkcase"), None)


def test_constraint_names_cannot_collide_with_sqlite_index_names(pg: psycopg.Connection) -> None:
    schema = schema_of("CREATE TABLE t(a TEXT NOT NULL PRIMARY KEY, b UNIQUE); CREATE INDEX t_pkey ON t(b);"
                       "CREATE INDEX t_b_key ON t(a)")
    install_schema(pg, schema, plan_schema(schema, "pkeyname"), None)


@pytest.mark.parametrize("name", ["sqlmite", "pg_catalog", "pg_data", "information_schema", "public"])
def test_reserved_postgres_schemas_are_refused(name: str) -> None:
    with pytest.raises(UnsupportedSchemaError, match="reserved"):
        plan_schema(schema_of("CREATE TABLE t(a)"), name)
