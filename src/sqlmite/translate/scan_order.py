"""The order SQLite returns a one-table SELECT's rows in when the query names none.

Without ORDER BY, SQL promises no order, but SQLite's is fixed by its query plan and
applications come to rely on it (``SELECT * FROM t`` in rowid order, ``LIMIT 10`` giving the
first rowids). PostgreSQL returns heap order, which an UPDATE changes. So for a SELECT of one
table with no ORDER BY, GROUP BY, DISTINCT or aggregate, the shadow's ``EXPLAIN QUERY PLAN``
(the same schema, so the same plan as SQLite without statistics) says which order SQLite walks:

======================================================  =====================================
plan                                                    PostgreSQL ORDER BY
======================================================  =====================================
SCAN t, SEARCH t USING INTEGER PRIMARY KEY (...)        the rowid
SCAN t / SEARCH t USING PRIMARY KEY (...), WITHOUT      the primary key's columns
  ROWID
SCAN/SEARCH t USING [COVERING] INDEX i (...)            i's keys (collation, DESC, NULLs as
                                                        SQLite's index), then the rowid
anything else (joins, OR over indexes, expression keys) no ORDER BY (as before)
======================================================  =====================================
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from sqlglot import exp

from sqlmite.mapping.expressions import quote_ident
from sqlmite.translate.aggregates import has_aggregate

if TYPE_CHECKING:
    import apsw

    from sqlmite.translate.catalog import Catalog, Mapped

_PLAN = re.compile(r"^(?:SCAN|SEARCH) (\S+)(?: USING (?:(INTEGER PRIMARY KEY)|(PRIMARY KEY)|(?:COVERING )?INDEX (\S+)))?"
                   r"(?: \(.*\))?$")


def scan_order(shadow: apsw.Connection, catalog: Catalog, node: exp.Select, sql: str) -> str | None:
    """ORDER BY terms (the source's alias written ``{alias}``) for the order SQLite would return
    ``node``'s rows in, or None."""
    if any(node.args.get(k) for k in ("order", "group", "distinct", "having", "joins", "with_", "with", "windows")):
        return None
    source = node.args.get("from_") or node.args.get("from")
    table = source.this if source is not None else None
    if not isinstance(table, exp.Table) or table.args.get("db") or table.name.lower() in catalog.views:
        return None
    if any(has_aggregate(e) or e.find(exp.Window) for e in node.expressions):
        return None
    mapped = catalog.tables.get(table.name.lower())
    if mapped is None:
        return None
    try:
        plan = [row[3] for row in shadow.execute(f"EXPLAIN QUERY PLAN {sql}")]
    except Exception:  # noqa: BLE001 - no plan, no order: the query runs as it did
        return None
    found = _PLAN.match(plan[0]) if len(plan) == 1 else None
    if found is None or found.group(1).lower() not in (table.name.lower(), (table.alias or "").lower()):
        return None
    return _keys(mapped, found.group(2), found.group(3), found.group(4))


def _keys(mapped: Mapped, rowid_key: str | None, primary_key: str | None, index_name: str | None) -> str | None:
    table, plan = mapped.table, mapped.plan
    rowid = f'{{alias}}.{quote_ident(plan.rowid_column)} ASC' if plan.rowid_column else None
    if index_name is None and not primary_key:
        if table.without_rowid:
            return _index_terms(mapped, next((i for i in table.constraint_indexes if i.origin == "pk"), None), None)
        return rowid
    if primary_key:
        return _index_terms(mapped, next((i for i in table.constraint_indexes if i.origin == "pk"), None), None)
    index = next((i for i in (*table.constraint_indexes, *mapped.all_indexes) if i.name.lower() == index_name.lower()),
                 None)
    return _index_terms(mapped, index, rowid if not table.without_rowid else _pk_terms(mapped))


def _pk_terms(mapped: Mapped) -> str | None:
    return _index_terms(mapped, next((i for i in mapped.table.constraint_indexes if i.origin == "pk"), None), None)


def _index_terms(mapped: Mapped, index: object, tail: str | None) -> str | None:
    if index is None:
        return None
    columns = {c.name.lower(): c for c in mapped.plan.columns}
    terms = []
    for key in index.keys:  # type: ignore[attr-defined]
        column = columns.get((key.column or "").lower())
        if column is None:
            return None  # an expression key (or the rowid): no order added
        value = f"{{alias}}.{quote_ident(column.pg_name)}"
        collation = (key.collation or "BINARY").upper()
        if collation == "NOCASE":
            value = f'lower(({value}) COLLATE "C")'
        elif collation == "RTRIM":
            value = f"rtrim({value}, ' ')"
        elif collation != "BINARY":
            return None
        terms.append(f"{value} {'DESC NULLS LAST' if key.desc else 'ASC NULLS FIRST'}")
    if tail:
        terms.append(tail)
    return ", ".join(terms)
