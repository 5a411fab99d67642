"""The ``sqlmite`` command line: thin commands over ``sqlmite.api``, one module per family.

Exit codes (docs/cli.md): 0 success, 1 unexpected failure (or ``verify`` found a difference),
2 invalid configuration or usage, 3 PostgreSQL unreachable or refusing us, 4 SQLite source
unreadable, 5 schema not expressible, 6 a value that cannot be stored faithfully, 7 target
already holds data, 8 the SQLite file and PostgreSQL hold different histories
(``restore --prefer`` decides).
"""

from __future__ import annotations

import sys

import psycopg

from sqlmite.cli import demo, migration, schema, sync  # noqa: F401  (importing registers the commands)
from sqlmite.cli.common import app, err

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("sqlmite: interrupted")
        sys.exit(130)
    except psycopg.Error as exc:
        # A PostgreSQL error no command anticipated: one line (its first), not a traceback that
        # would carry connection objects; exit 1 marks it as unexpected.
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        err.print(f"sqlmite: error: PostgreSQL: {first}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(1)
