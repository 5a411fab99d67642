"""The errors sqlmite raises, each with the process exit code the CLI maps it to.

One hierarchy so that every door (CLI, driver, sidecar) reports failures the same way, and so
that the CLI's documented exit codes live in exactly one place.
"""

from __future__ import annotations


class SqlmiteError(Exception):
    """Base of every error sqlmite raises on purpose. Messages never contain secrets."""

    exit_code = 1

    def __reduce__(self) -> tuple[object, ...]:
        # Errors cross process boundaries (parallel loaders): rebuild them from their fields.
        return (_rebuild, (type(self), str(self), self.__dict__))


def _rebuild(cls: type[SqlmiteError], message: str, fields: dict[str, object]) -> SqlmiteError:
    error = Exception.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(fields)
    return error


class ConfigError(SqlmiteError):
    """Invalid configuration, found at start: names the key and the problem."""

    exit_code = 2

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


class BackendError(SqlmiteError):
    """PostgreSQL cannot be reached or refuses us (unreachable, bad password, TLS failure)."""

    exit_code = 3


class SourceError(SqlmiteError):
    """The SQLite side cannot be read: missing, not a database, corrupt, locked."""

    exit_code = 4


class UnsupportedSchemaError(SqlmiteError):
    """A schema object that sqlmite cannot express in PostgreSQL with SQLite's meaning."""

    exit_code = 5

    def __init__(self, obj: str, problem: str) -> None:
        super().__init__(f"{obj}: {problem}")
        self.obj = obj
        self.problem = problem


class FidelityError(SqlmiteError):
    """A value that cannot be stored faithfully; names where it lives."""

    exit_code = 6

    def __init__(self, table: str, column: str, key: object, storage_class: str, problem: str) -> None:
        super().__init__(
            f"table {table!r}, column {column!r}, row {key!r}: {storage_class} value {problem}"
        )
        self.table = table
        self.column = column
        self.key = key
        self.storage_class = storage_class
        self.problem = problem


class LineageError(SqlmiteError):
    """The SQLite file and PostgreSQL hold different histories of a database; sqlmite will not
    guess which one wins (``sqlmite restore --prefer postgres|sqlite`` decides)."""

    exit_code = 8
