"""sqlmite: SQLite applications keep speaking SQLite; their data lives in PostgreSQL.

``import sqlmite as sqlite3`` gives the ``sqlite3`` module's API (``connect``, ``Row``, the
exceptions, ...) over PostgreSQL; it is loaded on first use, so the command line stays quick.
"""

import importlib
from typing import Any

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # importlib, not `from sqlmite import dbapi`: that would ask this very __getattr__ for it.
    dbapi = importlib.import_module("sqlmite.dbapi")

    if name in dbapi.__all__:
        return getattr(dbapi, name)
    raise AttributeError(f"module 'sqlmite' has no attribute {name!r}")
