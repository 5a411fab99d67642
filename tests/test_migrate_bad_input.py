"""``sqlmite migrate`` given bad input: one clear line, a documented exit code, nothing harmed.

Each case runs the command as a user does and checks the same promises: exactly one message line
starting with ``sqlmite:``, the exit code docs/migration.md gives for it, no traceback, the source
file's bytes unchanged, and the target either untouched (nothing created, no backup written) or
left so that running the same command again resumes.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import socket
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import apsw
import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from sqlmite.backend.embedded import EmbeddedServer
from sqlmite.testing import generate

SECRET = "hunter2-Secret-99"


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SQLMITE_", "PG"))}
    env.update(extra or {})
    return env


def migrate(source: Path, dsn: str, schema: str, work: Path, *extra: str,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    args = ["migrate", str(source), "--to", dsn, "--schema", schema, "--backup-dir", str(work / "backups"),
            "--data-dir", str(work / "data"), *extra]
    return subprocess.run([sys.executable, "-m", "sqlmite", *args], capture_output=True, text=True,
                          env=_env(env), timeout=120, stdin=subprocess.DEVNULL)


def assert_one_clear_line(result: subprocess.CompletedProcess[str], code: int, *says: str) -> str:
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("sqlmite:")]
    assert len(lines) == 1, result.stderr
    for text in says:
        assert text in lines[0], (text, lines[0])
    assert SECRET not in result.stderr + result.stdout
    return lines[0]


def assert_target_untouched(dsn: str, schema: str, work: Path) -> None:
    """Nothing was created for ``schema`` and no backup was written."""
    with psycopg.connect(dsn, autocommit=True) as pg:
        assert pg.execute("SELECT count(*) FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone() == (0,)
        if pg.execute("SELECT to_regclass('sqlmite.migrations')").fetchone()[0] is not None:
            assert pg.execute("SELECT count(*) FROM sqlmite.migrations WHERE schema_name = %s",
                              (schema,)).fetchone() == (0,)
    assert not (work / "backups").exists() or not any((work / "backups").iterdir())


@pytest.fixture(scope="module")
def real_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real database of a few MB in rollback-journal mode (the lock test needs that mode)."""
    path = tmp_path_factory.mktemp("bad-input") / "library.db"
    generate(path, 2000)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode = delete").fetchone() == ("delete",)
    conn.close()
    return path


def copy_of(real_db: Path, tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    shutil.copyfile(real_db, target)
    return target


# ---- the source -----------------------------------------------------------------------------------


def test_not_a_sqlite_file(tmp_path: Path, pg_dsn: str) -> None:
    source = tmp_path / "notes.db"
    source.write_text("these are my notes, not a database\n" * 200)
    before = source.read_bytes()
    result = migrate(source, pg_dsn, "bad_notadb", tmp_path)
    assert_one_clear_line(result, 4, "not a SQLite database", str(source))
    assert source.read_bytes() == before
    assert_target_untouched(pg_dsn, "bad_notadb", tmp_path)


def test_truncated_file(real_db: Path, tmp_path: Path, pg_dsn: str) -> None:
    data = real_db.read_bytes()
    source = tmp_path / "truncated.db"
    source.write_bytes(data[: len(data) // 2])  # a copy cut off half way, as by a full disk
    before = source.read_bytes()
    result = migrate(source, pg_dsn, "bad_truncated", tmp_path)
    line = assert_one_clear_line(result, 4, str(source))
    assert "corrupt" in line or "truncated" in line, line
    assert source.read_bytes() == before
    assert_target_untouched(pg_dsn, "bad_truncated", tmp_path)


def test_corrupted_file_is_caught_by_quick_check_before_anything_is_written(real_db: Path, tmp_path: Path,
                                                                            pg_dsn: str) -> None:
    source = copy_of(real_db, tmp_path, "corrupted.db")
    page = 4096
    data = bytearray(source.read_bytes())
    pages = len(data) // page
    garbage = random.Random(3)
    for n in range(pages // 2, pages // 2 + 4):  # four pages in the middle: data, not the schema
        data[n * page:(n + 1) * page] = garbage.randbytes(page)
    source.write_bytes(bytes(data))
    # the damage is invisible to opening the file and reading its schema: only quick_check sees it
    conn = apsw.Connection(str(source), flags=apsw.SQLITE_OPEN_READONLY)
    assert conn.execute("SELECT count(*) FROM sqlite_master").fetchall()[0][0] > 30
    try:
        damaged = conn.execute("PRAGMA quick_check").fetchall() != [("ok",)]
    except apsw.CorruptError:  # quick_check reports some damage by raising
        damaged = True
    conn.close()
    assert damaged
    before = source.read_bytes()
    result = migrate(source, pg_dsn, "bad_corrupt", tmp_path)
    assert_one_clear_line(result, 4, "corrupt", str(source))
    assert source.read_bytes() == before
    assert_target_untouched(pg_dsn, "bad_corrupt", tmp_path)


LOCKER = textwrap.dedent("""
    import sqlite3, sys
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    conn.execute("BEGIN EXCLUSIVE")
    print("locked", flush=True)
    sys.stdin.read()  # hold the lock until the test closes our stdin
    conn.execute("ROLLBACK")
    conn.close()
""")


def test_file_locked_by_a_writer(real_db: Path, tmp_path: Path, pg_dsn: str) -> None:
    source = copy_of(real_db, tmp_path, "locked.db")
    before = source.read_bytes()
    locker = subprocess.Popen([sys.executable, "-c", LOCKER, str(source)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert locker.stdout is not None and locker.stdout.readline().strip() == "locked"
        started = time.monotonic()
        result = migrate(source, pg_dsn, "bad_locked", tmp_path)
        waited = time.monotonic() - started
    finally:
        assert locker.stdin is not None
        locker.stdin.close()
        locker.wait(timeout=30)
    assert locker.returncode == 0
    assert_one_clear_line(result, 4, "locked by another process", str(source))
    assert 4.5 < waited < 30, waited  # it waited its busy timeout (5 s), then gave up
    assert source.read_bytes() == before
    assert not Path(f"{source}-journal").exists()
    assert_target_untouched(pg_dsn, "bad_locked", tmp_path)


def test_missing_file(tmp_path: Path, pg_dsn: str) -> None:
    result = migrate(tmp_path / "nowhere.db", pg_dsn, "bad_missing", tmp_path)
    assert_one_clear_line(result, 4, "no such file", "nowhere.db")
    assert not (tmp_path / "nowhere.db").exists()
    assert_target_untouched(pg_dsn, "bad_missing", tmp_path)


# ---- the target -----------------------------------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_target(real_db: Path, tmp_path: Path) -> None:
    source = copy_of(real_db, tmp_path, "library.db")
    before = source.read_bytes()
    dsn = f"postgresql://jellyfin:{SECRET}@127.0.0.1:{closed_port()}/jellyfin"
    started = time.monotonic()
    result = migrate(source, dsn, "bad_unreachable", tmp_path,
                     env={"SQLMITE_RETRY_ATTEMPTS": "1", "SQLMITE_CONNECT_TIMEOUT": "2"})
    assert time.monotonic() - started < 20
    assert_one_clear_line(result, 3, "unreachable", "jellyfin:***@127.0.0.1")
    assert source.read_bytes() == before
    assert not (tmp_path / "backups").exists()  # nothing written before PostgreSQL answers


@pytest.fixture(scope="module")
def private_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    """A PostgreSQL of this module's own, to change its authentication and its disks at will."""
    server = EmbeddedServer(tmp_path_factory.mktemp("private-pg"), delete_on_exit=True)
    server.start()
    yield server
    server.stop()


def test_target_refusing_the_password(real_db: Path, tmp_path: Path, private_server: EmbeddedServer) -> None:
    uri = private_server.uri
    with psycopg.connect(uri, autocommit=True) as admin:
        admin.execute("CREATE ROLE alice LOGIN CREATEDB PASSWORD 'the-right-one-17'")
        hba = Path(admin.execute("SHOW hba_file").fetchone()[0])  # type: ignore[index]
        # alice (only) must give a password, on the socket and over TCP
        hba.write_text("local all alice scram-sha-256\nhost all alice 127.0.0.1/32 scram-sha-256\n"
                       + hba.read_text())
        admin.execute("SELECT pg_reload_conf()")
    socket_dir = conninfo_to_dict(uri)["host"]
    wrong = f"postgresql://alice:{SECRET}@/postgres?host={socket_dir}"
    deadline = time.monotonic() + 5
    while True:  # the reload is asynchronous
        try:
            psycopg.connect(wrong).close()
        except psycopg.OperationalError:
            break
        assert time.monotonic() < deadline, "pg_hba.conf change not in effect"
        time.sleep(0.05)
    psycopg.connect(f"postgresql://alice:the-right-one-17@/postgres?host={socket_dir}").close()

    source = copy_of(real_db, tmp_path, "library.db")
    before = source.read_bytes()
    started = time.monotonic()
    result = migrate(source, wrong, "bad_password", tmp_path)
    assert time.monotonic() - started < 15, "an authentication failure is not retried"
    assert_one_clear_line(result, 3, "authentication failed", "alice:***@")
    assert source.read_bytes() == before
    assert_target_untouched(uri, "bad_password", tmp_path)


# ---- a target that runs out of disk space mid-load --------------------------------------------------


@pytest.fixture
def small_disk(private_server: EmbeddedServer) -> Iterator[Path]:
    """A 24 MB tmpfs: real ENOSPC for PostgreSQL's files, without filling the machine's disk.

    Mounted inside the private server's data directory, whose path its OS user can traverse.
    """
    if os.geteuid() != 0:
        pytest.skip("mounting a size-limited tmpfs needs root (running as uid %d)" % os.geteuid())
    mount = private_server.data_dir / "small-disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m,mode=0755", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs in this sandbox: {done.stderr.strip() or done.returncode}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True)
        if os.path.ismount(mount):
            subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def free_bytes(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def test_target_out_of_space_mid_load_then_resumes(tmp_path: Path, private_server: EmbeddedServer,
                                                   small_disk: Path) -> None:
    # A tablespace on the small disk is the database's default: data files go there, while the
    # server's WAL stays on the big disk (PostgreSQL stops with PANIC when WAL cannot be written;
    # a full data disk is an ordinary error, the case to test).
    owner = os.stat(private_server.pgdata).st_uid
    space = small_disk / "ts"
    space.mkdir(mode=0o700)
    os.chown(space, owner, -1)
    admin_uri = private_server.uri
    with psycopg.connect(admin_uri, autocommit=True) as admin:
        admin.execute(f"CREATE TABLESPACE small LOCATION '{space}'")
        admin.execute("CREATE DATABASE diskfull")
        admin.execute("ALTER DATABASE diskfull SET default_tablespace = small")
    params = conninfo_to_dict(admin_uri)
    dsn = f"postgresql://{params.get('user', 'postgres')}@/diskfull?host={params['host']}"
    try:
        _out_of_space(tmp_path, dsn, small_disk)
    finally:
        with psycopg.connect(admin_uri, autocommit=True) as admin:
            admin.execute("DROP DATABASE IF EXISTS diskfull WITH (FORCE)")
            admin.execute("DROP TABLESPACE IF EXISTS small")


def _out_of_space(tmp_path: Path, dsn: str, disk: Path) -> None:
    # The source: many small rows (loaded first: tables go largest row count first), then a few
    # big incompressible blobs that cannot fit in what is left.
    source = tmp_path / "media.db"
    conn = apsw.Connection(str(source))
    conn.execute("""
        CREATE TABLE small (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
        CREATE TABLE fat (id INTEGER PRIMARY KEY, blob BLOB NOT NULL);
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
        INSERT INTO small SELECT i, 'item ' || i FROM n;
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40)
        INSERT INTO fat SELECT i, randomblob(200000) FROM n;
    """)
    conn.close()
    before = source.read_bytes()

    # Fill the small disk until 3 MB are left: room for `small`, not for `fat` (8 MB).
    with psycopg.connect(dsn, autocommit=True) as pg:
        pg.execute("CREATE SCHEMA filler")
        pg.execute("CREATE TABLE filler.f (b bytea)")
        pg.execute("ALTER TABLE filler.f ALTER b SET STORAGE EXTERNAL")  # no compression
        while free_bytes(disk) > 3_500_000:
            pg.execute("INSERT INTO filler.f VALUES (%s)", (os.urandom(256 * 1024),))
        pg.execute("CHECKPOINT")
    assert 1_000_000 < free_bytes(disk) <= 3_500_000

    result = migrate(source, dsn, "media", tmp_path, "--jobs", "1")
    line = assert_one_clear_line(result, 3, "ran out of disk space", "fat")
    assert "run the same command again to resume" in line
    assert source.read_bytes() == before
    with psycopg.connect(dsn, autocommit=True) as pg:
        marked = {r[0] for r in pg.execute("SELECT table_name FROM sqlmite.loaded_tables "
                                           "WHERE schema_name = 'media'")}
        assert marked == {"small"}  # mid-load: the first table is in, the one that hit the wall is not
        assert pg.execute("SELECT count(*) FROM media.small").fetchone() == (2000,)
        assert pg.execute("SELECT count(*) FROM media.fat").fetchone() == (0,)
        assert pg.execute("SELECT status FROM sqlmite.migrations WHERE schema_name = 'media'").fetchone() \
            == ("loading",)
        pg.execute("DROP TABLE filler.f")  # free the space

    again = migrate(source, dsn, "media", tmp_path, "--jobs", "1", "--json")
    assert again.returncode == 0, again.stderr
    summary: dict[str, Any] = json.loads(again.stdout)
    assert summary["resumed"] is True and summary["skipped"] == ["small"]
    assert [t["name"] for t in summary["tables"]] == ["fat"] and summary["tables"][0]["rows"] == 40
    lite = apsw.Connection(str(source), flags=apsw.SQLITE_OPEN_READONLY)
    expected = {"small": lite.execute("SELECT id, name FROM small ORDER BY id").fetchall(),
                "fat": lite.execute("SELECT id, blob FROM fat ORDER BY id").fetchall()}
    lite.close()
    with psycopg.connect(dsn, autocommit=True) as pg:
        assert pg.execute("SELECT id, name FROM media.small ORDER BY id").fetchall() == expected["small"]
        assert pg.execute("SELECT id, blob FROM media.fat ORDER BY id").fetchall() == expected["fat"]
        assert pg.execute("SELECT status FROM sqlmite.migrations WHERE schema_name = 'media'").fetchone() \
            == ("complete",)
    assert source.read_bytes() == before
