"""Test and benchmark material that needs no real application: Jellyfin-shaped SQLite databases.

``schema_sql``/``create_schema`` give the exact schema of a fresh jellyfin.db (12.0 or 10.11);
``generate`` fills one with a realistic, deterministic library of any size, stored in the exact
value forms Jellyfin writes, so the bridge can be checked against the data it will really see.
"""

from sqlmite.testing.jellyfin import (
    MIN_ITEMS,
    VERSIONS,
    GeneratedStats,
    create_schema,
    generate,
    schema_sql,
    schema_statements,
)

__all__ = [
    "MIN_ITEMS",
    "VERSIONS",
    "GeneratedStats",
    "create_schema",
    "generate",
    "schema_sql",
    "schema_statements",
]
