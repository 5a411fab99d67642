"""What the driver tests compare: everything an application sees of one statement."""

from __future__ import annotations

from typing import Any

import sqlmite


def typed(value: Any) -> tuple[str, Any]:
    """A value with its storage class (Python type), so 1 and 1.0 and '1' differ."""
    return (type(value).__name__, value)


def assert_same_rows(reference: Any, ours: Any, sql: str) -> None:
    """``sql`` gives the same rows on both connections, each value with its storage class and
    exact text (1 and 1.0 differ, and so do 0.0 and -0.0)."""
    expected = [tuple((type(v).__name__, repr(v)) for v in row) for row in reference.execute(sql)]
    got = [tuple((type(v).__name__, repr(v)) for v in row) for row in ours.execute(sql).fetchall()]
    assert got == expected, sql


def observe(conn: Any, sql: str, params: Any) -> dict[str, Any]:
    """Rows with their storage classes, column names, rowcount and lastrowid, or the class of the
    exception (the first ``sqlite3`` class in its MRO); ``refused`` when sqlmite said it cannot
    keep SQLite's meaning. Without ORDER BY, SQL promises no order: rows compare as a multiset."""
    cursor = conn.cursor()
    try:
        cursor.execute(sql, params)
    except sqlmite.NotSupportedError as exc:
        return {"refused": str(exc)}
    except Exception as exc:  # noqa: BLE001 - the exception class is what is compared
        bases = [c.__name__ for c in type(exc).__mro__ if c.__module__ == "sqlite3"]
        return {"error": bases[0] if bases else type(exc).__name__}
    rows = [tuple(typed(v) for v in row) for row in cursor.fetchall()]
    if "ORDER BY" not in sql.upper():
        rows.sort(key=repr)
    return {"rows": rows, "columns": [d[0] for d in cursor.description or ()], "rowcount": cursor.rowcount,
            "lastrowid": cursor.lastrowid if sql.lstrip().upper().startswith(("INSERT", "REPLACE")) else None}
