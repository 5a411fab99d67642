"""SQLite triggers → PL/pgSQL trigger functions, for the subset whose meaning carries over exactly.

=============================================  ==================================================
SQLite                                         PostgreSQL
=============================================  ==================================================
CREATE TRIGGER t AFTER INSERT|UPDATE [OF c]|   a PL/pgSQL function and AFTER ... FOR EACH ROW
  DELETE ON tbl [FOR EACH ROW] [WHEN w]          trigger; WHEN as IF, NEW./OLD. as NEW."c"/OLD."c"
  BEGIN ... END
CREATE TRIGGER t BEFORE ... (bodies as above,   a BEFORE ... FOR EACH ROW trigger returning the row
  not writing tbl itself)
SELECT RAISE(ABORT, 'm') [WHERE c],             IF c THEN RAISE EXCEPTION (SQLSTATE SQMT2): SQLite's
  SELECT CASE WHEN c THEN RAISE(ABORT, 'm')     IntegrityError 'm', SQLITE_CONSTRAINT_TRIGGER
  ... END                                      (ROLLBACK: SQMT4, and the driver ends the transaction)
SELECT RAISE(IGNORE) [WHERE c] (BEFORE)        IF c THEN RETURN NULL: the row's change is skipped
INSERT INTO other [(cols)] VALUES (...)        the same; each value of a storage class its column
                                               stores exactly, the rest from PostgreSQL's DEFAULTs
UPDATE other SET ... [WHERE ...],              as ``statements.change`` translates them, with NEW
  DELETE FROM other [WHERE ...]                and OLD as two more sources
=============================================  ==================================================

Why the subset: PostgreSQL runs AFTER ROW triggers when the statement ends, SQLite after each
row, which the engine evens out by writing a table with triggers one row at a time, in SQLite's
rowid order. SQLite's default ``recursive_triggers = OFF`` is a per-trigger flag (a body may
write its own table without firing itself again). Several triggers on one table fire newest
first in both (PostgreSQL's trigger names carry the rank). Refused by name: a body that writes
another table with triggers of its own (nesting), a BEFORE trigger that writes its own table
(undefined in SQLite) or reads NEW's rowid on INSERT (not chosen yet), INSTEAD OF and TEMP
triggers, RAISE(FAIL) and RAISE(IGNORE) in AFTER triggers, subqueries in a body. Values a body reads that only the
overflow holds (a stray in NEW or OLD, or in a column it compares) stop the statement with
``NotSupportedError`` (SQLSTATE ``SQMT1``), never a different answer.
The changes a body makes are counted (``sqlmite.trigger_changes``) for ``total_changes()``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass

import sqlglot
from psycopg import sql as pgsql
from sqlglot import exp

from sqlmite.mapping.ddl import OVERFLOW_COLUMN, pg_ident
from sqlmite.mapping.expressions import quote_ident, quote_literal
from sqlmite.mapping.sqlstates import NOT_SUPPORTED_STATE, RAISE_STATE, ROLLBACK_STATE
from sqlmite.mapping.values import SqliteValue
from sqlmite.sqlite.dialect import DIALECT
from sqlmite.translate import statements
from sqlmite.translate.catalog import Catalog, Mapped
from sqlmite.translate.errors import NotSupportedError
from sqlmite.translate.expression import QueryExpression, Source

_NAME = r'(?:"(?:[^"]|"")+"|`[^`]+`|\[[^\]]+\]|[A-Za-z_][A-Za-z0-9_$]*)'
_HEADER = re.compile(
    rf"^\s*CREATE\s+(?P<temp>TEMP\s+|TEMPORARY\s+)?TRIGGER\s+(?:IF\s+NOT\s+EXISTS\s+)?(?:{_NAME}\s*\.\s*)?"
    rf"(?P<name>{_NAME})\s+(?P<time>BEFORE\s+|AFTER\s+|INSTEAD\s+OF\s+)?(?P<event>DELETE|INSERT|UPDATE"
    rf"(?:\s+OF\s+(?P<cols>{_NAME}(?:\s*,\s*{_NAME})*))?)\s+ON\s+(?:{_NAME}\s*\.\s*)?(?P<table>{_NAME})"
    rf"(?:\s+FOR\s+EACH\s+ROW)?(?:\s+WHEN\s+(?P<when>.*?))?\s+BEGIN\s+(?P<body>.*)\s+END\s*;?\s*$",
    re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class Trigger:
    name: str
    table: str
    pg_name: str  # the function's and the PostgreSQL trigger's name
    statements: list[str]  # CREATE FUNCTION, CREATE TRIGGER


def translate_trigger(create_sql: str, catalog: Catalog, pg_schema: str, others: list[str],
                      literal: Callable[[object], str], coerce: Callable[[str, SqliteValue], SqliteValue],
                      rank: int = 0) -> Trigger:
    """The PL/pgSQL for one trigger; ``others`` are the other triggers' CREATE statements (none
    on another table the body writes), ``literal`` renders a bound value, ``rank`` is the trigger's
    place in its table's creation order: SQLite fires the newest first, PostgreSQL by name."""
    found = _HEADER.match(create_sql)
    if found is None:
        raise NotSupportedError("this CREATE TRIGGER form: not supported yet")
    name, table_name = _unquote(found["name"]), _unquote(found["table"])
    what = f"trigger {name!r}"
    timing = (found["time"] or "BEFORE").split()[0].upper()
    if found["temp"] or timing not in ("AFTER", "BEFORE"):
        raise NotSupportedError(f"{what}: TEMP and INSTEAD OF triggers are not supported yet")
    event = found["event"].split()[0].upper()
    mapped = catalog.get(table_name)
    # NEW and OLD are only ever named qualified: an unqualified name is the statement's table's.
    everything = frozenset(k.lower() for k in mapped.refs)
    sources = [Source("NEW", mapped, "NEW", everything), Source("OLD", mapped, "OLD", everything)]
    body: list[tuple[str, bool]] = []  # (PL/pgSQL, whether it changes rows to count)
    written: set[str] = set()
    written_all: set[str] = set()
    try:
        # RAISE's first argument is a keyword sqlglot would not read (ROLLBACK): quoted, it is a name.
        body_text = _RAISE_KIND.sub(lambda m: f'{m.group(1)}"{m.group(2).upper()}"', found["body"])
        parsed = sqlglot.parse(body_text, read=DIALECT)
    except sqlglot.errors.ParseError:
        raise NotSupportedError(f"{what}: its body is not understood by the translator") from None
    guards: list[str] = []
    for node in parsed:
        if node is None:
            continue
        if isinstance(node, exp.Select):
            body.append((_raise(node, catalog, sources, what, guards), False))
            continue
        if isinstance(node, (exp.Insert, exp.Update, exp.Delete)) and any(
                n is not node for n in node.find_all(exp.Select, exp.Subquery)):
            raise NotSupportedError(f"{what}: subqueries in its body are not supported yet (they could read the "
                                    "table while PostgreSQL has not yet run the triggers of its other rows)")
        if isinstance(node, exp.Insert):
            statement, target = _insert(node, catalog, sources, what, guards)
        elif isinstance(node, (exp.Update, exp.Delete)):
            change = statements.change(node, catalog, coerce, extra_sources=sources)
            filled = change.sql % tuple(literal(p) for p in change.params) if change.params else change.sql
            statement, target = filled, change.mapped
            guards.extend(_guards(change.checked, what))
        else:
            raise NotSupportedError(f"{what}: only INSERT, UPDATE and DELETE in its body so far")
        written_all.add(target.table.name.lower())
        if target.table.name.lower() != table_name.lower():  # its own table: the guard below stops recursion
            written.add(target.table.name.lower())
        body.append((statement, True))
    if timing == "BEFORE" and table_name.lower() in written_all:
        raise NotSupportedError(f"{what}: a BEFORE trigger that writes its own table (SQLite leaves the outcome "
                                "undefined)")
    if timing == "BEFORE" and event == "INSERT":
        rowids = {"rowid", "_rowid_", "oid", (mapped.table.rowid_alias or "").lower()} - {""}
        if any(c.table.upper() == "NEW" and c.name.lower() in rowids for n in parsed if n is not None
               for c in n.find_all(exp.Column)):
            raise NotSupportedError(f"{what}: NEW's rowid in a BEFORE INSERT trigger (SQLite has not chosen it yet)")
    for other in others:
        theirs = _HEADER.match(other)
        if theirs and _unquote(theirs["table"]).lower() in written:
            raise NotSupportedError(f"{what}: its body writes a table with triggers of its own (their order and "
                                    "recursion are not kept yet)")
    condition = "TRUE"
    if found["when"]:
        expr = QueryExpression(sources, catalog)
        condition = expr.condition(sqlglot.parse_one(found["when"], read=DIALECT))
        guards.extend(_guards(expr.used, what))
    pg_name = pg_ident(f"_sqlmite_trg_{name}")
    counted = "\n".join(f"    {s};\n    GET DIAGNOSTICS n = ROW_COUNT;\n    changed := changed + n;" if counts
                         else f"    {s};" for s, counts in body)
    if IGNORE in counted:
        if timing != "BEFORE":
            raise NotSupportedError(f"{what}: RAISE(IGNORE) in an AFTER trigger (SQLite then skips the row's later "
                                    "triggers, PostgreSQL runs them): not supported yet")
        # SQLite's RAISE(IGNORE): the rest of this trigger, the row's change and its later triggers
        # are abandoned, nothing is undone; a BEFORE trigger returning NULL is exactly that.
        counted = counted.replace(IGNORE, "PERFORM set_config('{flag}', 'off', true); "
                                  "PERFORM sqlmite.count_trigger_changes(changed); RETURN NULL;")
    passed = "NULL" if timing == "AFTER" else ("OLD" if event == "DELETE" else "NEW")
    flag = "sqlmite.active_" + hashlib.sha1(pg_name.encode()).hexdigest()[:12]  # a setting name any trigger name fits
    counted = counted.replace("{flag}", flag)
    guarded = "".join(f"  {g}\n" for g in dict.fromkeys(guards))
    function = f"""CREATE FUNCTION {quote_ident(pg_schema)}.{quote_ident(pg_name)}() RETURNS trigger
LANGUAGE plpgsql AS $sqlmite_trigger$
DECLARE
  n bigint;
  changed bigint := 0;
BEGIN
{guarded}  -- SQLite's recursive_triggers = OFF: a trigger does not fire again while it runs.
  IF current_setting('{flag}', true) = 'on' THEN
    RETURN {passed};
  END IF;
  PERFORM set_config('{flag}', 'on', true);
  IF {condition} THEN
{counted}
  END IF;
  PERFORM set_config('{flag}', 'off', true);
  PERFORM sqlmite.count_trigger_changes(changed);
  RETURN {passed};
END
$sqlmite_trigger$"""
    columns = ""
    if found["cols"]:
        plan_columns = {c.name.lower(): c.pg_name for c in mapped.plan.columns}
        names = [_unquote(c.strip()) for c in re.split(r"\s*,\s*", found["cols"])]
        columns = " OF " + ", ".join(quote_ident(plan_columns[c.lower()]) for c in names)
    # PostgreSQL fires a table's triggers in name order: newest first, as SQLite does.
    ordered = pg_ident(f"_sqlmite_{9999 - rank:04d}_{name}")
    trigger = (f"CREATE TRIGGER {quote_ident(ordered)} {timing} {event}{columns} ON {mapped.qtable} "
               f"FOR EACH ROW EXECUTE FUNCTION {quote_ident(pg_schema)}.{quote_ident(pg_name)}()")
    return Trigger(name, mapped.table.name, pg_name, [function, trigger])


_RAISE_KIND = re.compile(r"(RAISE\s*\(\s*)(ROLLBACK|ABORT|FAIL|IGNORE)\b", re.IGNORECASE)
# RAISE(IGNORE) in the body, replaced by the function's own exit: this row's change is skipped.
IGNORE = "$SQLMITE_IGNORE$"


def _raise(node: exp.Select, catalog: Catalog, sources: list[Source], what: str, guards: list[str]) -> str:
    """``SELECT RAISE(ABORT, 'msg') [WHERE c]`` or ``SELECT CASE WHEN c THEN RAISE(ABORT, 'msg') ... END``
    (the checks a trigger body makes) as PL/pgSQL raising SQLite's error (SQLSTATE ``SQMT2``)."""
    if len(node.expressions) != 1 or any(node.args.get(k) for k in ("from_", "from", "group", "having", "order")) \
            or any(n is not node for n in node.find_all(exp.Select, exp.Subquery)):
        raise NotSupportedError(f"{what}: only SELECT RAISE(ABORT, ...) [WHERE ...] checks in its body so far")
    expr = QueryExpression(sources, catalog)
    value = node.expressions[0].unnest()
    where = node.args.get("where")
    if isinstance(value, exp.Anonymous) and value.name.upper() == "RAISE":
        branches = [(where.this if where is not None else None, value)]
    elif isinstance(value, exp.Case) and where is None and not value.this:
        branches = [(i.this, i.args["true"]) for i in value.args.get("ifs") or []]
        if value.args.get("default") is not None:
            branches.append((None, value.args["default"]))
    else:
        raise NotSupportedError(f"{what}: only SELECT RAISE(ABORT, ...) [WHERE ...] checks in its body so far")
    out = []
    for condition, raised in branches:
        if not (isinstance(raised, exp.Anonymous) and raised.name.upper() == "RAISE"):
            if isinstance(raised, (exp.Null, exp.Literal)):
                out.append((condition, None))  # a branch that raises nothing
                continue
            raise NotSupportedError(f"{what}: a CASE branch that is not RAISE(...) or a constant")
        kind = raised.expressions[0].name.upper() if raised.expressions else ""
        message = raised.expressions[1] if len(raised.expressions) == 2 else None
        if kind == "IGNORE" and len(raised.expressions) == 1:
            out.append((condition, IGNORE))
            continue
        if kind not in ("ABORT", "ROLLBACK") or not (isinstance(message, exp.Literal) and message.is_string):
            raise NotSupportedError(f"{what}: RAISE({kind or '...'}, ...): only RAISE(ABORT|ROLLBACK, 'literal') and "
                                    "RAISE(IGNORE) so far")
        out.append((condition, (kind, message.this)))
    text = ""
    for at, (condition, raising) in enumerate(out):  # the first branch that holds decides, as CASE does
        test = expr.condition(condition) if condition is not None else "TRUE"
        if raising is None:
            action = "NULL;"
        elif raising == IGNORE:
            action = IGNORE
        else:
            state = RAISE_STATE if raising[0] == "ABORT" else ROLLBACK_STATE
            action = f"RAISE EXCEPTION USING ERRCODE = '{state}', MESSAGE = {quote_literal(raising[1])};"
        text += f"{'ELSIF' if at else 'IF'} {test} THEN {action} "
    guards.extend(_guards(expr.used, what))
    return text + "END IF"


def _insert(node: exp.Insert, catalog: Catalog, sources: list[Source], what: str,
            guards: list[str]) -> tuple[str, Mapped]:
    if not isinstance(node.expression, exp.Values) or len(node.expression.expressions) != 1 or any(
            node.args.get(k) for k in ("alternative", "conflict", "returning", "with_", "with")):
        raise NotSupportedError(f"{what}: only INSERT INTO t [(cols)] VALUES (...) in its body so far")
    target = node.this.this if isinstance(node.this, exp.Schema) else node.this
    mapped = catalog.get(target.name)
    names = [c.name for c in node.this.expressions] if isinstance(node.this, exp.Schema) else \
        [c.name for c in mapped.table.columns]
    values = node.expression.expressions[0].expressions
    if len(names) != len(values):
        raise NotSupportedError(f"{what}: {len(values)} values for {len(names)} columns")
    plan_columns = {c.name.lower(): c for c in mapped.plan.columns}
    expr = QueryExpression(sources, catalog)
    columns, rendered = [], []
    for name, value in zip(names, values, strict=True):
        column = plan_columns.get(name.lower())
        if column is None:
            raise NotSupportedError(f"{what}: inserting the rowid of {mapped.table.name!r} by name is not supported yet")
        columns.append(quote_ident(column.pg_name))
        rendered.append(statements.computed_value(expr, value, column.pg_type, name))
    guards.extend(_guards(expr.used, what))
    return (f"INSERT INTO {mapped.qtable} ({', '.join(columns)}) VALUES ({', '.join(rendered)})", mapped)


def _guards(used: dict[str, tuple[Mapped, set[str]]], what: str) -> list[str]:
    """PL/pgSQL that stops the statement when a value the body reads is a stray (only the
    overflow holds it), as the engine's strays probe does for statements it runs."""
    out = []
    message = quote_literal(f"{what} reads a column holding values of more than one storage class: not supported yet")
    for alias, (mapped, columns) in used.items():
        if not columns:
            continue
        keys = "ARRAY[" + ", ".join(quote_literal(c) for c in sorted(columns)) + "]"
        if alias in ("NEW", "OLD"):
            test = f"{alias}.{quote_ident(OVERFLOW_COLUMN)} ?| {keys}"
        else:
            test = (f"EXISTS (SELECT 1 FROM {mapped.qtable} WHERE {quote_ident(OVERFLOW_COLUMN)} IS NOT NULL "
                    f"AND {quote_ident(OVERFLOW_COLUMN)} ?| {keys})")
        out.append(f"IF {test} THEN RAISE EXCEPTION USING ERRCODE = '{NOT_SUPPORTED_STATE}', MESSAGE = {message}; END IF;")
    return out


def literal_with(context: object) -> Callable[[object], str]:
    """A renderer of bound values (a statement's ``%s`` parameters) as SQL literals."""
    return lambda value: pgsql.Literal(value).as_string(context)  # type: ignore[arg-type]


def _unquote(name: str) -> str:
    name = name.strip()
    if name[:1] == '"' and name[-1:] == '"':
        return name[1:-1].replace('""', '"')
    if name[:1] in "`[" and name[-1:] in "`]":
        return name[1:-1]
    return name
