"""One settings object, loaded from every source in a documented order of precedence.

Precedence, highest first: CLI flags > ``SQLMITE_*`` environment variables > the TOML config
file (``--config`` / ``SQLMITE_CONFIG``) > the standard libpq variables (``PGHOST`` ...) > the
embedded PostgreSQL default. Each key is declared once in ``FIELDS`` so the environment name,
the TOML name, the parser and the documentation cannot drift apart.
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import platformdirs
import psycopg
from psycopg.conninfo import conninfo_to_dict

from sqlmite.config.secret import Secret, redact
from sqlmite.errors import ConfigError

SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("debug", "info", "warning", "error")
# libpq variables that, when set, mean "a server is configured" (PGPASSWORD alone does not).
# SQLMITE_* variables read elsewhere: the config file's path, and the test suite's server.
OTHER_ENV = frozenset({"SQLMITE_CONFIG", "SQLMITE_TEST_DSN"})
LIBPQ_TARGET_VARS = ("PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGUSER", "PGSERVICE")


def _positive_int(value: Any) -> int:
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        # int(2.5) would silently give 2 for a TOML `pool_size = 2.5`
        raise ValueError(f"must be a whole number, got {value!r}")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"must be a whole number, got {value!r}") from None
    if number < 1:
        raise ValueError(f"must be at least 1, got {number}")
    return number


def _non_negative_float(value: Any) -> float:
    try:
        if isinstance(value, bool):  # TOML `connect_timeout = true` is not 1 second
            raise TypeError
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"must be a number of seconds, got {value!r}") from None
    if not math.isfinite(number):  # "nan" and "inf" parse as floats, then break int() later
        raise ValueError(f"must be a finite number of seconds, got {value!r}")
    if number < 0:
        raise ValueError(f"must not be negative, got {number}")
    return number


def _choice(options: tuple[str, ...]) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = str(value).strip().lower()
        if text not in options:
            raise ValueError(f"must be one of {', '.join(options)}; got {value!r}")
        return text

    return parse


def _text(value: Any) -> str:
    text = str(value).strip()
    if not text:
        raise ValueError("must not be empty")
    return text


def _path(value: Any) -> Path:
    return Path(_text(value)).expanduser()


def _readable_file(value: Any) -> Path:
    path = _path(value)
    if not path.is_file():
        raise ValueError(f"file {str(path)!r} does not exist or is not a file")
    if not os.access(path, os.R_OK):
        raise ValueError(f"file {str(path)!r} is not readable")
    return path


def _secret_url(value: Any) -> Secret:
    text = _text(value)
    try:
        params = conninfo_to_dict(text)
    except psycopg.ProgrammingError:  # its message may quote the string, password included
        raise ValueError("not a valid PostgreSQL URL or conninfo string") from None
    for port in str(params.get("port") or "").split(","):
        if port and not port.isdigit():
            raise ValueError(f"port {port!r} is not a number")
    return Secret(text)


@dataclass(frozen=True)
class Field:
    """One configuration key: its names in each source, its parser and its help."""

    name: str
    parse: Callable[[Any], Any]
    help: str

    @property
    def env(self) -> str:
        return "SQLMITE_" + self.name.upper()


FIELDS: tuple[Field, ...] = (
    Field("database_url", _secret_url, "PostgreSQL URL or conninfo (multi-host allowed); its password is never shown"),
    Field("password_file", _readable_file, "file holding the password (as a Kubernetes Secret is mounted)"),
    Field("schema", _text, "PostgreSQL schema that holds the SQLite database's tables"),
    Field("pool_size", _positive_int, "largest number of PostgreSQL connections (default 5)"),
    Field("pool_min_size", _positive_int, "connections kept open when idle (default 1)"),
    Field("connect_timeout", _non_negative_float, "seconds to wait for a connection (default 10)"),
    Field("statement_timeout", _non_negative_float, "seconds a statement may run; 0 or unset means no limit"),
    Field("pool_max_idle", _non_negative_float, "seconds an idle connection is kept (default 600)"),
    Field("pool_max_lifetime", _non_negative_float, "seconds before a connection is replaced (default 3600)"),
    Field("retry_attempts", _positive_int, "tries for an operation when the server is restarting or gone (default 5)"),
    Field("sslmode", _choice(SSL_MODES), "libpq sslmode; verify-full checks the server's name and CA"),
    Field("sslrootcert", _readable_file, "CA certificate file used to verify the server"),
    Field("sslcert", _readable_file, "client certificate file"),
    Field("sslkey", _readable_file, "client private key file"),
    Field("data_dir", _path, "where the embedded PostgreSQL keeps its data"),
    Field("log_format", _choice(LOG_FORMATS), "text (default) or json"),
    Field("log_level", _choice(LOG_LEVELS), "debug, info (default), warning or error"),
)
FIELDS_BY_NAME = {f.name: f for f in FIELDS}


@dataclass(frozen=True)
class Settings:
    """The effective configuration. ``repr`` and ``describe`` never show a secret."""

    database_url: Secret | None = None
    password_file: Path | None = None
    schema: str | None = None
    pool_size: int = 5
    pool_min_size: int = 1
    connect_timeout: float = 10.0
    statement_timeout: float | None = None
    pool_max_idle: float = 600.0
    pool_max_lifetime: float = 3600.0
    retry_attempts: int = 5
    sslmode: str | None = None
    sslrootcert: Path | None = None
    sslcert: Path | None = None
    sslkey: Path | None = None
    data_dir: Path = field(default_factory=lambda: Path(platformdirs.user_data_dir("sqlmite")))
    log_format: str = "text"
    log_level: str = "info"
    # Where each non-default value came from ("cli", "env", "file"); for `sqlmite config`.
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)
    # True when libpq's own PG* variables name the server (used only if nothing higher does).
    libpq_env: bool = False
    # SQLMITE_* variables that name no setting (a typo would otherwise be ignored in silence).
    unknown_env: tuple[str, ...] = field(default=(), compare=False)

    @property
    def backend(self) -> str:
        """Which PostgreSQL this configuration means: ``url``, ``libpq-env`` or ``embedded``."""
        if self.database_url is not None:
            return "url"
        if self.libpq_env:
            return "libpq-env"
        return "embedded"

    def password(self) -> Secret | None:
        """The password from ``password_file``, read at the moment it is needed."""
        if self.password_file is None:
            return None
        text = self.password_file.read_text(encoding="utf-8").rstrip("\r\n")
        return Secret(text)

    def with_overrides(self, **values: Any) -> Settings:
        """A copy with CLI-level overrides applied (validated like every other source)."""
        return load_settings(cli=values, base=self)

    def describe(self) -> list[tuple[str, str, str]]:
        """(key, shown value, source) rows, secrets masked, for display."""
        rows = []
        for f in FIELDS:
            value = getattr(self, f.name)
            if isinstance(value, Secret):
                shown = redact(value.reveal())
            else:
                shown = "" if value is None else str(value)
            rows.append((f.name, shown, self.sources.get(f.name, "default")))
        return rows


def _parse(f: Field, raw: Any, where: str) -> Any:
    try:
        return f.parse(raw)
    except ValueError as exc:
        raise ConfigError(where, str(exc)) from None


def _from_file(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("config", f"file {str(path)!r} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("config", f"{str(path)!r} is not valid TOML: {exc}") from None
    values = {}
    for key, raw in data.items():
        if key not in FIELDS_BY_NAME:
            raise ConfigError(f"{path.name}: {key}", f"unknown key; known keys: {', '.join(FIELDS_BY_NAME)}")
        values[key] = _parse(FIELDS_BY_NAME[key], raw, f"{path.name}: {key}")
    return values


def load_settings(
    cli: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    config_file: Path | None = None,
    base: Settings | None = None,
    flags: Mapping[str, str] | None = None,
) -> Settings:
    """Build the settings from every source; raise ``ConfigError`` naming the first bad key.

    ``cli`` holds only the flags the user gave (``None`` values are ignored); ``env`` defaults to
    ``os.environ``; ``flags`` names the command's flag for a key when it is not ``--key``
    (``{"database_url": "--to"}``), so errors name what the user typed.
    """
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    if base is not None:
        values = {f.name: getattr(base, f.name) for f in FIELDS}
        sources = dict(base.sources)
    else:
        config_path = config_file or (Path(env["SQLMITE_CONFIG"]) if env.get("SQLMITE_CONFIG") else None)
        if config_path is not None:
            for key, value in _from_file(config_path).items():
                values[key], sources[key] = value, "file"
        for f in FIELDS:
            raw = env.get(f.env)
            if raw is not None and raw != "":
                values[f.name], sources[f.name] = _parse(f, raw, f.env), "env"
    for key, raw in (cli or {}).items():
        if raw is None:
            continue
        f = FIELDS_BY_NAME.get(key)
        if f is None:
            raise ConfigError(key, "unknown setting")
        flag = (flags or {}).get(key, "--" + key.replace("_", "-"))
        values[key], sources[key] = _parse(f, raw, flag), "cli"

    if values.get("pool_min_size", 1) > values.get("pool_size", 5):
        raise ConfigError("pool_min_size", "must not exceed pool_size")
    if values.get("statement_timeout") == 0:
        values["statement_timeout"] = None
    libpq_env = base.libpq_env if base is not None else any(env.get(v) for v in LIBPQ_TARGET_VARS)
    known_env = {f.env for f in FIELDS} | OTHER_ENV
    unknown = base.unknown_env if base is not None else tuple(
        sorted(k for k in env if k.startswith("SQLMITE_") and k not in known_env))
    known = {f.name for f in fields(Settings)}
    return Settings(**{k: v for k, v in values.items() if k in known}, sources=sources, libpq_env=libpq_env,
                    unknown_env=unknown)
