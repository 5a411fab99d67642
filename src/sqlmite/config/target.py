"""From settings to libpq connection parameters, and the one safe way to show a target.

The parameters are a plain dict for psycopg; the displayed form is always
``postgresql://user:***@host:port/dbname`` so that a password cannot leak through a log line.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

from sqlmite.config.settings import Settings
from sqlmite.errors import ConfigError

APPLICATION_NAME = "sqlmite"


def parse_conninfo(text: str, key: str = "database_url") -> dict[str, Any]:
    """Parse a URL or key=value conninfo; the error never repeats the text (it may hold a password)."""
    try:
        return conninfo_to_dict(text)
    except psycopg.ProgrammingError:
        raise ConfigError(key, "not a valid PostgreSQL URL or conninfo string") from None


def connection_params(settings: Settings, base: str | None = None) -> dict[str, Any]:
    """libpq parameters for ``settings``; ``base`` is the embedded server's URI when that is the backend."""
    if settings.database_url is not None:
        params = parse_conninfo(settings.database_url.reveal())
    elif base is not None:
        params = parse_conninfo(base, "embedded server")
    else:
        params = {}  # libpq reads PGHOST, PGUSER, PGPASSWORD ... itself
    password = settings.password()
    if password is not None:
        params["password"] = password.reveal()
    for key in ("sslmode", "sslrootcert", "sslcert", "sslkey"):
        value = getattr(settings, key)
        if value is not None:
            params[key] = str(value)
    if "host" in params and "," in str(params["host"]):
        # Several hosts: find the primary, so a failed-over primary is found on reconnect.
        params.setdefault("target_session_attrs", "read-write")
    params.setdefault("connect_timeout", max(1, int(settings.connect_timeout)))
    params.setdefault("application_name", APPLICATION_NAME)
    # SQLite text is UTF-8; the wire must be too, whatever the server's default.
    params["client_encoding"] = "UTF8"
    if settings.statement_timeout:
        # Appended, not assigned: the URL's own options (e.g. -c search_path=...) must survive.
        timeout = f"-c statement_timeout={int(settings.statement_timeout * 1000)}"
        params["options"] = f"{params['options']} {timeout}" if params.get("options") else timeout
    return params
