"""SQLite's JSON functions on table data → ``sqlmite.json_*`` (``mapping/json_sql.py``).

=================================  ==============================================  =================
SQLite                             PostgreSQL                                      result
=================================  ==============================================  =================
json_extract(x, p), x ->> p        sqlmite.json_value(json_at(json_doc(x), p))     varies per row: a
                                   (the value tagged with its storage class)       result column, or
                                                                                   compared (below)
v = / < / ... / IN / BETWEEN w,    sqlmite.tag_cmp(tag(v), tag(w)) <op> 0          INTEGER (1/0)
  v IS NULL (v from json_extract)  (SQLite's order of classes, exact numbers)
json_extract(x, p1, p2, ...)       '[' || each json_min(json_at(...)) || ']'        TEXT
x -> p                             json_min(json_at(json_doc(x), p))               TEXT
json(x)                            json_min(json_doc(x))                           TEXT
json_valid(x)                      sqlmite.json_valid(x)                           INTEGER
json_type(x [, p])                 json_kind(json_at(json_doc(x), p))              TEXT
json_array_length(x [, p])         json_length(json_at(json_doc(x), p))            INTEGER
json_quote(v), json_array(v, ...)  to_json(text), integers' text, 'null', or a     TEXT
json_object(k, v, ...)             JSON argument as it is
json_group_array(v ORDER BY ...)   '[' || string_agg(..., ',' ORDER BY ...) || ']'  TEXT
json_group_object(k, v ORDER BY)
json_set/insert/replace(x, p, v),  sqlmite.json_edit(x, p, v, mode), one per path     TEXT
  json_remove(x, p, ...)           (first of repeated keys; missing paths created)
FROM json_each(x [, p]),           sqlmite.json_each_rows(json_at(x, p), p, tree)  key, value, atom
  json_tree(x [, p])               (a function in FROM reads the items before it)  tagged; id, parent
                                                                                   refused
=================================  ==============================================  =================

``x`` is text (or an integer, read as its text). A path ``p`` is a literal of the forms ``$``,
``.key``, ``."key"``, ``[N]``, ``[#-N]`` (for ``->``/``->>`` also a bare label or an integer, as
SQLite abbreviates them), parsed here into steps as SQLite's ``jsonLookupStep`` reads them; other
paths (SQLite reports some of them as errors only for some documents) are refused by name. A value
becomes JSON as SQLite makes it: text quoted and escaped (PostgreSQL's ``to_json`` escapes exactly
as SQLite does), integers as their digits, NULL as ``null``, and the result of a JSON function
(SQLite's JSON subtype) as it is. Reals are refused (SQLite's own digits), and so are blobs
(SQLite fails), aggregates without ``ORDER BY`` (SQLite's scan order).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlglot import exp

from sqlmite.mapping.affinity import Affinity
from sqlmite.mapping.expressions import (
    ColumnRef,
    quote_ident,
    quote_literal,
    sqlite_eval,
)
from sqlmite.mapping.values import PgType
from sqlmite.translate.catalog import Derived
from sqlmite.translate.errors import NotSupportedError

if TYPE_CHECKING:
    from sqlmite.translate.expression import QueryExpression

# name → storage class of the result (None: it varies per row)
FUNCTIONS: dict[str, str | None] = {
    "json_extract": None, "->>": None, "json_extract*": "TEXT", "->": "TEXT", "json": "TEXT",
    "json_valid": "INTEGER", "json_type": "TEXT", "json_array_length": "INTEGER", "json_quote": "TEXT",
    "json_array": "TEXT", "json_object": "TEXT", "json_set": "TEXT", "json_insert": "TEXT", "json_replace": "TEXT",
    "json_remove": "TEXT",
}
# Functions whose result carries SQLite's JSON subtype: another JSON function embeds it as JSON.
_JSON_RESULTS = {"json_extract*", "->", "json", "json_quote", "json_array", "json_object", "json_set", "json_insert",
                 "json_replace", "json_remove"}
_EDITS = {"json_set": "set", "json_insert": "insert", "json_replace": "replace", "json_remove": "remove"}
_STEP = re.compile(r'\.(?:"(?P<quoted>[^"\\]*)"|(?P<key>[^.\["]+))|\[(?:(?P<index>[0-9]{1,9})|#(?:-(?P<back>[0-9]{1,9}))?)\]')
_LABEL = re.compile(r"[A-Za-z0-9_]+")


def call_of(node: exp.Expression) -> tuple[str, list[exp.Expression]] | None:
    """(function name, arguments) for a JSON function call, however sqlglot parsed it
    (``json_extract*`` is json_extract with several paths)."""
    if isinstance(node, exp.JSONExtractScalar):
        return ("json_extract" if node.args.get("json_subtype") else "->>"), [node.this, node.expression]
    if isinstance(node, exp.JSONExtract):
        if node.expressions:
            return "json_extract*", [node.this, node.expression, *node.expressions]
        return "->", [node.this, node.expression]
    if isinstance(node, exp.JSONSet):
        return "json_set", [node.this, *node.expressions]
    if isinstance(node, exp.JSONRemove):
        return "json_remove", [node.this, *node.expressions]
    if isinstance(node, exp.JSONType):
        return "json_type", [a for a in (node.this, node.args.get("expression")) if a is not None]
    if isinstance(node, exp.JSONObject):
        args: list[exp.Expression] = []
        for pair in node.expressions:
            if not isinstance(pair, exp.JSONKeyValue):
                return None
            args.extend((pair.this, pair.expression))
        return "json_object", args
    if isinstance(node, exp.Anonymous) and node.name.lower() in FUNCTIONS:
        return node.name.lower(), list(node.expressions)
    return None


def json_class(node: exp.Expression) -> str | None:
    call = call_of(node)
    return FUNCTIONS[call[0]] if call else None


def varies(node: exp.Expression) -> bool:
    """True for ``json_extract(x, p)`` and ``x ->> p``: a value whose storage class is the
    document's, read back tagged (``tagged_sql``) where a result column allows it."""
    call = call_of(node)
    return call is not None and FUNCTIONS[call[0]] is None


def json_sql(expr: QueryExpression, node: exp.Expression) -> str | None:
    """The PostgreSQL text of a JSON function of one storage class; None if ``node`` is none."""
    call = call_of(node)
    if call is None:
        return None
    name, args = call
    text = node.sql(dialect="sqlite")
    if name in ("json_extract", "->>"):
        raise NotSupportedError(f"{text}: its storage class is the JSON value's, known only per row; "
                                "supported as a result column, not inside an expression yet")
    if name in ("json_quote", "json_array", "json_object"):
        return _build(expr, name, args, text)
    if name in _EDITS:
        return _edit(expr, name, args, text)
    if not args:
        raise NotSupportedError(f"{text}: wrong number of arguments")
    doc = _document(expr, args[0], text)
    if name == "json_valid":
        if len(args) != 1:
            raise NotSupportedError(f"{text}: json_valid() with flags is not supported yet")
        return f"sqlmite.json_valid({_text_of(expr, args[0], text)})"
    if name == "json":
        _count(args, 1, 1, text)
        return f"sqlmite.json_min({doc})"
    if name == "json_extract*":
        parts = [f"coalesce(sqlmite.json_min({_at(doc, p, False, text)}), 'null')" for p in args[1:]]
        joined = " || ',' || ".join(parts)
        return f"(CASE WHEN ({doc}) IS NULL THEN NULL ELSE '[' || {joined} || ']' END)"
    if name == "->":
        _count(args, 2, 2, text)
        return f"sqlmite.json_min({_at(doc, args[1], True, text)})"
    _count(args, 1, 2, text)
    found = _at(doc, args[1], False, text) if len(args) == 2 else doc
    return f"sqlmite.json_kind({found})" if name == "json_type" else f"sqlmite.json_length({found})"


def tagged_sql(expr: QueryExpression, node: exp.Expression) -> str:
    """``json_extract(x, p)`` / ``x ->> p`` as a jsonb tag (``["i", 1]``, ``["t", "a"]``...), the
    form the data mapper's overflow values have, so the reader gives each row's own class."""
    while isinstance(node, (exp.Paren, exp.Collate)):  # a collation does not change the value
        node = node.this
    if isinstance(node, exp.Column):  # json_each's key, value, atom: tagged already
        source, ref, _ = expr.resolve(node)
        return f"{source.alias}.{quote_ident(ref.pg_name)}"
    call = call_of(node)
    assert call is not None and FUNCTIONS[call[0]] is None
    name, args = call
    text = node.sql(dialect="sqlite")
    _count(args, 2, 2, text)
    return f"sqlmite.json_value({_at(_document(expr, args[0], text), args[1], name == '->>', text)})"


def compare_sql(expr: QueryExpression, left: exp.Expression, right: exp.Expression,
                render: Callable[[str, str], str]) -> str:
    """``left <op> right`` where a side is json_extract's per-row value, as SQLite compares: that
    value has no affinity, so nothing is converted when the other side has none either (a
    literal, a parameter, another expression); numbers before text, integers and reals exactly,
    text bytewise. A column or CAST on the other side would convert it first: refused."""
    text = f"{left.sql(dialect='sqlite')} vs {right.sql(dialect='sqlite')}"
    if "DISTINCT" in render("a", "b"):
        raise NotSupportedError(f"{text}: IS / IS NOT with a JSON value: not supported yet")
    if expr.varies(_bare(left)):
        tagged, other, flipped = left, right, False
    elif expr.varies(_bare(right)):
        tagged, other, flipped = right, left, True
    else:
        raise NotSupportedError(f"{text}: a JSON value under a collation: not supported yet")
    cmp = _compare_one(expr, _bare(tagged), other, text)
    return render("0", cmp) if flipped else render(cmp, "0")


def in_list_sql(expr: QueryExpression, node: exp.In) -> str:
    """``json_extract(...) IN (a, b)``: equal to one of them, compared as ``compare_sql`` does."""
    text = node.sql(dialect="sqlite")
    tests = [f"{_compare_one(expr, _bare(node.this), item, text)} = 0" for item in node.expressions]
    return "(" + " OR ".join(tests) + ")"


def is_null_sql(expr: QueryExpression, node: exp.Expression) -> str:
    return f"({tagged_sql(expr, _bare(node))}) IS NULL"


def _compare_one(expr: QueryExpression, tagged: exp.Expression, other: exp.Expression, text: str) -> str:
    """-1/0/1 (NULL with a NULL) comparing the per-row value ``tagged`` with ``other``."""
    value = tagged_sql(expr, tagged)
    plain_column = isinstance(_bare(other), exp.Column) and not expr.varies(other)
    if any(isinstance(n, exp.Collate) for n in (tagged, other)) or plain_column or isinstance(_bare(other), exp.Cast) \
            or isinstance(other.unnest(), exp.Subquery):
        raise NotSupportedError(f"{text}: a JSON value compared with a column, a CAST, a subquery or under a "
                                "collation (SQLite would convert or fold it first): not supported yet")
    if expr.sqlite_class(other) == "REAL":
        return f"sqlmite.tag_real_cmp({value}, ({expr._emit(other)})::float8)"
    return f"sqlmite.tag_cmp({value}, {tag_of(expr, other, text)})"


def tag_of(expr: QueryExpression, node: exp.Expression, text: str) -> str:
    """``node`` as a jsonb tag of its storage class (``["i", 1]``, ``["t", "a"]``, ``["b", hex]``),
    NULL for NULL: how a value whose class is known only per row travels inside PostgreSQL."""
    bare = _bare(node)
    if expr.varies(bare):
        return tagged_sql(expr, bare)
    kind = expr.sqlite_class(node)
    sql = expr._emit(node)
    tag = {"INTEGER": f"jsonb_build_array('i', ({sql})::bigint)", "TEXT": f"jsonb_build_array('t', ({sql})::text)",
           "BLOB": f"jsonb_build_array('b', encode({sql}, 'hex'))"}.get(kind or "")
    if kind == "NULL":
        return "NULL::jsonb"
    if tag is None:
        raise NotSupportedError(f"{text}: a value that is a real (SQLite's own digits) or whose storage class varies: "
                                "not supported yet")
    return f"(CASE WHEN ({sql}) IS NULL THEN NULL ELSE {tag} END)"


def _bare(node: exp.Expression) -> exp.Expression:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


EACH_COLUMNS = ["key", "value", "type", "atom", "id", "parent", "fullkey", "path"]


def table_function(expr: QueryExpression, call: exp.Anonymous, name: str) -> tuple[Derived, str]:
    """``json_each(x [, p])`` / ``json_tree(x [, p])`` in FROM: a source whose ``key``, ``value``
    and ``atom`` hold values of any class (tagged), and the PostgreSQL FROM text (a function in
    FROM may read the FROM items before it, as SQLite's table-valued functions do). ``id`` and
    ``parent`` are SQLite's offsets into its binary JSON: using them is refused."""
    function = call.name.lower()
    text = call.sql(dialect="sqlite")
    args = list(call.expressions)
    _count(args, 1, 2, text)
    doc = _document(expr, args[0], text)
    base, top = "'$'", "NULL::jsonb"
    if len(args) == 2:
        steps = path_steps(args[1], False)
        if steps is None:
            doc, base = "NULL::json", "'$'"
        else:
            if steps and steps[-1].startswith("k"):
                top = f"jsonb_build_array('t', {quote_literal(steps[-1][1:])}::text)"
            elif steps and steps[-1].startswith("i"):
                top = f"jsonb_build_array('i', {int(steps[-1][1:])})"
            elif steps and function == "json_tree":
                raise NotSupportedError(f"{text}: json_tree at a path ending in [#-N]: not supported yet")
            doc = _at(doc, args[1], False, text)
            literal = args[1]
            base = quote_literal(literal.this if isinstance(literal, exp.Literal) else str(sqlite_eval(
                literal.sql(dialect="sqlite"))))
    tagged = {"key", "value", "atom"}
    refs = {c: ColumnRef(f"c{i}", Affinity.BLOB, "BINARY", None if c in tagged else PgType.TEXT, c in tagged)
            for i, c in enumerate(EACH_COLUMNS) if c not in ("id", "parent")}
    sql = f"sqlmite.json_each_rows({doc}, {base}, {'true' if function == 'json_tree' else 'false'}, {top})"
    columns = ", ".join(f'"{refs[c].pg_name}"' for c in EACH_COLUMNS if c in refs)
    return Derived(name, sql, refs, EACH_COLUMNS), columns


def aggregate_json(expr: QueryExpression, node: exp.Expression, over: str,
                   sort_key: Callable[[QueryExpression, exp.Expression, bool], str]) -> str | None:
    """json_group_array(v ORDER BY ...) and json_group_object(k, v ORDER BY ...) (``sort_key``:
    how ``aggregates.py`` orders an aggregate's inputs)."""
    if not isinstance(node, (exp.JSONArrayAgg, exp.JSONObjectAgg)):
        return None
    text = node.sql(dialect="sqlite")
    last = node.this if isinstance(node, exp.JSONArrayAgg) else (node.expressions or [None])[-1]
    if not isinstance(last, exp.Order) or over or isinstance(last.this, exp.Distinct):
        raise NotSupportedError(f"{text}: without ORDER BY (SQLite's order is its scan order), with DISTINCT, or as "
                                "a window function: not supported yet")
    keys = ", ".join(sort_key(expr, o.this, bool(o.args.get("desc"))) for o in last.expressions)
    value = _value(expr, last.this, text)
    if isinstance(node, exp.JSONArrayAgg):
        return f"('[' || coalesce(string_agg({value}, ',' ORDER BY {keys}), '') || ']')"
    if len(node.expressions) != 2:
        raise NotSupportedError(f"{text}: wrong number of arguments")
    label = _label(expr, node.expressions[0], text, skip_null=True)
    # A NULL label makes the member NULL, which string_agg skips, as SQLite skips it.
    return f"('{{' || coalesce(string_agg({label} || ':' || {value}, ',' ORDER BY {keys}), '') || '}}')"


def is_json_aggregate(node: exp.Expression) -> bool:
    return isinstance(node, (exp.JSONArrayAgg, exp.JSONObjectAgg))


def _build(expr: QueryExpression, name: str, args: list[exp.Expression], text: str) -> str:
    if name == "json_quote":
        _count(args, 1, 1, text)
        return _value(expr, args[0], text)
    if name == "json_array":
        if not args:
            return "'[]'"
        return "('[' || " + " || ',' || ".join(_value(expr, a, text) for a in args) + " || ']')"
    if len(args) % 2:
        raise NotSupportedError(f"{text}: json_object() needs an even number of arguments")
    if not args:
        return "'{}'"
    members = [f"{_label(expr, k, text)} || ':' || {_value(expr, v, text)}" for k, v in zip(args[::2], args[1::2])]
    return "('{' || " + " || ',' || ".join(members) + " || '}')"


def _edit(expr: QueryExpression, name: str, args: list[exp.Expression], text: str) -> str:
    """json_set/insert/replace(x, p, v, ...) and json_remove(x, p, ...): each edit in turn on the
    text the previous one left (sqlmite.json_edit), as SQLite applies them left to right."""
    mode = _EDITS[name]
    pairs = [(p, None) for p in args[1:]] if mode == "remove" else list(zip(args[1::2], args[2::2]))
    if not pairs or (mode != "remove" and len(args) % 2 == 0):
        raise NotSupportedError(f"{text}: wrong number of arguments")
    sql = f"sqlmite.json_min({_document(expr, args[0], text)})"
    for path, value in pairs:
        steps = path_steps(path, False)
        if steps is None:  # a NULL path: json_remove's answer is NULL; the others skip it
            if mode == "remove":
                return "NULL::text"
            continue
        new = "NULL::text" if value is None else _value(expr, value, text)
        array = f"ARRAY[{', '.join(quote_literal(s) for s in steps)}]::text[]" if steps else "'{}'::text[]"
        sql = f"sqlmite.json_edit(({sql})::json, {array}, {new}, '{mode}')"
    return sql


def _value(expr: QueryExpression, node: exp.Expression, text: str) -> str:
    """``node`` as the JSON text SQLite's json_array()/json_object()/json_quote() make of it."""
    call = call_of(node)
    if call is not None and call[0] in _JSON_RESULTS:
        return f"coalesce({json_sql(expr, node)}, 'null')"
    if call is not None and FUNCTIONS[call[0]] is None:  # json_extract / ->>: per row, from the JSON itself
        _count(call[1], 2, 2, text)
        found = _at(_document(expr, call[1][0], text), call[1][1], call[0] == "->>", text)
        return f"sqlmite.json_quoted({found}, {'true' if call[0] == 'json_extract' else 'false'})"
    # A scalar subquery's value is plain text to SQLite (the subtype does not cross it).
    nested = (n for n in node.walk(prune=lambda n: isinstance(n, exp.Subquery)) if n is not node)
    if not isinstance(node, exp.Subquery) and any(call_of(n) is not None and call_of(n)[0] in _JSON_RESULTS
                                                  for n in nested):
        raise NotSupportedError(f"{text}: a JSON function's result inside another expression (whether SQLite keeps "
                                "it JSON depends on the expression): not supported yet")
    kind = expr.sqlite_class(node)
    sql = expr._emit(node)
    if kind == "TEXT":
        return f"coalesce(to_json(({sql})::text)::text, 'null')"
    if kind == "INTEGER":
        return f"coalesce(({sql})::text, 'null')"
    if kind == "NULL":
        return "'null'"
    raise NotSupportedError(f"{text}: a value that is not always text or an integer (SQLite writes reals with its "
                            "own digits and fails on blobs): not supported yet")


def _label(expr: QueryExpression, node: exp.Expression, text: str, skip_null: bool = False) -> str:
    if expr.sqlite_class(node) not in ("TEXT", "NULL"):
        raise NotSupportedError(f"{text}: a JSON object label that is not always text (SQLite fails on others)")
    sql = f"to_json(({expr._emit(node)})::text)::text"
    if skip_null:
        return sql
    return f"coalesce({sql}, sqlmite.sqlite_error('json_object() labels must be TEXT')::text)"


def _text_of(expr: QueryExpression, node: exp.Expression, text: str) -> str:
    kind = expr.sqlite_class(node)
    if kind in ("TEXT", "NULL"):
        return f"({expr._emit(node)})::text"
    if kind == "INTEGER":  # SQLite reads a number's text as JSON
        return f"({expr._emit(node)})::text"
    raise NotSupportedError(f"{text}: a JSON document that is not always text or an integer (reals have SQLite's own "
                            "text; blobs are SQLite's binary JSON): not supported")


def _document(expr: QueryExpression, node: exp.Expression, text: str) -> str:
    return f"sqlmite.json_doc({_text_of(expr, node, text)})"


def _count(args: list[exp.Expression], low: int, high: int, text: str) -> None:
    if not low <= len(args) <= high:
        raise NotSupportedError(f"{text}: wrong number of arguments")


def _at(doc: str, node: exp.Expression, abbreviated: bool, text: str) -> str:
    steps = path_steps(node, abbreviated)
    if steps is None:
        return "NULL::json"
    if not steps:
        return doc
    return f"sqlmite.json_at({doc}, ARRAY[{', '.join(quote_literal(s) for s in steps)}]::text[])"


def path_steps(node: exp.Expression, abbreviated: bool) -> list[str] | None:
    """A literal JSON path as ``json_at``'s steps (None for a NULL path, whose answer is NULL).

    ``->`` and ``->>`` also take SQLite's abbreviations: an integer N is ``$[N]`` (``$[#-N]`` when
    negative), a label of
    letters, digits and ``_`` is ``$.label``, ``[...]`` is ``$[...]``, any other text ``$."text"``."""
    if isinstance(node, exp.Null):
        return None
    if abbreviated and isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal) and not node.this.is_string:
        back = int(node.this.this)  # ``-> -1``: the last element, as [#-1]
        return [f"#{back}"] if back else ["i0"]
    if not isinstance(node, exp.Literal) and node.find(exp.Column, exp.Subquery, exp.Select) is None:
        value = sqlite_eval(node.sql(dialect="sqlite"))  # a constant expression: SQLite computes it
        if value is None:
            return None
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            node = exp.Literal.string(value) if isinstance(value, str) else exp.Literal.number(value)
    if not isinstance(node, exp.Literal):
        raise NotSupportedError(f"JSON path {node.sql(dialect='sqlite')}: only a literal path")
    path = node.this
    if abbreviated and not node.is_string:
        path = f"$[{path}]"
    elif abbreviated and not path.startswith("$"):
        if _LABEL.fullmatch(path):
            path = f"$.{path}"
        elif path.startswith("[") and len(path) >= 3 and path.endswith("]"):
            path = f"${path}"
        else:
            path = f'$."{path}"'
    elif not node.is_string:
        raise NotSupportedError(f"JSON path {path}: only a text path")
    steps: list[str] = []
    at = 1 if path.startswith("$") else 0
    while at and at < len(path):
        found = _STEP.match(path, at)
        if found is None:
            break
        if found["index"] is not None:
            steps.append(f"i{int(found['index'])}")
        elif found.group(0).startswith("["):
            steps.append(f"#{int(found['back'] or 0)}")
        else:
            steps.append("k" + (found["quoted"] if found["quoted"] is not None else found["key"]))
        at = found.end()
    if not at or at != len(path):
        raise NotSupportedError(f"JSON path {path!r}: only paths of $, .key, .\"key\", [N] and [#-N]")
    return steps
