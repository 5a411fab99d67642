"""LIKE and GLOB on table data: SQLite's pattern matching as PostgreSQL's, where it is the same.

SQLite's LIKE folds case for ASCII letters only and has no escape character unless one is given:
``lower(x COLLATE "C") LIKE lower(p COLLATE "C") ESCAPE ...``. GLOB is case-sensitive with ``*``,
``?`` and ``[...]``: a literal pattern becomes an anchored POSIX regular expression.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from sqlglot import exp

from sqlmite.mapping.expressions import quote_literal
from sqlmite.translate.errors import NotSupportedError

if TYPE_CHECKING:
    from sqlmite.translate.expression import QueryExpression


def like_sql(expr: QueryExpression, node: exp.Like, escape: exp.Expression | None) -> str:
    """SQLite's LIKE: case-insensitive for ASCII letters only, no escape character unless given."""
    value = expr._text(node.this, "LIKE")
    pattern = expr._text(node.expression, "LIKE")
    if escape is None:
        esc = "''"
    else:
        if not (isinstance(escape, exp.Literal) and escape.is_string and len(escape.this) == 1):
            raise NotSupportedError("LIKE ... ESCAPE with anything but one literal character: not supported yet")
        esc = quote_literal(escape.this)
    like = f'lower(({value}) COLLATE "C") LIKE lower(({pattern}) COLLATE "C") ESCAPE {esc}'
    return f"NOT ({like})" if node.args.get("negate") else like  # sqlglot marks NOT LIKE so

def glob_sql(expr: QueryExpression, node: exp.Glob) -> str:
    """SQLite's GLOB (case-sensitive ``*``, ``?``, ``[...]``) as an anchored regular expression."""
    pattern = node.expression
    if not (isinstance(pattern, exp.Literal) and pattern.is_string):
        raise NotSupportedError("GLOB with a pattern that is not a literal: not supported yet")
    return f'({expr._text(node.this, "GLOB")}) COLLATE "C" ~ {quote_literal(glob_regex(pattern.this))}'


def glob_regex(pattern: str) -> str:
    """A GLOB pattern as an anchored POSIX regular expression."""
    out, i = ["^"], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "*":
            out.append(".*")
        elif ch == "?":
            out.append(".")
        elif ch == "[":
            end = pattern.find("]", i + 2 if pattern[i + 1:i + 2] in ("]", "^") else i + 1)
            if pattern[i + 1:i + 3] == "^]":
                end = pattern.find("]", i + 3)
            if end < 0:
                raise NotSupportedError(f"GLOB pattern {pattern!r}: an unclosed [")
            body = pattern[i + 1:end]
            negate = body.startswith("^")
            body = body[1:] if negate else body
            escaped = body.replace("\\", "\\\\").replace("[", "\\[")
            if escaped.startswith("]"):
                escaped = "\\]" + escaped[1:]
            out.append(f"[{'^' if negate else ''}{escaped}]")
            i = end
        else:
            out.append(re.escape(ch))
        i += 1
    out.append("$")
    return "".join(out)
