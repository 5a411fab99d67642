"""Applying DDL with an audit trail: every schema change says what, where and as whom.

The statement text itself is never logged (``CREATE ROLE ... PASSWORD`` is DDL too); the audit
line carries the statement's kind (``CREATE TABLE``) and the object it names.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from sqlmite.backend.pool import connection_target
from sqlmite.observe.log import audit

# Leading words that belong to a statement's kind, as in CREATE UNIQUE INDEX or DROP TABLE IF EXISTS.
_KIND_WORDS = frozenset(
    "CREATE ALTER DROP COMMENT GRANT REVOKE TRUNCATE OR REPLACE UNIQUE TEMP TEMPORARY UNLOGGED "
    "TABLE INDEX VIEW MATERIALIZED TRIGGER FUNCTION PROCEDURE SCHEMA SEQUENCE TYPE DOMAIN "
    "EXTENSION ROLE ON COLUMN CONSTRAINT".split()
)


def statement_kind(text: str) -> str:
    """``CREATE UNIQUE INDEX`` for ``create unique index i on t (a)``: the words before the name."""
    words = []
    for word in text.split():
        upper = word.upper()
        if upper not in _KIND_WORDS:
            break
        words.append(upper)
    return " ".join(words) or (text.split()[0].upper() if text.split() else "")


def execute_ddl(conn: psycopg.Connection[Any], statement: str | sql.Composable, *, obj: str) -> None:
    """Execute one DDL statement on ``conn`` and write its audit line once it has succeeded.

    The line is written when the statement ran, inside the caller's transaction; a later
    rollback is the caller's to report.
    """
    text = statement if isinstance(statement, str) else statement.as_string(conn)
    conn.execute(statement)  # type: ignore[arg-type]  # DDL is built by sqlmite, not user input
    audit("ddl", target=connection_target(conn), role=conn.info.user, obj=obj, statement=statement_kind(text))
