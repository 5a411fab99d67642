"""Keeping secrets out of sight: a string that never shows itself, and the safe form of a target."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict


class Secret:
    """Wraps a secret value (a password, or a URL that may hold one).

    The only way to the real text is ``reveal()``, so that a secret reaching a log line, an
    exception message or a repr by accident prints as ``***``.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def describe_target(params: dict[str, Any]) -> str:
    """``postgresql://user:***@host:port/dbname`` for logs and messages; never the password."""
    user = params.get("user") or ""
    auth = ""
    if user:
        auth = user + (":***" if params.get("password") else "") + "@"
    hosts = str(params.get("host") or "").split(",")
    ports = str(params.get("port") or "").split(",")
    if len(ports) == 1:
        ports = ports * len(hosts)
    parts = []
    for host, port in zip(hosts, ports):
        host = host or "localhost"
        parts.append(f"{host}:{port}" if port else host)
    where = ",".join(parts)
    if where.startswith("/"):  # a Unix socket directory
        where = f"[{where}]"
    return f"postgresql://{auth}{where}/{params.get('dbname') or ''}"


def redact(text: str) -> str:
    """A URL or conninfo with its password masked, or a fixed placeholder if it does not parse."""
    try:
        return describe_target(conninfo_to_dict(text))
    except psycopg.ProgrammingError:
        return "<unparseable connection string>"
