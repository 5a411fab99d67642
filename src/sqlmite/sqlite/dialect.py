"""The SQLite dialect sqlmite parses with: sqlglot's, with JSON paths kept as written.

sqlglot rewrites a JSON path literal into its own path tree, which is lossy for SQLite (``'a'``
and ``'$ .a'``, which SQLite refuses, both become ``$.a``). SQLite's own rules for paths (and for
the abbreviated right-hand sides of ``->`` and ``->>``) live in ``translate/json.py``, so the
literal must reach it unchanged. SQLite has no lambdas either: inside a function's arguments
``d -> '$.a'`` is the JSON operator, which sqlglot would read as a lambda.
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.dialects.sqlite import SQLite


class Sqlmite(SQLite):
    """Registered with sqlglot under the name ``sqlmite``."""

    class Parser(SQLite.Parser):
        LAMBDAS: dict = {}

    def to_json_path(self, path: exp.Expression | None) -> exp.Expression | None:
        return path


DIALECT = Sqlmite()
