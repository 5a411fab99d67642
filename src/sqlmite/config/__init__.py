"""Configuration: one settings object, its sources, and safe display of connection targets."""

from sqlmite.config.secret import Secret, describe_target, redact
from sqlmite.config.settings import FIELDS, Settings, load_settings
from sqlmite.config.target import connection_params, parse_conninfo

__all__ = [
    "FIELDS",
    "Secret",
    "Settings",
    "connection_params",
    "describe_target",
    "load_settings",
    "parse_conninfo",
    "redact",
]
