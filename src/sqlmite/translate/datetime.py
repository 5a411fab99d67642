"""SQLite's date and time functions on table data → ``sqlmite.dt_*`` (``mapping/datetime_sql.py``).

==================================  ==========================================  ===================
SQLite                              PostgreSQL                                  result
==================================  ==========================================  ===================
date(x, mods...)                    sqlmite.dt_date(state)                      TEXT or NULL
time(x, mods...)                    sqlmite.dt_time(state)                      TEXT or NULL
datetime(x, mods...)                sqlmite.dt_datetime(state)                  TEXT or NULL
julianday(x, mods...)               (state).jd / 86400000.0                     REAL or NULL
unixepoch(x, mods...)               (state).jd / 1000 - 210866760000            INTEGER or NULL
strftime('fmt', x, mods...)         sqlmite.dt_strftime('fmt', state)           TEXT or NULL
==================================  ==========================================  ===================

``state`` is ``dt_done(dt_modify(...(dt_text(x) | dt_number(x))...))``: SQLite's own parse of a
text, or a number as a julian day, then each modifier. ``x`` must be of one storage class (text,
or numbers); modifiers and the format must be literals of the forms SQLite and these functions
share: ``±N day(s)|hour(s)|minute(s)|second(s)|month(s)|year(s)``, ``start of day|month|year``,
``unixepoch``, ``weekday N``, ``subsec`` (milliseconds in time(), datetime(), unixepoch()); formats ``%d %e %f %F %H %I %j %k %l %m %M %p %P %R %s %S %T %u %w %W %Y %%``.
Anything else (``localtime``, ``utc``, ``%J``...) is refused by name.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from sqlglot import exp

from sqlmite.mapping.expressions import quote_literal
from sqlmite.translate.errors import NotSupportedError

if TYPE_CHECKING:
    from sqlmite.translate.expression import QueryExpression

FUNCTIONS = {"date": "TEXT", "time": "TEXT", "datetime": "TEXT", "julianday": "REAL", "unixepoch": "INTEGER",
             "strftime": "TEXT"}
_UNITS = {"second", "minute", "hour", "day", "month", "year"}
_SHIFT = re.compile(r"([-+]?[0-9]+(\.[0-9]*)?|[-+]?\.[0-9]+)[ \t\n\r\f\v]+([A-Za-z]{3,10})")
_FORMAT = re.compile(r"%[deFfHIjklmMpPRsSTuwWY%]")


def call_of(node: exp.Expression) -> tuple[str, list[exp.Expression]] | None:
    """(function name, arguments) for a date/time function call, however sqlglot parsed it."""
    if isinstance(node, exp.Date) and not node.args.get("zone"):
        return "date", [node.this, *node.expressions]
    if isinstance(node, exp.TimeToStr) and isinstance(node.this, exp.TsOrDsToTimestamp):
        return "strftime", [node.args["format"], node.this.this]
    if isinstance(node, exp.Anonymous) and node.name.lower() in FUNCTIONS:
        return node.name.lower(), list(node.expressions)
    return None


def datetime_class(node: exp.Expression) -> str | None:
    call = call_of(node)
    if call and call[0] == "unixepoch" and _subsec(call[1][1:]):
        return "REAL"  # seconds with milliseconds
    return FUNCTIONS[call[0]] if call else None


def datetime_sql(expr: QueryExpression, node: exp.Expression) -> str | None:
    call = call_of(node)
    if call is None:
        return None
    name, args = call
    text = node.sql(dialect="sqlite")
    fmt = None
    if name == "strftime":
        if not args or not _literal_text(args[0]):
            raise NotSupportedError(f"{text}: only a literal format")
        fmt = args[0].this
        if _FORMAT.sub("", fmt).count("%"):
            raise NotSupportedError(f"{text}: a conversion other than %d %e %f %F %H %I %j %k %l %m %M %p %P %R %s %S "
                                    "%T %u %w %W %Y %% is not supported yet")
        args = args[1:]
    value, modifiers = (args[0], args[1:]) if args else (exp.Literal.string("now"), [])
    for modifier in modifiers:
        if not _literal_text(modifier) or not _known_modifier(modifier.this):
            raise NotSupportedError(f"{text}: modifier {modifier.sql(dialect='sqlite')} is not supported yet "
                                    "(±N unit, start of day|month|year, unixepoch, weekday N, subsec)")
    subsec = _subsec(modifiers)
    kind = expr.sqlite_class(value)
    if kind == "TEXT":
        state = f"sqlmite.dt_text(({expr._emit(value)}))"
    elif kind in ("INTEGER", "REAL"):
        state = f"sqlmite.dt_number(({expr._emit(value)})::float8)"
    elif kind == "NULL":
        state = "NULL::sqlmite.dt"
    else:
        raise NotSupportedError(f"{text}: a value that is not always text or always a number")
    for at, modifier in enumerate(modifiers, 1):
        if modifier.this.lower() in _SUBSEC:
            continue  # it changes only what is printed (below), not the time
        state = f"sqlmite.dt_modify({state}, {quote_literal(modifier.this)}, {at})"
    state = f"sqlmite.dt_done({state}, {'true' if modifiers else 'false'})"
    if name == "julianday":
        return f"(({state}).jd::float8 / 86400000.0::float8)"
    if name == "unixepoch":
        if subsec:
            return f"((({state}).jd - 210866760000000)::float8 / 1000.0::float8)"
        return f"(({state}).jd / 1000 - 210866760000)"
    if subsec and name in ("time", "datetime"):
        state_var = f"sqlmite.dt_time_subsec({state})"
        return state_var if name == "time" else f"(sqlmite.dt_date({state}) || ' ' || {state_var})"
    if name == "strftime":
        if subsec:  # %s shows milliseconds: "%.3f" of a whole number of them is exact
            return _strftime_subsec(fmt or "", state)
        return f"sqlmite.dt_strftime({quote_literal(fmt or '')}, {state})"
    return f"sqlmite.dt_{name}({state})"


_SUBSEC = ("subsec", "subsecond")


def _strftime_subsec(fmt: str, state: str) -> str:
    """strftime after 'subsec': the format's %s pieces as seconds with milliseconds, the rest as usual."""
    pieces, start, at = [], 0, 0
    while at < len(fmt):
        if fmt[at] == "%" and fmt[at + 1:at + 2] == "s":
            if start < at:
                pieces.append(f"sqlmite.dt_strftime({quote_literal(fmt[start:at])}, {state})")
            ms = f"(({state}).jd - 210866760000000)"
            pieces.append(f"(CASE WHEN {ms} < 0 THEN '-' ELSE '' END || (abs({ms}) / 1000)::text || '.' || "
                          f"lpad((abs({ms}) % 1000)::text, 3, '0'))")
            start = at = at + 2
            continue
        at += 2 if fmt[at] == "%" else 1
    if start < len(fmt) or not pieces:
        pieces.append(f"sqlmite.dt_strftime({quote_literal(fmt[start:])}, {state})")
    return "(" + " || ".join(pieces) + ")"


def _subsec(modifiers: list[exp.Expression]) -> bool:
    """The 'subsec' modifier: time(), datetime() and unixepoch() then show milliseconds."""
    return any(_literal_text(m) and m.this.lower() in _SUBSEC for m in modifiers)


def _literal_text(node: exp.Expression) -> bool:
    return isinstance(node, exp.Literal) and node.is_string


def _known_modifier(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("unixepoch", *_SUBSEC) or re.fullmatch(r"start of (day|month|year)|weekday [0-9]+(\.[0-9]*)?",
                                                             lowered):
        return True
    found = _SHIFT.fullmatch(text)
    if found is None:
        return False
    unit = found.group(3).lower()
    return (unit.removesuffix("s")) in _UNITS
