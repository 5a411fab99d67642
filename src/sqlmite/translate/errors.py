"""The ``sqlite3`` exception hierarchy, as subclasses of ``sqlite3``'s own classes (the driver exports them).

An application that catches ``sqlite3.IntegrityError`` keeps catching sqlmite's, and each error
carries SQLite's ``sqlite_errorcode`` / ``sqlite_errorname`` (a PostgreSQL unique violation is
``SQLITE_CONSTRAINT_UNIQUE``). ``NotSupportedError`` names a construct sqlmite will not run
because PostgreSQL would answer differently.
"""

from __future__ import annotations

import sqlite3

import apsw

Warning = sqlite3.Warning  # the DB-API name


class Error(sqlite3.Error):
    """Base of sqlmite's DB-API errors."""

    def __init__(self, message: str = "", code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.sqlite_errorname = code
            self.sqlite_errorcode = getattr(apsw, code, None)


class InterfaceError(Error, sqlite3.InterfaceError):
    pass


class DatabaseError(Error, sqlite3.DatabaseError):
    pass


class DataError(DatabaseError, sqlite3.DataError):
    pass


class OperationalError(DatabaseError, sqlite3.OperationalError):
    pass


class IntegrityError(DatabaseError, sqlite3.IntegrityError):
    pass


class InternalError(DatabaseError, sqlite3.InternalError):
    pass


class ProgrammingError(DatabaseError, sqlite3.ProgrammingError):
    pass


class NotSupportedError(DatabaseError, sqlite3.NotSupportedError):
    pass


def from_sqlite(exc: apsw.Error) -> Error:
    """The ``sqlite3`` exception SQLite's own error maps to (the shadow's errors are SQLite's)."""
    message = str(exc)
    if isinstance(exc, apsw.ConstraintError):
        code = apsw.mapping_extended_result_codes.get(getattr(exc, "extendedresult", 0), "SQLITE_CONSTRAINT")
        return IntegrityError(message, code)
    if isinstance(exc, (apsw.SQLError, apsw.BusyError, apsw.LockedError)):
        return OperationalError(message, "SQLITE_ERROR")
    if isinstance(exc, apsw.MismatchError):  # sqlite3 counts a datatype mismatch as an integrity error
        return IntegrityError(message, "SQLITE_MISMATCH")
    if isinstance(exc, apsw.TooBigError):
        return DataError(message, "SQLITE_TOOBIG")
    if isinstance(exc, apsw.RangeError):
        return DataError(message, "SQLITE_RANGE")
    return DatabaseError(message)
