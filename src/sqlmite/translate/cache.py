"""Reusing a SELECT's translation across parameter values.

A statement is translated once per *shape* of its parameters (the storage class of each) with a
sentinel value of that class in each parameter's place; the PostgreSQL text is kept only when
every sentinel comes out exactly as the literal the translator emits for it, as often as the
statement names it. Then the sentinels become PostgreSQL parameters and later executions with
values of the same classes skip SQLite's preparation, parsing and translation. When the
translation *used* a value (a text compared with a numeric column takes that column's affinity;
a GLOB pattern becomes a regular expression; a JSON list is expanded), the sentinel does not come
out verbatim, or the translation refuses it: the statement is then never cached and runs the
uncached way, value by value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlmite.mapping.expressions import sql_literal
from sqlmite.translate.params import parameter_keys

SENTINEL_INT = 7_777_777_777_777_000_000 // 1_000  # far from anything a test or an application binds


@dataclass(frozen=True)
class Template:
    """A cached translation: PostgreSQL text with %s placeholders, and for each, the parameter."""

    sql: str
    slots: tuple[str | int, ...]  # a name or a 1-based position, per placeholder in order


def shape(params: Sequence[Any] | Mapping[str, Any]) -> tuple[tuple[Any, str], ...] | None:
    """The cache key's part from the values: each parameter's storage class (None: do not cache)."""
    items = params.items() if isinstance(params, Mapping) else enumerate(params, 1)
    out = []
    for key, value in items:
        if value is None:
            kind = "null"
        elif isinstance(value, (bool, int)):
            kind = "integer"
        elif isinstance(value, float):
            kind = "real"
        elif isinstance(value, str):
            kind = "text"
        elif isinstance(value, (bytes, bytearray, memoryview)):
            kind = "blob"
        else:
            return None
        out.append((key, kind))
    return tuple(out)


def sentinels(kinds: tuple[tuple[Any, str], ...]) -> tuple[dict[Any, Any], dict[Any, str]]:
    """A sentinel value per parameter (NULLs stay NULL) and the literal the translator emits for it."""
    values: dict[Any, Any] = {}
    literals: dict[Any, str] = {}
    for n, (key, kind) in enumerate(kinds):
        value: Any = {
            "null": None,
            "integer": SENTINEL_INT + n,
            "real": float(SENTINEL_INT // 1_000_000 + n) + 0.5,
            "text": f"sqlmite\x1fparameter\x1f{n}",
            "blob": b"sqlmite\x1fparameter\x1f" + bytes([n % 256]),
        }[kind]
        values[key] = value
        if value is not None:
            literals[key] = sql_literal(value)
    return values, literals


def template(pg_sql: str, sql: str, literals: dict[Any, str]) -> Template | None:
    """The PostgreSQL text with each sentinel's literal replaced by %s, or None when a sentinel is
    not there exactly as often as the statement names its parameter (the translation used it)."""
    named = parameter_keys(sql)
    found: list[tuple[int, int, Any]] = []
    for key, lit in literals.items():
        expected = named.count(key)
        start, positions = 0, []
        while (at := pg_sql.find(lit, start)) >= 0:
            positions.append(at)
            start = at + len(lit)
        raw = lit.strip("'").split("'")[0]
        if len(positions) != expected or pg_sql.count(raw) != expected:
            return None
        found.extend((at, at + len(lit), key) for at in positions)
    found.sort()
    out, last = [], 0
    for start, end, _ in found:
        out.append(pg_sql[last:start].replace("%", "%%"))
        out.append("%s")
        last = end
    out.append(pg_sql[last:].replace("%", "%%"))
    return Template("".join(out), tuple(key for _, _, key in found))
