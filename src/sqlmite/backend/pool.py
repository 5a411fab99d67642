"""The PostgreSQL connection manager: one pool, health-checked, retried, audited.

Everything sqlmite does against PostgreSQL goes through ``ConnectionManager`` so that a server
restart, a failover or a wrong password is handled in exactly one place: transient failures
are retried with backoff, permanent ones become a single ``BackendError`` line that names the
target (never the password), and every connection event leaves an audit line.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self, TypeVar

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from sqlmite.backend.retry import is_transient, retry
from sqlmite.config import Settings, connection_params, describe_target
from sqlmite.errors import BackendError
from sqlmite.observe.log import audit, event

log = logging.getLogger(__name__)

T = TypeVar("T")

# Delays between retries of a whole unit of work (seconds); the pool's own reconnection has its
# own backoff (psycopg_pool's, also exponential with jitter).
RETRY_BASE_DELAY = 0.2
RETRY_MAX_DELAY = 5.0


@dataclass(frozen=True)
class PoolStats:
    """A snapshot of the pool for metrics and ``sqlmite status``."""

    size: int  # connections open or being opened
    in_use: int  # checked out by callers
    idle: int  # ready in the pool
    waiting: int  # callers queued for a connection
    max_size: int
    errors: int  # failed connection attempts since the pool was opened
    connections_lost: int  # connections found broken (health check, or during use)


def display_params(params: dict[str, Any]) -> dict[str, Any]:
    """``params`` with libpq's PG* variables filled in, so a libpq-env target can be named."""
    shown = dict(params)
    for key, var in (("host", "PGHOST"), ("port", "PGPORT"), ("user", "PGUSER"), ("dbname", "PGDATABASE")):
        if not shown.get(key) and os.environ.get(var):
            shown[key] = os.environ[var]
    return shown


def connection_target(conn: psycopg.Connection[Any]) -> str:
    """``postgresql://user@host:port/db`` of the server ``conn`` actually reached."""
    info = conn.info
    return describe_target({"user": info.user, "host": info.host, "port": info.port, "dbname": info.dbname})


class _TrackedConnection(psycopg.Connection[Any]):
    """A pool connection that remembers where it went and reports failed attempts.

    The pool swallows connection errors in its background workers; this class lets the
    manager see them, so a timeout can say *why* no connection came.
    """

    sqlmite_target: str = ""
    sqlmite_on_error: Callable[[psycopg.Error], None] | None = None

    @classmethod
    def connect(cls, conninfo: str = "", **kwargs: Any) -> Self:  # type: ignore[override]
        try:
            return super().connect(conninfo, **kwargs)
        except psycopg.Error as exc:
            if cls.sqlmite_on_error is not None:
                cls.sqlmite_on_error(exc)
            raise


class ConnectionManager:
    """A pool of PostgreSQL connections for one target, built from ``Settings``.

    ``conninfo`` is the embedded server's URI when that is the backend; ``params`` (as returned
    by ``sqlmite.backend.resolve_params``) replaces both when given.
    """

    def __init__(
        self,
        settings: Settings,
        conninfo: str | None = None,
        *,
        params: dict[str, Any] | None = None,
        retry_base_delay: float = RETRY_BASE_DELAY,
        retry_max_delay: float = RETRY_MAX_DELAY,
    ) -> None:
        self.settings = settings
        self.params = dict(params) if params is not None else connection_params(settings, conninfo)
        shown = display_params(self.params)
        self.target = describe_target(shown)  # for error messages: shows ":***" if a password is set
        self.audit_target = describe_target({k: v for k, v in shown.items() if k != "password"})
        self.role: str | None = shown.get("user")
        self.timeout = max(1.0, settings.connect_timeout)
        self.attempts = settings.retry_attempts
        self.retry_base_delay = retry_base_delay
        self.retry_max_delay = retry_max_delay
        self._pool: ConnectionPool[Any] | None = None
        self._lock = threading.Lock()
        self._server: tuple[str, int] | None = None  # host/port of the last connection opened
        self._last_failure: _Failure | None = None  # the latest failed connection attempt
        self._lost = 0
        # A class per manager, so its error hook reaches this manager only.
        self._connection_class = type(
            "SqlmiteConnection", (_TrackedConnection,), {"sqlmite_on_error": staticmethod(self._on_connect_error)}
        )

    # -- lifecycle ------------------------------------------------------------------------

    def open(self, wait: bool = True) -> None:
        """Start the pool; with ``wait``, fail now with ``BackendError`` if the server is unusable.

        Waiting first makes one direct connection (retried while the server is restarting or
        unreachable) so that a wrong password or a TLS failure is reported at once, with its
        real reason, instead of as a pool timeout later.
        """
        if self._pool is not None:
            return
        if wait:
            try:
                probe = retry(self._connect_once, self.attempts, self.retry_base_delay, self.retry_max_delay)
            except psycopg.Error as exc:
                raise self._error(exc, attempts=self.attempts if is_transient(exc) else 1) from None
            probe.close()
        s = self.settings
        pool: ConnectionPool[Any] = ConnectionPool(
            kwargs=self.params,
            connection_class=self._connection_class,
            min_size=s.pool_min_size,
            max_size=s.pool_size,
            timeout=self.timeout,
            max_idle=max(1.0, s.pool_max_idle),
            max_lifetime=max(1.0, s.pool_max_lifetime),
            configure=self._configure,
            check=self._check,
            reconnect_failed=self._reconnect_failed,
            name="sqlmite",
            open=False,
        )
        try:
            pool.open(wait=wait, timeout=self.timeout * 2)
        except PoolTimeout:
            pool.close()
            raise self._unavailable() from None
        self._pool = pool

    def close(self) -> None:
        """Close every idle connection now; connections still checked out close when returned."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        pool.close()
        audit("connection closed", target=self.audit_target, role=self.role, pool="sqlmite")

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- using connections ----------------------------------------------------------------

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A healthy connection, committed on success and rolled back on error.

        The checkout is retried while the server is restarting; the work inside the block is
        not (a context manager cannot run its body twice): use ``run`` for that.
        """
        try:
            conn = retry(self._getconn, self.attempts, self.retry_base_delay, self.retry_max_delay,
                         should_retry=self._retryable)
        except PoolTimeout:
            raise self._unavailable() from None
        try:
            with conn:  # the pool's own idiom: commit or roll back, do not close
                yield conn
        finally:
            self._putconn(conn)

    def run(self, fn: Callable[[psycopg.Connection[Any]], T]) -> T:
        """Run ``fn(conn)`` in one transaction; retry the whole unit if the server went away.

        ``fn`` may run more than once, so it must have no effects outside the transaction. Only
        transient errors are retried; any other error (a unique violation ...) is raised at once.
        If the connection breaks during COMMIT the outcome is unknown, so that is never retried.
        """
        try:
            return retry(lambda: self._attempt(fn), self.attempts, self.retry_base_delay, self.retry_max_delay,
                         should_retry=self._retryable)
        except PoolTimeout:
            raise self._unavailable() from None
        except psycopg.Error as exc:
            if is_transient(exc):
                raise self._error(exc, attempts=self.attempts) from None
            raise

    transaction = run

    def stats(self) -> PoolStats:
        """Current pool figures (all zero before ``open`` / after ``close``)."""
        pool = self._pool
        if pool is None:
            return PoolStats(0, 0, 0, 0, self.settings.pool_size, 0, self._lost)
        s = pool.get_stats()
        size, idle = s.get("pool_size", 0), s.get("pool_available", 0)
        return PoolStats(
            size=size,
            in_use=max(0, size - idle),
            idle=idle,
            waiting=s.get("requests_waiting", 0),
            max_size=s.get("pool_max", self.settings.pool_size),
            errors=s.get("connections_errors", 0),
            connections_lost=self._lost,
        )

    # -- internals ------------------------------------------------------------------------

    def _connect_once(self) -> psycopg.Connection[Any]:
        return psycopg.connect(**self.params)

    def _require_pool(self) -> ConnectionPool[Any]:
        if self._pool is None:
            raise BackendError(f"{self.target}: connection manager is not open")
        return self._pool

    def _getconn(self) -> psycopg.Connection[Any]:
        return self._require_pool().getconn()

    def _putconn(self, conn: psycopg.Connection[Any]) -> None:
        if conn.broken:
            self._note_lost(conn, "connection broke while in use")
        pool = self._pool
        if pool is not None:
            pool.putconn(conn)
        else:  # closed meanwhile: nothing to return it to
            conn.close()

    def _attempt(self, fn: Callable[[psycopg.Connection[Any]], T]) -> T:
        conn = self._getconn()
        try:
            try:
                result = fn(conn)
            except BaseException:
                if not conn.closed:
                    with suppress(psycopg.Error):  # keep fn's error, not the rollback's
                        conn.rollback()
                raise
            try:
                conn.commit()
            except psycopg.Error as exc:
                if is_transient(exc):
                    raise BackendError(
                        f"{self.target}: connection lost during COMMIT; the transaction may or may not "
                        "have been applied, so it was not retried"
                    ) from None
                raise
            return result
        finally:
            self._putconn(conn)

    def _retryable(self, exc: BaseException) -> bool:
        # A pool timeout while the server keeps refusing connections is the server being
        # gone, not the pool being busy: worth waiting for, like any transient error.
        if isinstance(exc, PoolTimeout):
            with self._lock:
                failure = self._last_failure
            return failure is not None and failure.transient
        return is_transient(exc)

    def _configure(self, conn: psycopg.Connection[Any]) -> None:
        """Pool callback for every new connection: audit it, and notice a failover."""
        target = connection_target(conn)
        conn.sqlmite_target = target  # type: ignore[attr-defined]
        where = (conn.info.host, conn.info.port)
        with self._lock:
            previous, self._server = self._server, where
            self._last_failure = None
        audit("connection opened", target=target, role=conn.info.user)
        if previous is not None and previous != where:
            was = describe_target({"user": conn.info.user, "host": previous[0], "port": previous[1],
                                   "dbname": conn.info.dbname})
            audit("connection failed over", target=target, role=conn.info.user, previous=was)

    def _check(self, conn: psycopg.Connection[Any]) -> None:
        """Pool callback before handing a connection out: a broken one is discarded (and audited)."""
        try:
            ConnectionPool.check_connection(conn)
        except Exception:
            self._note_lost(conn, "failed health check")
            raise

    def _note_lost(self, conn: psycopg.Connection[Any], why: str) -> None:
        with self._lock:
            self._lost += 1
        target = getattr(conn, "sqlmite_target", "") or self.audit_target
        audit("connection lost", target=target, role=self.role, reason=why)

    def _on_connect_error(self, exc: psycopg.Error) -> None:
        with self._lock:
            self._last_failure = _Failure(str(exc), is_transient(exc))

    def _reconnect_failed(self, pool: ConnectionPool[Any]) -> None:
        event(log, str(self._unavailable()), logging.ERROR)

    def _unavailable(self) -> BackendError:
        """The error for "no connection came in time": the server's fault or the pool's."""
        with self._lock:
            failure = self._last_failure
        if failure is not None:
            return self._failed(failure.text, failure.transient, self.attempts if failure.transient else 1)
        return BackendError(
            f"cannot get a connection to {self.target} within {self.timeout:g}s: "
            f"all {self.settings.pool_size} are in use (raise pool_size?)"
        )

    def _error(self, exc: psycopg.Error, attempts: int = 1) -> BackendError:
        return self._failed(str(exc), is_transient(exc), attempts)

    def _failed(self, text: str, transient: bool, attempts: int) -> BackendError:
        """One line naming the target and the reason; never the password, never a traceback."""
        reason = describe_failure(text, transient, self.params.get("password"), attempts)
        return BackendError(f"cannot connect to {self.target}: {reason}")


@dataclass(frozen=True)
class _Failure:
    """A failed connection attempt, as text: the exception itself is not kept, because its
    ``pgconn`` still holds the password."""

    text: str
    transient: bool


def describe_failure(message: str, transient: bool, password: str | None = None, attempts: int = 1) -> str:
    """The reason in a psycopg connection error's message, as one line, with libpq's noise removed."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    text = lines[0] if lines else "unknown error"
    for prefix in ("connection failed:", "connection is bad:"):
        if text.startswith(prefix):
            text = text[len(prefix):].strip()
    if " failed: " in text and text.startswith("connection to server"):
        text = text.split(" failed: ", 1)[1]  # the target is already named by the caller
    text = text.removeprefix("FATAL:").strip()
    if password and len(password) >= 4:
        # A safety net (libpq does not echo passwords); too short a password would mask
        # ordinary letters of the message and hint at the password by where "***" lands.
        text = text.replace(password, "***")
    lower = text.lower()
    if "password" in lower or "authentication" in lower or "pg_hba.conf" in lower:
        kind = "authentication failed"
    elif transient:
        kind = "server unreachable" + (f" after {attempts} attempts" if attempts > 1 else "")
    elif "certificate" in lower or "ssl" in lower or "host name" in lower:
        kind = "TLS failed"
    else:
        kind = "server rejected the connection"
    return text if kind.lower() in lower else f"{kind}: {text}"
