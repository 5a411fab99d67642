"""The connection manager against real PostgreSQL: pooling, retries, failures, TLS, audit.

Tests that restart a server or change its authentication run a private embedded server, so the
shared one (``pg_server``) is never disturbed.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import errors as pgerrors
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg_pool import PoolTimeout

from sqlmite.backend import (
    ConnectionManager,
    execute_ddl,
    is_transient,
    resolve_params,
    retry,
)
from sqlmite.backend.embedded import EmbeddedServer
from sqlmite.backend.retry import backoff_delay
from sqlmite.config import Settings, load_settings
from sqlmite.errors import BackendError

FAST_RETRY = {"retry_base_delay": 0.05, "retry_max_delay": 0.2}


def settings_for(dsn: str, **overrides: Any) -> Settings:
    """Settings as the CLI would build them, ignoring this process's SQLMITE_* / PG* variables."""
    return load_settings(cli={"database_url": dsn, **overrides}, env={})


def closed_port() -> int:
    """A 127.0.0.1 port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sqlmite_backends(dsn: str) -> int:
    """Connections with application_name sqlmite to this test module's own database."""
    dbname = conninfo_to_dict(dsn)["dbname"]
    with psycopg.connect(dsn, autocommit=True, application_name="sqlmite-test") as admin:
        row = admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'sqlmite' AND datname = %s",
            (dbname,),
        ).fetchone()
    assert row is not None
    return int(row[0])


def wait_for(predicate: Any, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())


@pytest.fixture
def audit_log(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> pytest.LogCaptureFixture:
    """Captured sqlmite log records (setup_logging elsewhere may have stopped propagation)."""
    monkeypatch.setattr(logging.getLogger("sqlmite"), "propagate", True)
    caplog.set_level(logging.INFO, logger="sqlmite")
    return caplog


def audits(caplog: pytest.LogCaptureFixture, what: str | None = None) -> list[dict[str, Any]]:
    found = [getattr(r, "sqlmite_fields", {}) for r in caplog.records if r.name == "sqlmite.audit"]
    return [f for f in found if what is None or f.get("event") == what]


@pytest.fixture
def private_server(tmp_path: Path) -> Iterator[EmbeddedServer]:
    """An embedded server of this test's own, to restart or reconfigure at will."""
    server = EmbeddedServer(tmp_path / "private", delete_on_exit=True)
    server.start()
    yield server
    server.stop()


# -- basics -----------------------------------------------------------------------------------


def test_checkout_gives_a_working_connection_named_sqlmite(pg_dsn: str) -> None:
    with ConnectionManager(settings_for(pg_dsn)) as manager:
        with manager.connection() as conn:
            assert conn.execute("SHOW application_name").fetchone() == ("sqlmite",)
            assert conn.execute("SHOW statement_timeout").fetchone() == ("0",)
            assert conn.info.dbname == conninfo_to_dict(pg_dsn)["dbname"]
        assert manager.run(lambda c: c.execute("SELECT 40 + 2").fetchone()) == (42,)


def test_statement_timeout_is_applied_and_not_retried(pg_dsn: str) -> None:
    with ConnectionManager(settings_for(pg_dsn, statement_timeout=0.2), **FAST_RETRY) as manager:
        with manager.connection() as conn:
            assert conn.execute("SHOW statement_timeout").fetchone() == ("200ms",)
        attempts = 0

        def slow(conn: psycopg.Connection[Any]) -> None:
            nonlocal attempts
            attempts += 1
            conn.execute("SELECT pg_sleep(2)")

        started = time.monotonic()
        with pytest.raises(pgerrors.QueryCanceled):
            manager.run(slow)
        assert attempts == 1
        assert time.monotonic() - started < 1.5


def test_max_size_is_respected_and_stats_show_use_and_waiting(pg_dsn: str) -> None:
    settings = settings_for(pg_dsn, pool_size=2, pool_min_size=1)
    with ConnectionManager(settings) as manager, contextlib.ExitStack() as held:
        first = held.enter_context(manager.connection())
        second = held.enter_context(manager.connection())
        assert first.info.backend_pid != second.info.backend_pid
        stats = manager.stats()
        assert (stats.size, stats.in_use, stats.idle, stats.waiting, stats.max_size) == (2, 2, 0, 0, 2)

        got: list[int] = []

        def third() -> None:
            with manager.connection() as conn:
                got.append(conn.info.backend_pid)

        waiter = threading.Thread(target=third)
        waiter.start()
        assert wait_for(lambda: manager.stats().waiting == 1), manager.stats()
        assert sqlmite_backends(pg_dsn) == 2  # the pool did not grow past max_size
        held.close()  # give both back: the waiting thread gets one of them
        waiter.join(timeout=10)
        assert got and got[0] in {first.info.backend_pid, second.info.backend_pid}
        stats = manager.stats()
        assert (stats.in_use, stats.waiting) == (0, 0)


def test_close_releases_every_connection(pg_dsn: str) -> None:
    manager = ConnectionManager(settings_for(pg_dsn, pool_size=3, pool_min_size=3))
    manager.open()
    assert wait_for(lambda: sqlmite_backends(pg_dsn) == 3)
    with manager.connection() as conn:
        manager.close()  # a connection still checked out is closed when it comes back
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert conn.closed
    assert wait_for(lambda: sqlmite_backends(pg_dsn) == 0), "connections left open after close()"
    assert manager.stats().size == 0
    with pytest.raises(BackendError, match="not open"):
        with manager.connection():
            pass


# -- retries ----------------------------------------------------------------------------------


def test_transient_failure_is_retried_but_unique_violation_is_not(
    pg_dsn: str, audit_log: pytest.LogCaptureFixture
) -> None:
    with ConnectionManager(settings_for(pg_dsn), **FAST_RETRY) as manager:
        manager.run(lambda c: c.execute("CREATE TABLE retried (id int PRIMARY KEY)"))
        attempts = 0

        def insert_once_server_side_kill(conn: psycopg.Connection[Any]) -> int:
            nonlocal attempts
            attempts += 1
            if attempts == 1:  # the server drops us mid-transaction (57P01), as on a restart
                conn.execute("INSERT INTO retried VALUES (1)")
                conn.execute("SELECT pg_terminate_backend(pg_backend_pid())")
            conn.execute("INSERT INTO retried VALUES (1)")
            return attempts

        assert manager.run(insert_once_server_side_kill) == 2
        assert manager.run(lambda c: c.execute("SELECT count(*) FROM retried").fetchone()) == (1,)
        assert manager.stats().connections_lost == 1
        assert [a["reason"] for a in audits(audit_log, "connection lost")] == ["connection broke while in use"]

        attempts = 0

        def duplicate(conn: psycopg.Connection[Any]) -> None:
            nonlocal attempts
            attempts += 1
            conn.execute("INSERT INTO retried VALUES (1)")

        with pytest.raises(pgerrors.UniqueViolation):
            manager.transaction(duplicate)
        assert attempts == 1


def test_is_transient_classifies_real_errors(pg_dsn: str) -> None:
    with pytest.raises(psycopg.OperationalError) as refused:
        psycopg.connect(host="127.0.0.1", port=closed_port(), user="postgres", connect_timeout=1)
    assert is_transient(refused.value)
    with pytest.raises(psycopg.OperationalError) as no_db:
        psycopg.connect(pg_dsn, dbname="sqlmite_no_such_database")
    assert not is_transient(no_db.value)
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        with pytest.raises(pgerrors.DivisionByZero) as zero:
            conn.execute("SELECT 1 / 0")
        with pytest.raises(pgerrors.AdminShutdown) as killed:
            conn.execute("SELECT pg_terminate_backend(pg_backend_pid())")
    assert not is_transient(zero.value)
    assert is_transient(killed.value)
    for code, transient in [("08006", True), ("08001", True), ("57P01", True), ("57P02", True),
                            ("57P03", True), ("40001", False), ("40P01", False), ("23505", False),
                            ("53300", False), ("57014", False), ("28P01", False)]:
        assert is_transient(pgerrors.lookup(code)("x")) is transient, code
    assert not is_transient(PoolTimeout("busy"))
    assert not is_transient(ValueError("not a database error"))


def test_retry_backs_off_exponentially_with_jitter_and_gives_up() -> None:
    calls, sleeps = 0, []

    def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls < 4:
            raise pgerrors.lookup("57P03")("the database system is starting up")
        return "ok"

    assert retry(flaky, attempts=5, base_delay=0.1, max_delay=0.3, sleep=sleeps.append) == "ok"
    assert calls == 4 and len(sleeps) == 3
    for attempt, slept in enumerate(sleeps, 1):
        step = min(0.3, 0.1 * 2 ** (attempt - 1))
        assert step / 2 <= slept <= step
    assert max(backoff_delay(20, 0.1, 0.3) for _ in range(50)) <= 0.3

    def failing(error: Exception) -> Any:
        def fn() -> None:
            nonlocal calls
            calls += 1
            raise error

        return fn

    calls = 0
    with pytest.raises(pgerrors.AdminShutdown):
        retry(failing(pgerrors.AdminShutdown("gone")), attempts=3, sleep=lambda _: None)
    assert calls == 3  # gave up after the last attempt, with the server's own error
    calls = 0
    with pytest.raises(pgerrors.UniqueViolation):
        retry(failing(pgerrors.UniqueViolation("dup")), attempts=3, sleep=lambda _: None)
    assert calls == 1


def test_checkout_works_after_postgres_restarts(private_server: EmbeddedServer,
                                                audit_log: pytest.LogCaptureFixture) -> None:
    with ConnectionManager(Settings(), private_server.uri, **FAST_RETRY) as manager:
        with manager.connection() as conn:
            before = conn.execute("SELECT pg_backend_pid(), pg_postmaster_start_time()").fetchone()
        private_server.restart()
        started = time.monotonic()
        with manager.connection() as conn:
            after = conn.execute("SELECT pg_backend_pid(), pg_postmaster_start_time()").fetchone()
        assert before is not None and after is not None
        assert after[1] > before[1], "still talking to the old server"
        assert time.monotonic() - started < 10
        assert manager.run(lambda c: c.execute("SELECT 1").fetchone()) == (1,)
        assert audits(audit_log, "connection lost")[0]["reason"] == "failed health check"
        assert len(audits(audit_log, "connection opened")) >= 2


# -- failures reported as one clear line ------------------------------------------------------


def test_wrong_password_fails_at_once_with_one_clear_error(
    private_server: EmbeddedServer, tmp_path: Path, audit_log: pytest.LogCaptureFixture
) -> None:
    wrong, right = "not-the-Pa55word-42", "the-right-one-17"
    with psycopg.connect(private_server.uri, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE alice LOGIN PASSWORD '{right}'")
        hba = Path(admin.execute("SHOW hba_file").fetchone()[0])  # type: ignore[index]
        lines = hba.read_text().splitlines(keepends=True)
        hba.write_text("".join(
            line.replace("trust", "scram-sha-256") if line.startswith("local") else line for line in lines
        ))
        admin.execute("SELECT pg_reload_conf()")
    alice = make_conninfo(private_server.uri, user="alice")

    def refuses_no_password() -> bool:
        try:
            psycopg.connect(alice).close()
        except psycopg.OperationalError:
            return True
        return False

    assert wait_for(refuses_no_password, 5), "pg_hba.conf change not in effect"
    psycopg.connect(alice, password=right).close()  # the role itself works

    password_file = tmp_path / "password"
    password_file.write_text(wrong + "\n")
    settings = load_settings(cli={"database_url": alice, "password_file": str(password_file)}, env={})
    manager = ConnectionManager(settings, **FAST_RETRY)
    started = time.monotonic()
    with pytest.raises(BackendError) as failed:
        manager.open()
    elapsed = time.monotonic() - started
    message = str(failed.value)
    assert elapsed < 2, "an authentication failure must not be retried"
    assert "authentication failed" in message
    assert "alice" in message and message.split("@")[0].endswith("alice:***")
    assert "]/postgres: " in message  # the database, after the socket directory
    assert wrong not in message and "\n" not in message
    assert failed.value.__cause__ is None and failed.value.__suppress_context__
    assert failed.value.exit_code == 3
    assert all(wrong not in r.getMessage() and wrong not in str(r.__dict__) for r in audit_log.records)


def test_unreachable_server_fails_quickly(audit_log: pytest.LogCaptureFixture) -> None:
    port = closed_port()
    dsn = f"postgresql://sqlmite:hunter2-secret@127.0.0.1:{port}/appdb"
    manager = ConnectionManager(settings_for(dsn, connect_timeout=1, retry_attempts=2), **FAST_RETRY)
    started = time.monotonic()
    with pytest.raises(BackendError) as failed:
        manager.open()
    assert time.monotonic() - started < 5
    message = str(failed.value)
    assert message.startswith(f"cannot connect to postgresql://sqlmite:***@127.0.0.1:{port}/appdb: server unreachable")
    assert "hunter2" not in message and "\n" not in message
    assert all("hunter2" not in str(r.__dict__) for r in audit_log.records)


# -- audit and failover -----------------------------------------------------------------------


def test_audit_lines_carry_target_and_role_never_secrets(pg_dsn: str, audit_log: pytest.LogCaptureFixture) -> None:
    # The shared server trusts local connections, so a password is sent but never needed.
    secret_dsn = make_conninfo(pg_dsn, password="s3cret-in-url-99")
    dbname = conninfo_to_dict(pg_dsn)["dbname"]
    with ConnectionManager(settings_for(secret_dsn)) as manager:
        with manager.connection() as conn:
            execute_ddl(conn, "CREATE TABLE audited (id int)", obj="audited")
            role = conn.info.user
    opened, ddl = audits(audit_log, "connection opened"), audits(audit_log, "ddl")
    closed = audits(audit_log, "connection closed")
    assert opened and ddl and closed
    for entry in opened + ddl + closed:
        assert entry["role"] == role
        assert entry["target"].endswith("/" + dbname)
    assert ddl == [{"event": "ddl", "target": ddl[0]["target"], "role": role, "object": "audited",
                    "statement": "CREATE TABLE"}]
    for record in audit_log.records:
        assert "s3cret" not in record.getMessage() and "s3cret" not in str(record.__dict__)


def test_multi_host_dsn_skips_a_dead_first_host(pg_dsn: str, audit_log: pytest.LogCaptureFixture) -> None:
    with psycopg.connect(pg_dsn) as probe:
        live_host, live_port = probe.info.host, probe.info.port
    dead_port = closed_port()
    params = conninfo_to_dict(pg_dsn)
    params.update(host=f"127.0.0.1,{live_host}", port=f"{dead_port},{live_port}")
    with ConnectionManager(settings_for(make_conninfo(**params))) as manager:
        assert manager.params["target_session_attrs"] == "read-write"
        with manager.connection() as conn:
            assert (conn.info.host, conn.info.port) == (live_host, live_port)
    opened = audits(audit_log, "connection opened")
    assert opened and all(f"{live_host}:{live_port}" in entry["target"] for entry in opened)
    assert not any(f":{dead_port}" in entry["target"] for entry in opened)


def test_failover_to_the_next_host_is_audited(
    private_server: EmbeddedServer, pg_server: str, audit_log: pytest.LogCaptureFixture
) -> None:
    shared = conninfo_to_dict(pg_server)
    with psycopg.connect(pg_server) as probe:
        shared_host, shared_port, shared_user = probe.info.host, probe.info.port, probe.info.user
    if shared_user != "postgres" or shared.get("password"):
        pytest.skip("the shared server must accept user postgres without a password")
    private = conninfo_to_dict(private_server.uri)
    hosts = f"{private['host']},{shared_host}"
    dsn = make_conninfo(host=hosts, port=f"{private.get('port') or 5432},{shared_port}", user="postgres",
                        dbname="postgres")
    with ConnectionManager(settings_for(dsn), **FAST_RETRY) as manager:
        assert manager.run(lambda c: c.info.host) == private["host"]
        private_server.halt()  # the primary goes away
        assert manager.run(lambda c: (c.info.host, c.info.port)) == (shared_host, shared_port)
    failed_over = audits(audit_log, "connection failed over")
    assert failed_over, [a["event"] for a in audits(audit_log)]
    assert f"{shared_host}:{shared_port}" in failed_over[0]["target"]
    assert private["host"] in failed_over[0]["previous"]


# -- choosing the backend ---------------------------------------------------------------------


def test_resolve_params_starts_the_embedded_server_and_says_so(
    tmp_path: Path, audit_log: pytest.LogCaptureFixture
) -> None:
    server = EmbeddedServer(tmp_path / "embedded", delete_on_exit=True)
    try:
        params = resolve_params(load_settings(cli={"data_dir": str(tmp_path / "embedded")}, env={}), server)
        lines = [r.getMessage() for r in audit_log.records if r.name == "sqlmite.backend"]
        assert lines == [f"using embedded PostgreSQL in {tmp_path / 'embedded'}"]
        with psycopg.connect(**params) as conn:
            assert conn.execute("SHOW application_name").fetchone() == ("sqlmite",)
    finally:
        server.stop()
    audit_log.clear()
    params = resolve_params(settings_for("postgresql://u:pw-never-shown@db.example:5433/app"))
    assert params["password"] == "pw-never-shown"
    lines = [r.getMessage() for r in audit_log.records if r.name == "sqlmite.backend"]
    assert lines == ["using PostgreSQL postgresql://u:***@db.example:5433/app"]


# -- TLS --------------------------------------------------------------------------------------

PG15 = Path("/usr/lib/postgresql/15/bin")


def _unprivileged_user() -> str | None:
    """PostgreSQL refuses to run as root: the account to run it as, or None when not root."""
    if os.geteuid() != 0:
        return None
    for name in ("nobody", "embedded_postgres", "postgres"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    pytest.skip("running as root and no unprivileged account to run PostgreSQL as")


def _make_ca(name: str) -> tuple[Any, Any]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _write_tls_files(workdir: Path) -> tuple[Path, Path]:
    """server.crt/server.key for ``localhost`` signed by a fresh CA; returns (ca.crt, other-ca.crt)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    ca_key, ca_cert = _make_ca("sqlmite test CA")
    _, other_cert = _make_ca("some other CA")
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    (workdir / "server.crt").write_bytes(cert.public_bytes(pem))
    (workdir / "server.key").write_bytes(key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    (workdir / "server.key").chmod(0o600)
    (workdir / "ca.crt").write_bytes(ca_cert.public_bytes(pem))
    (workdir / "other-ca.crt").write_bytes(other_cert.public_bytes(pem))
    return workdir / "ca.crt", workdir / "other-ca.crt"


@pytest.fixture
def tls_server() -> Iterator[tuple[int, Path, Path]]:
    """A PostgreSQL with ssl=on on 127.0.0.1 (Debian's binaries; the wheel's lack OpenSSL)."""
    if not (PG15 / "initdb").exists() or not (PG15 / "pg_ctl").exists():
        pytest.skip(f"TLS test needs PostgreSQL binaries built with OpenSSL in {PG15}")
    user = _unprivileged_user()
    as_user = ["runuser", "-u", user, "--"] if user else []
    # Not under pytest's tmp_path: that is private to root, and the server runs as `user`.
    workdir = Path(tempfile.mkdtemp(prefix="sqlmite-tls-"))
    try:
        ca, other_ca = _write_tls_files(workdir)
        if user:
            entry = pwd.getpwnam(user)
            for path in [workdir, *workdir.iterdir()]:
                os.chown(path, entry.pw_uid, entry.pw_gid)
        workdir.chmod(0o755)
        data = workdir / "data"

        def run(*cmd: str) -> None:
            subprocess.run([*as_user, *cmd], cwd=workdir, check=True, capture_output=True, timeout=30)

        run(str(PG15 / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-N", "-E", "UTF8")
        port = closed_port()
        options = (f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={workdir} "
                   f"-c ssl=on -c ssl_cert_file={workdir / 'server.crt'} -c ssl_key_file={workdir / 'server.key'} "
                   "-c fsync=off")
        run(str(PG15 / "pg_ctl"), "-D", str(data), "-w", "-t", "20", "-l", str(workdir / "log"), "-o", options, "start")
        try:
            yield port, ca, other_ca
        finally:
            run(str(PG15 / "pg_ctl"), "-D", str(data), "-w", "-m", "immediate", "stop")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def test_tls_verify_full(tls_server: tuple[int, Path, Path]) -> None:
    port, ca, other_ca = tls_server
    dsn = f"postgresql://postgres@localhost:{port}/postgres?hostaddr=127.0.0.1"
    settings = settings_for(dsn, sslmode="verify-full", sslrootcert=str(ca), connect_timeout=2)
    with ConnectionManager(settings) as manager:
        with manager.connection() as conn:
            assert conn.pgconn.ssl_in_use
            assert conn.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone() == (True,)

    wrong_ca = settings_for(dsn, sslmode="verify-full", sslrootcert=str(other_ca), connect_timeout=2)
    started = time.monotonic()
    with pytest.raises(BackendError) as failed:
        ConnectionManager(wrong_ca, **FAST_RETRY).open()
    assert time.monotonic() - started < 2, "a TLS verification failure must not be retried"
    message = str(failed.value)
    assert message.startswith(f"cannot connect to postgresql://postgres@localhost:{port}/postgres: TLS failed")
    assert "certificate verify failed" in message and "\n" not in message


def test_work_waits_for_a_server_that_is_down_for_a_while(private_server: EmbeddedServer) -> None:
    settings = Settings(connect_timeout=1, retry_attempts=6)
    with ConnectionManager(settings, private_server.uri, **FAST_RETRY) as manager:
        assert manager.run(lambda c: c.execute("SELECT 1").fetchone()) == (1,)
        private_server.halt()
        comeback = threading.Timer(1.5, private_server.restart)  # `restart` starts a stopped server
        comeback.start()
        try:
            started = time.monotonic()
            assert manager.run(lambda c: c.execute("SELECT 2").fetchone()) == (2,)
            assert time.monotonic() - started >= 1.4
        finally:
            comeback.join()
        assert manager.stats().errors >= 1  # the pool did try while the server was down
