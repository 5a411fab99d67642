"""The ``sqlite3`` module's API over PostgreSQL: ``import sqlmite as sqlite3`` (see docs/driver.md)."""

import sqlite3 as _sqlite3

import apsw as _apsw

from sqlmite.dbapi.connection import (
    PARSE_COLNAMES,
    PARSE_DECLTYPES,
    Connection,
    Cursor,
    Row,
    connect,
    register_adapter,
    register_converter,
)
from sqlmite.translate.errors import (
    DatabaseError,
    DataError,
    Error,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
    Warning,
)

apilevel = "2.0"
paramstyle = "qmark"
threadsafety = 1  # threads may share the module, not connections
sqlite_version = _apsw.sqlite_lib_version()  # the SQLite whose answers sqlmite gives (APSW's)
sqlite_version_info = tuple(int(p) for p in sqlite_version.split("."))
Binary = memoryview
complete_statement = _sqlite3.complete_statement

__all__ = [
    "PARSE_COLNAMES", "PARSE_DECLTYPES", "Binary", "Connection", "Cursor", "DataError", "DatabaseError", "Error",
    "IntegrityError", "InterfaceError", "InternalError", "NotSupportedError", "OperationalError",
    "ProgrammingError", "Row", "Warning", "apilevel", "complete_statement", "connect", "paramstyle",
    "register_adapter", "register_converter", "sqlite_version", "sqlite_version_info", "threadsafety",
]
