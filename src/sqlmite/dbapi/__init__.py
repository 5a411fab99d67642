"""The ``sqlite3`` module's API over PostgreSQL: ``import sqlmite as sqlite3`` (see docs/driver.md).

Every public name of Python 3.11's ``sqlite3`` is here except those docs/driver.md lists as
intentionally missing; ``tests/test_driver_api.py`` checks it.
"""

import sqlite3 as _sqlite3
import sys as _sys

import apsw as _apsw

from sqlmite.dbapi.adaptation import (
    PARSE_COLNAMES,
    PARSE_DECLTYPES,
    PrepareProtocol,
    adapt,
    adapters,
    converters,
    enable_callback_tracebacks,
    register_adapter,
    register_converter,
)
from sqlmite.dbapi.connection import (
    LEGACY_TRANSACTION_CONTROL,
    Connection,
    Cursor,
    Row,
    connect,
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
version = _sqlite3.version  # the DB-API module's version, as sqlite3 reports it
version_info = _sqlite3.version_info
Binary = memoryview
complete_statement = _sqlite3.complete_statement
# The DB-API type constructors: plain datetime classes and functions, as in sqlite3.
Date, Time, Timestamp = _sqlite3.Date, _sqlite3.Time, _sqlite3.Timestamp
DateFromTicks, TimeFromTicks, TimestampFromTicks = (
    _sqlite3.DateFromTicks, _sqlite3.TimeFromTicks, _sqlite3.TimestampFromTicks)
# SQLite's result codes, authorizer action codes and limit categories: SQLite's numbers.
_SQLITE_CONSTANTS = {name: getattr(_sqlite3, name) for name in dir(_sqlite3) if name.startswith("SQLITE_")}
globals().update(_SQLITE_CONSTANTS)
dbapi2 = _sys.modules[__name__]  # ``from sqlite3 import dbapi2``: the same names

__all__ = [  # noqa: PLE0604 - the SQLITE_ names are strings too
    "LEGACY_TRANSACTION_CONTROL", "PARSE_COLNAMES", "PARSE_DECLTYPES", "Binary", "Connection", "Cursor", "DataError",
    "DatabaseError", "Date", "DateFromTicks", "Error", "IntegrityError", "InterfaceError", "InternalError",
    "NotSupportedError", "OperationalError", "PrepareProtocol", "ProgrammingError", "Row", "Time", "TimeFromTicks",
    "Timestamp", "TimestampFromTicks", "Warning", "adapt", "adapters", "apilevel", "complete_statement", "connect",
    "converters", "dbapi2", "enable_callback_tracebacks", "paramstyle", "register_adapter", "register_converter",
    "sqlite_version", "sqlite_version_info", "threadsafety", "version", "version_info", *sorted(_SQLITE_CONSTANTS),
]
