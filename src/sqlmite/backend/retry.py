"""Which PostgreSQL errors are worth retrying, and retrying them with backoff and jitter.

Only errors that mean "the server is restarting or gone" are retried: a failed connection,
SQLSTATE class 08 (connection exception), 57P01 admin_shutdown, 57P02 crash_shutdown and
57P03 cannot_connect_now. Everything else (a constraint violation, a syntax error, a wrong
password, a failed TLS verification, a serialization failure) is the caller's to handle, so it
is raised at once: retrying it would only repeat the failure, or hide a real conflict.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

import psycopg
import psycopg_pool

from sqlmite.observe.log import event

log = logging.getLogger(__name__)

T = TypeVar("T")

TRANSIENT_SQLSTATES = frozenset({"57P01", "57P02", "57P03"})
TRANSIENT_SQLSTATE_CLASSES = frozenset({"08"})

# Connection failures carry no SQLSTATE in psycopg: the server's refusal only shows in the text.
# A FATAL reply means the server answered; it is transient only when it says it is going away
# or not ready yet (the messages behind 57P01/57P03).
_TRANSIENT_FATAL = (
    "the database system is starting up",
    "the database system is shutting down",
    "the database system is in recovery mode",
    "the database system is not yet accepting connections",
    "the database system is not accepting connections",
    "terminating connection due to administrator command",
    "terminating connection due to unexpected postmaster exit",
)
# Failures on our side of the wire that another attempt cannot fix.
_PERMANENT_CLIENT = (
    "password",  # "password authentication failed", "fe_sendauth: no password supplied"
    "authentication",
    "certificate",  # TLS verification: unknown CA, wrong host name, missing root cert file
    "does not match host name",
    "server does not support ssl",
    "invalid",  # invalid sslmode, invalid port, invalid connection option ...
)


def is_transient(exc: BaseException) -> bool:
    """True when ``exc`` means the server is restarting or gone, so trying again may succeed."""
    if isinstance(exc, (psycopg_pool.PoolTimeout, psycopg_pool.PoolClosed, psycopg_pool.TooManyRequests)):
        # The pool already waited (and retried) for its whole timeout, or was shut on purpose.
        return False
    if not isinstance(exc, psycopg.Error):
        return False
    sqlstate = exc.sqlstate
    if sqlstate:
        return sqlstate in TRANSIENT_SQLSTATES or sqlstate[:2] in TRANSIENT_SQLSTATE_CLASSES
    if not isinstance(exc, psycopg.OperationalError):
        return False
    text = str(exc).lower()
    if "fatal:" in text:
        return any(marker in text for marker in _TRANSIENT_FATAL)
    return not any(marker in text for marker in _PERMANENT_CLIENT)


def backoff_delay(attempt: int, base_delay: float, max_delay: float) -> float:
    """Delay before retry number ``attempt`` (1-based): exponential, capped, with jitter.

    "Equal jitter": half the exponential step is kept, the other half is random, so clients
    that lost the server at the same moment do not all come back at the same moment, yet
    each still waits a growing amount.
    """
    step = min(max_delay, base_delay * (2 ** (attempt - 1)))
    return step / 2 + random.uniform(0, step / 2)


def retry(
    fn: Callable[[], T],
    attempts: int,
    base_delay: float = 0.2,
    max_delay: float = 5.0,
    *,
    should_retry: Callable[[BaseException], bool] = is_transient,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call ``fn`` up to ``attempts`` times, sleeping with backoff between transient failures.

    A failure ``should_retry`` rejects is raised at once; after the last attempt the last
    transient error is raised as is, so the caller decides how to report it.
    """
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except Exception as exc:
            if attempt == attempts or not should_retry(exc):
                raise
            delay = backoff_delay(attempt, base_delay, max_delay)
            event(
                log,
                "server restarting or gone; retrying",
                logging.WARNING,
                attempt=attempt,
                of=attempts,
                delay=f"{delay:.2f}s",
                error=type(exc).__name__,
                sqlstate=getattr(exc, "sqlstate", None),
            )
            sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover
