"""Binding parameters the way ``sqlite3`` does: ``?``, ``?NNN``, ``:name``, ``@name``, ``$name``.

The statement is rewritten with each parameter as the SQLite literal of its value, so that
SQLite itself (the shadow, which checks and classifies every statement) and the translator see
one self-contained statement. Literals are produced by SQLite's own quoting rules
(``apsw.format_sql_value``), so no value can change the statement's shape.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import apsw
import sqlglot
from sqlglot import exp
from sqlglot.dialects.sqlite import SQLite
from sqlglot.tokens import TokenType

from sqlmite.sqlite.dialect import DIALECT
from sqlmite.translate.errors import ProgrammingError

_TOKENIZER = SQLite().tokenizer_class()


def literal(value: Any) -> str:
    """The SQLite literal for a bound value (int, float, str, bytes-like or None)."""
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NULL"  # SQLite binds NaN as NULL
        if value == 0.0 and math.copysign(1.0, value) < 0:
            return "(-0.0)"
    if isinstance(value, (bytearray, memoryview)):
        value = bytes(value)
    if isinstance(value, int) and not -2**63 <= value < 2**63:
        raise OverflowError("Python int too large to convert to SQLite INTEGER")
    if not isinstance(value, (int, float, str, bytes)) and value is not None:
        raise TypeError(type(value).__name__)
    return apsw.format_sql_value(value)


def literal_node(value: Any) -> exp.Expression:
    """The SQLite literal for a value as a sqlglot node (what a bound parameter reads as)."""
    return sqlglot.parse_one(literal(value), read=DIALECT)


def parameter_keys(sql: str, mapping: bool = False) -> list[str | int]:
    """The parameter each placeholder of ``sql`` takes, in order: its name from a mapping, else its
    1-based position (named placeholders bound from a sequence take the next free positions)."""
    spans = _spans(sql)
    if mapping:
        return [key for _, _, key in spans]
    top = max((k for _, _, k in spans if isinstance(k, int)), default=0)
    named: dict[str, int] = {}
    out: list[str | int] = []
    for _, _, key in spans:
        if isinstance(key, int):
            out.append(key)
        else:
            if key not in named:
                top += 1
                named[key] = top
            out.append(named[key])
    return out


def bind(sql: str, params: Sequence[Any] | Mapping[str, Any] | None) -> str:
    """``sql`` with its parameters replaced by literals; errors as ``sqlite3`` reports them."""
    spans = _spans(sql)
    if not spans:
        if params and not isinstance(params, Mapping):  # sqlite3 ignores unused names, not values
            raise ProgrammingError(f"Incorrect number of bindings supplied. The current statement uses 0, and "
                                   f"there are {len(params)} supplied.")
        return sql
    values = _values(spans, params)
    out, last = [], 0
    for (start, end, _key), value in zip(spans, values, strict=True):
        out.append(sql[last:start])
        out.append(value)
        last = end + 1
    out.append(sql[last:])
    return "".join(out)


@functools.lru_cache(maxsize=512)
def _spans(sql: str) -> list[tuple[int, int, str | int]]:
    """Where each placeholder is: (first char, last char, name or 1-based position)."""
    tokens = _TOKENIZER.tokenize(sql)
    spans: list[tuple[int, int, str | int]] = []  # (start, end, name or 1-based index)
    i, position = 0, 0
    while i < len(tokens):
        t = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        adjacent = nxt is not None and nxt.start == t.end + 1
        if t.token_type == TokenType.PLACEHOLDER:
            if adjacent and nxt is not None and nxt.token_type == TokenType.NUMBER:
                spans.append((t.start, nxt.end, int(nxt.text)))
                position = max(position, int(nxt.text))
                i += 2
                continue
            position += 1
            spans.append((t.start, t.end, position))
        elif t.token_type in (TokenType.COLON, TokenType.PARAMETER) and adjacent and nxt is not None:
            spans.append((t.start, nxt.end, nxt.text))
            i += 2
            continue
        elif t.token_type == TokenType.VAR and t.text.startswith("$"):
            spans.append((t.start, t.end, t.text[1:]))
        i += 1
    return spans


def _values(spans: list[tuple[int, int, str | int]], params: Sequence[Any] | Mapping[str, Any] | None) -> list[str]:
    if isinstance(params, Mapping):
        out = []
        for _, _, key in spans:
            if isinstance(key, int):
                raise ProgrammingError("Binding " + str(key) + " has no name, but you supplied a dictionary "
                                       "(which has only names).")
            if key not in params:
                raise ProgrammingError(f"You did not supply a value for binding parameter :{key}.")
            out.append(_literal(params[key], key))
        return out
    given = list(params or ())
    wanted = max((k for _, _, k in spans if isinstance(k, int)), default=0) + sum(
        1 for _, _, k in spans if not isinstance(k, int))
    if wanted != len(given):
        raise ProgrammingError(f"Incorrect number of bindings supplied. The current statement uses {wanted}, and "
                               f"there are {len(given)} supplied.")
    named: dict[str, int] = {}
    out = []
    next_index = max((k for _, _, k in spans if isinstance(k, int)), default=0)
    for _, _, key in spans:
        if isinstance(key, int):
            index = key
        else:  # a named parameter bound from a sequence takes the next free position
            if key not in named:
                next_index += 1
                named[key] = next_index
            index = named[key]
        out.append(_literal(given[index - 1], index))
    return out


def _literal(value: Any, key: str | int) -> str:
    try:
        return literal(value)
    except TypeError as exc:
        where = key if isinstance(key, int) else f":{key}"
        raise ProgrammingError(f"Error binding parameter {where}: type '{exc}' is not supported") from None
