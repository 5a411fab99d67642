"""Scalar functions on table data that PostgreSQL computes as SQLite does, given the argument's
storage class (``hex``, ``quote``, ``round``, ``printf``). Others live with their family: comparisons and text
in ``expression.py``, aggregates and windows in ``aggregates.py``, dates in ``datetime.py``.

=====================  ======================================================  ==================
SQLite                 PostgreSQL, by the argument's class                     result
=====================  ======================================================  ==================
CAST(x AS t)           integer → real/text, real → integer (trunc, saturated), the target's class
                       text → blob (UTF-8 bytes), identities; text → numbers
                       and reals → text follow SQLite's own rules: refused;
                       a per-row value (json_extract): sqlmite.tag_as_*
hex(x)                 text: upper(encode(convert_to(x, 'UTF8'), 'hex'));      TEXT ('' for NULL)
                       integer: the same of its decimal text; blob: of x
quote(x)               text: 'x' with quotes doubled; integer: its text;       TEXT ('NULL')
                       blob: X'..'
round(x), round(x, 0)  trunc(x ± 0.5) in doubles (+ 0.0: never -0.0), x        REAL
                       unchanged past 2^52
printf(f, ...),        sqlmite.printf(f, tagged arguments): printf.c's steps    TEXT
  format(f, ...)       (mapping/printf_sql.py); %f %e %g refused
round(x, n)            sqlmite.round_real(x, n): the double's exact decimal     REAL
                       expansion rounded half away from zero at n places
                       (SQLite's "%!.*f"), read back
=====================  ======================================================  ==================

A real's text form is SQLite's own (``hex(1.5)``, ``quote(1.5)``): refused by name.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from sqlglot import exp

from sqlmite.translate.errors import NotSupportedError
from sqlmite.translate.json import tag_of

if TYPE_CHECKING:
    from sqlmite.translate.expression import QueryExpression


def _name(node: exp.Expression) -> str | None:
    if isinstance(node, exp.Format) or (isinstance(node, exp.Anonymous) and node.name.lower() == "printf"):
        return "printf"
    if isinstance(node, exp.Hex):
        return "hex"
    if isinstance(node, exp.Round):
        return "round"
    if isinstance(node, exp.Anonymous) and node.name.lower() == "quote" and len(node.expressions) == 1:
        return "quote"
    return None


def function_class(node: exp.Expression) -> str | None:
    name = _name(node)
    return None if name is None else ("REAL" if name == "round" else "TEXT")  # printf of NULL: NULL


def function_sql(expr: QueryExpression, node: exp.Expression) -> str | None:
    name = _name(node)
    if name is None:
        return None
    if name == "printf":
        return _printf(expr, node)
    value = node.expressions[0] if name == "quote" else node.this
    kind = expr.sqlite_class(value)
    text = node.sql(dialect="sqlite")
    sql = expr._emit(value)
    if name == "round":
        decimals = node.args.get("decimals")
        if kind not in ("INTEGER", "REAL", "NULL"):
            raise NotSupportedError(f"{text}: round() of a value that is not always a number")
        r = f"({sql})::float8"
        if decimals is not None and not (isinstance(decimals, exp.Literal) and decimals.this in ("0", "-0")):
            if expr.sqlite_class(decimals) not in ("INTEGER", "NULL"):
                raise NotSupportedError(f"{text}: a number of decimals that is not always an integer")
            return f"sqlmite.round_real({r}, ({expr._emit(decimals)})::bigint)"
        return (f"(CASE WHEN abs({r}) > 4503599627370496.0::float8 THEN {r} "
                f"ELSE trunc({r} + CASE WHEN {r} < 0 THEN -0.5::float8 ELSE 0.5::float8 END) + 0.0::float8 END)")
    if kind == "TEXT":
        body = f"upper(encode(convert_to({sql}, 'UTF8'), 'hex'))" if name == "hex" else \
            f"('''' || replace({sql}, '''', '''''') || '''')"
    elif kind == "INTEGER":
        body = f"upper(encode(convert_to(({sql})::text, 'UTF8'), 'hex'))" if name == "hex" else f"(({sql})::text)"
    elif kind == "BLOB":
        body = f"upper(encode({sql}, 'hex'))" if name == "hex" else f"('X''' || upper(encode({sql}, 'hex')) || '''')"
    elif kind == "NULL":
        return "''" if name == "hex" else "'NULL'"
    else:
        raise NotSupportedError(f"{text}: a value whose storage class varies or is a real (SQLite's own text form)")
    empty = "''" if name == "hex" else "'NULL'"
    return f"(CASE WHEN ({sql}) IS NULL THEN {empty} ELSE {body} END)"


def _printf(expr: QueryExpression, node: exp.Expression) -> str:
    """printf(fmt, ...) / format(fmt, ...): sqlmite.printf walks the format as SQLite's printf.c;
    each argument goes tagged with its storage class. A literal format with a floating-point
    conversion is refused here; one from the data, when the row reaches it."""
    text = node.sql(dialect="sqlite")
    args = [node.this, *node.expressions] if isinstance(node, exp.Format) else list(node.expressions)
    if not args:
        return "NULL::text"
    fmt, values = args[0], args[1:]
    if isinstance(fmt, exp.Literal) and fmt.is_string and any(m.group(1) in "feEgG" for m in _CONVERSION.finditer(fmt.this)):
        raise NotSupportedError(f"{text}: %f, %e and %g write floating-point digits SQLite's own way; not supported")
    if expr.sqlite_class(fmt) not in ("TEXT", "INTEGER", "NULL"):
        raise NotSupportedError(f"{text}: a format that is not always text")
    tags = ", ".join(tag_of(expr, v, text) for v in values)
    return f"sqlmite.printf(({expr._emit(fmt)})::text, ARRAY[{tags}]::jsonb[])"


# A printf conversion as SQLite's printf.c reads it: flags, width, precision, length, type.
_CONVERSION = re.compile(r"%[-+ #!0,]*(?:[1-9][0-9]*|\*)?(?:\.(?:[0-9]*|\*))?(?:ll?)?(.?)")


def cast_sql(expr: QueryExpression, node: exp.Cast) -> str:
    if expr.varies(node.this) and _cast_target(node) in _TAG_CASTS:  # json_extract's value, say: per row
        return f"sqlmite.tag_as_{_TAG_CASTS[_cast_target(node)]}({tag_of(expr, node.this, node.sql(dialect='sqlite'))})"
    form = _CASTS.get((expr.sqlite_class(node.this) or "", _cast_target(node)))
    if form is None:
        raise NotSupportedError(f"{node.sql(dialect='sqlite')}: this conversion follows SQLite's own rules "
                                "(text to numbers by prefix, reals to text by its digits); not supported yet")
    return form.format(expr._emit(node.this))


def cast_class(expr: QueryExpression, node: exp.Cast) -> str | None:
    if expr.varies(node.this):
        return _CAST_CLASS.get(_cast_target(node)) if _cast_target(node) in _TAG_CASTS else None
    kind = expr.sqlite_class(node.this) or ""
    return _CAST_CLASS.get(_cast_target(node)) if (kind, _cast_target(node)) in _CASTS else None


# CAST where PostgreSQL converts exactly as SQLite (by the class of the value, the target's affinity).
# SQLite truncates toward zero and saturates at the 64-bit limits (sqlite3RealToI64).
_REAL_TO_INTEGER = ("(CASE WHEN ({0}) >= 9223372036854775807::float8 THEN 9223372036854775807 "
                    "WHEN ({0}) <= -9223372036854775808::float8 THEN -9223372036854775808 "
                    "ELSE trunc({0})::bigint END)")
_CASTS = {
    ("INTEGER", "INTEGER"): "({})", ("INTEGER", "NUMERIC"): "({})", ("INTEGER", "REAL"): "(({})::float8)",
    ("INTEGER", "TEXT"): "(({})::text)",
    ("REAL", "REAL"): "({})", ("REAL", "INTEGER"): _REAL_TO_INTEGER,
    ("TEXT", "TEXT"): "({})", ("TEXT", "BLOB"): "convert_to({}, 'UTF8')",  # a text's bytes
    ("BLOB", "BLOB"): "({})",
    **{("NULL", target): "NULL" for target in ("INTEGER", "REAL", "TEXT", "BLOB", "NUMERIC")},
}
# CAST of a value whose class is known per row (tagged): sqlmite.tag_as_* convert each class as
# SQLite does, and refuse on the row where SQLite's own rules would be needed (text to numbers).
_TAG_CASTS = {"INTEGER": "integer", "REAL": "real", "TEXT": "text"}
_CAST_CLASS = {"INTEGER": "INTEGER", "NUMERIC": "INTEGER", "REAL": "REAL", "TEXT": "TEXT", "BLOB": "BLOB"}
_CAST_TYPES = {
    exp.DataType.Type.INT: "INTEGER", exp.DataType.Type.BIGINT: "INTEGER", exp.DataType.Type.SMALLINT: "INTEGER",
    exp.DataType.Type.TINYINT: "INTEGER", exp.DataType.Type.DOUBLE: "REAL", exp.DataType.Type.FLOAT: "REAL",
    exp.DataType.Type.TEXT: "TEXT", exp.DataType.Type.VARCHAR: "TEXT", exp.DataType.Type.CHAR: "TEXT",
    exp.DataType.Type.VARBINARY: "BLOB", exp.DataType.Type.DECIMAL: "NUMERIC",
}


def _cast_target(node: exp.Cast) -> str:
    """The affinity a CAST's type name gives (sqlglot normalizes the names: INTEGER is INT)."""
    return _CAST_TYPES.get(node.args["to"].this, "")
