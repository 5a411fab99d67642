"""SQLite expressions inside a schema (DEFAULT, CHECK, index keys, partial-index WHERE) as PostgreSQL.

A whitelist, not a transpiler: each construct below is emitted only in a form whose PostgreSQL
meaning equals SQLite's on the values the column can hold natively; anything else raises
``UnsupportedSchemaError`` naming the object, so a schema is never silently different.

Construct                       PostgreSQL form                          why
------------------------------  ---------------------------------------  ------------------------------------
column                          "pg_name"                                names may be truncated for PostgreSQL
integer / real / string / NULL  literal; reals as '<repr>'::float8       SQLite reals are doubles
TRUE / FALSE                    1 / 0                                    SQLite booleans are integers
X'..'                           '\\x..'::bytea                           not a bit string
=, <>, <, <=, >, >=, IN, BETWEEN same, literals converted by affinity    SQLite applies column affinity first
  under NOCASE / RTRIM          both sides lower(x) / rtrim(x, ' ')      ASCII-only folding, as SQLite
IS [NOT] NULL, IS [NOT] x        IS [NOT] NULL, IS [NOT] DISTINCT FROM
AND, OR, NOT                     same; bare numeric operands become x <> 0 SQLite truthiness
+, -, *                          (x)::numeric op y on integers           SQLite overflows to REAL, bigint would raise
unary -                          same
/, %                             x / NULLIF(y, 0)                        SQLite gives NULL for division by zero
lower, upper                     lower(x COLLATE "C")                    ASCII only, as SQLite
length, abs, coalesce/ifnull     same (length only on text or blob)
trim, ltrim, rtrim               btrim/ltrim/rtrim                       same character-set semantics
CURRENT_TIMESTAMP, datetime('now') to_char(statement_timestamp() AT TIME ZONE 'UTC', ...)
CURRENT_DATE / date('now'), CURRENT_TIME / time('now')  likewise           SQLite's text formats, UTC
COLLATE NOCASE / RTRIM / BINARY  lower(x) / rtrim(x, ' ') / x             in index keys
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import apsw
import sqlglot
from sqlglot import exp

from sqlmite.errors import UnsupportedSchemaError
from sqlmite.mapping.affinity import Affinity
from sqlmite.mapping.values import AFFINITY_DEFAULT, PgType, fits
from sqlmite.sqlite.dialect import DIALECT

NUMERIC_AFFINITIES = (Affinity.INTEGER, Affinity.REAL, Affinity.NUMERIC)
TIME_FORMATS = {
    "timestamp": "YYYY-MM-DD HH24:MI:SS",
    "date": "YYYY-MM-DD",
    "time": "HH24:MI:SS",
}
COMPARISONS: dict[type[exp.Expression], str] = {
    exp.EQ: "=", exp.NEQ: "<>", exp.LT: "<", exp.LTE: "<=", exp.GT: ">", exp.GTE: ">=",
}
ARITHMETIC: dict[type[exp.Expression], str] = {exp.Add: "+", exp.Sub: "-", exp.Mul: "*"}
PREDICATES = (exp.EQ, exp.NEQ, exp.LT, exp.LTE, exp.GT, exp.GTE, exp.In, exp.Between, exp.Is, exp.And,
              exp.Or, exp.Not, exp.NullSafeEQ, exp.NullSafeNEQ, exp.Boolean)


@dataclass(frozen=True)
class ColumnRef:
    """What an expression may know about a column it names (``pg_type``: its native type, when
    the data chose one other than the affinity's)."""

    pg_name: str
    affinity: Affinity
    collation: str = "BINARY"
    pg_type: PgType | None = None
    tagged: bool = False  # values of any class, each tagged with it (jsonb), e.g. json_each's value


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def sql_literal(value: float | str | bytes | None, pg_type: PgType | None = None) -> str:
    """A PostgreSQL literal for a SQLite value (reals as float8, or exact numeric for a numeric
    column: float8 to numeric keeps only 15 digits; blobs as bytea)."""
    if value is None:
        return "NULL"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{quote_literal(repr(value))}::{'numeric' if pg_type is PgType.NUMERIC else 'float8'}"
    if isinstance(value, str):
        return quote_literal(value)
    return f"'\\x{bytes(value).hex()}'::bytea"


_EVALUATOR: apsw.Connection | None = None


def evaluator() -> apsw.Connection:
    """A private in-memory SQLite, so literal and affinity rules are SQLite's own, not imitated."""
    global _EVALUATOR
    if _EVALUATOR is None:
        _EVALUATOR = apsw.Connection(":memory:")
    return _EVALUATOR


def sqlite_eval(sql: str) -> int | float | str | bytes | None:
    """Evaluate a constant SQLite expression in SQLite itself."""
    return evaluator().execute(f"SELECT {sql}").fetchall()[0][0]


class SchemaExpression:
    """Translates one SQLite expression of one schema object, with its table's columns in scope."""

    def __init__(self, obj: str, columns: Mapping[str, ColumnRef]) -> None:
        self.obj = obj
        self.columns = {name.lower(): ref for name, ref in columns.items()}

    def parse(self, sql: str) -> exp.Expression:
        try:
            return sqlglot.parse_one(sql, read=DIALECT)
        except sqlglot.errors.ParseError as exc:
            raise self.unsupported(f"cannot parse {sql!r}: {exc.errors[0]['description']}") from None

    def unsupported(self, what: str) -> UnsupportedSchemaError:
        return UnsupportedSchemaError(self.obj, what)

    def predicate(self, sql: str) -> str:
        """A boolean context: CHECK and partial-index WHERE."""
        return self._bool(self.parse(sql))

    def value(self, sql: str) -> str:
        """A value context: index keys and DEFAULT expressions."""
        return self._emit(self.parse(sql))

    # -- helpers ---------------------------------------------------------------------------
    def _column(self, node: exp.Column) -> ColumnRef:
        if node.table:
            raise self.unsupported(f"qualified column {node.sql('sqlite')} is not allowed here")
        ref = self.columns.get(node.name.lower())
        if ref is None:
            raise self.unsupported(f"unknown column {node.name!r}")
        return ref

    def _affinity(self, node: exp.Expression) -> Affinity | None:
        node = _unparen(node)
        if isinstance(node, exp.Column):
            return self._column(node).affinity
        return None

    def _is_real(self, node: exp.Expression) -> bool:
        inner = _unparen(node)
        if isinstance(inner, exp.Literal) and not inner.is_string:
            return isinstance(sqlite_eval(inner.sql("sqlite")), float)
        return self._affinity(inner) is Affinity.REAL

    def _collation(self, node: exp.Expression, explicit_only: bool = False) -> str | None:
        """An operand's collation: explicit, or its column's (BINARY included); None for others.
        A CAST keeps its operand's collation, as in SQLite (sqlite3ExprCollSeq looks through it)."""
        node = _unparen(node)
        while isinstance(node, exp.Cast):
            node = _unparen(node.this)
        if isinstance(node, exp.Collate):
            return node.expression.name.upper()
        if isinstance(node, exp.Column) and not explicit_only:
            return self._column(node).collation
        return None

    def _bool(self, node: exp.Expression) -> str:
        inner = _unparen(node)
        if isinstance(inner, PREDICATES):
            return self._emit(node)
        if isinstance(inner, exp.Literal) and not inner.is_string or self._affinity(inner) in NUMERIC_AFFINITIES:
            return f"({self._emit(node)} <> 0)"
        raise self.unsupported(f"{node.sql('sqlite')} used as a condition (SQLite's truthiness of non-numbers)")

    def _operand(self, node: exp.Expression, other: exp.Expression) -> str:
        """Emit a comparison operand; a literal compared with a column first takes the column's
        affinity, as SQLite applies it (``year > '1999'`` compares with the integer 1999)."""
        affinity = self._affinity(other)
        literal = _unparen(node)
        is_literal = isinstance(literal, exp.Literal) or (
            isinstance(literal, exp.Neg) and isinstance(literal.this, exp.Literal))
        if affinity is None or not is_literal or self._affinity(node) is not None:
            return self._emit(node)
        value = default_value(affinity.value, literal.sql("sqlite"))
        if affinity in NUMERIC_AFFINITIES and isinstance(value, str):
            raise self.unsupported(f"comparison of a numeric column with the text {literal.sql('sqlite')}")
        pg_type = self._pg_type(other)
        if pg_type is not None and not fits(pg_type, value):
            raise self.unsupported(f"comparison of a column stored as {pg_type.base} with {literal.sql('sqlite')}")
        return sql_literal(value)

    def _column_ref(self, node: exp.Expression) -> ColumnRef | None:
        inner = _unparen(_strip_collate(_unparen(node)))
        return self._column(inner) if isinstance(inner, exp.Column) else None

    def _pg_type(self, node: exp.Expression) -> PgType | None:
        """A column's native type where the data chose it (else the affinity's, which needs no check)."""
        ref = self._column_ref(node)
        return ref.pg_type if ref is not None else None

    def _kind(self, node: exp.Expression) -> str | None:
        """``number``, ``text`` or ``bytes`` for a column: PostgreSQL compares only within one kind."""
        ref = self._column_ref(node)
        if ref is None:
            return None
        pg_type = ref.pg_type or AFFINITY_DEFAULT[ref.affinity]
        return {PgType.TEXT: "text", PgType.BYTEA: "bytes"}.get(pg_type, "number")

    def _fold(self, sql: str, collation: str) -> str:
        if collation == "NOCASE":
            return f"lower(({sql}) COLLATE \"C\")"
        if collation == "RTRIM":
            return f"rtrim({sql}, ' ')"
        if collation == "BINARY":
            return sql
        raise self.unsupported(f"collation {collation} has no PostgreSQL equivalent")

    def _compare(self, left: exp.Expression, right: exp.Expression, render: Callable[[str, str], str]) -> str:
        # SQLite (datatype3 7.1): an explicit COLLATE first, left before right; then a column's own
        # collation (a column always has one, BINARY included), left before right.
        collation = (self._collation(left, True) or self._collation(right, True)
                     or self._collation(left) or self._collation(right) or "BINARY")
        kinds = [self._kind(n) for n in (left, right)]
        if None not in kinds and kinds[0] != kinds[1]:
            raise self.unsupported("a comparison of columns PostgreSQL stores as text, bytes and numbers apart")
        a = self._fold(self._operand(_strip_collate(left), right), collation)
        b = self._fold(self._operand(_strip_collate(right), left), collation)
        return render(a, b)

    # -- the whitelist ---------------------------------------------------------------------
    def _emit(self, node: exp.Expression) -> str:
        if isinstance(node, exp.Paren):
            return f"({self._emit(node.this)})"
        if isinstance(node, exp.Column):
            return quote_ident(self._column(node).pg_name)
        if isinstance(node, exp.Literal):
            return sql_literal(sqlite_eval(node.sql("sqlite")))
        if isinstance(node, exp.Null):
            return "NULL"
        if isinstance(node, exp.Boolean):
            return "1" if node.this else "0"
        if isinstance(node, exp.HexString):
            return sql_literal(bytes.fromhex(node.this))
        if isinstance(node, exp.Neg):
            return f"-({self._emit(node.this)})"
        if type(node) in COMPARISONS:
            op = COMPARISONS[type(node)]
            return self._compare(node.this, node.expression, lambda a, b: f"{a} {op} {b}")
        if isinstance(node, (exp.NullSafeEQ, exp.NullSafeNEQ)):
            op = "IS NOT DISTINCT FROM" if isinstance(node, exp.NullSafeEQ) else "IS DISTINCT FROM"
            return self._compare(node.this, node.expression, lambda a, b: f"{a} {op} {b}")
        if isinstance(node, exp.Is) and isinstance(node.expression, exp.Null):
            return f"{self._emit(node.this)} IS NULL"
        if isinstance(node, exp.In) and node.expressions and not node.args.get("query"):
            collation = self._collation(node.this) or "BINARY"
            left = self._fold(self._emit(_strip_collate(node.this)), collation)
            items = ", ".join(self._fold(self._operand(e, node.this), collation) for e in node.expressions)
            return f"{left} IN ({items})"
        if isinstance(node, exp.Between):
            collation = self._collation(node.this) or "BINARY"
            parts = [self._fold(self._operand(e, node.this), collation)
                     for e in (node.args["low"], node.args["high"])]
            return f"{self._fold(self._emit(_strip_collate(node.this)), collation)} BETWEEN {parts[0]} AND {parts[1]}"
        if isinstance(node, exp.And):
            return f"{self._bool(node.this)} AND {self._bool(node.expression)}"
        if isinstance(node, exp.Or):
            return f"{self._bool(node.this)} OR {self._bool(node.expression)}"
        if isinstance(node, exp.Not):
            return f"NOT ({self._bool(node.this)})"
        if type(node) in ARITHMETIC:
            left, right = self._emit(node.this), self._emit(node.expression)
            if not (self._is_real(node.this) or self._is_real(node.expression)):
                # SQLite turns an overflowing integer result into a REAL; bigint would raise.
                left = f"({left})::numeric"
            return f"{left} {ARITHMETIC[type(node)]} {right}"
        if isinstance(node, (exp.Div, exp.Mod)):
            if Affinity.NUMERIC in (self._affinity(node.this), self._affinity(node.expression)):
                # numeric divides exactly; SQLite divides the integers a NUMERIC column holds as integers
                raise self.unsupported("division of a NUMERIC column")
            op = "/" if isinstance(node, exp.Div) else "%"
            return f"{self._emit(node.this)} {op} NULLIF({self._emit(node.expression)}, 0)"
        if isinstance(node, (exp.Lower, exp.Upper)):
            fn = "lower" if isinstance(node, exp.Lower) else "upper"
            return f"{fn}(({self._emit(node.this)}) COLLATE \"C\")"
        if isinstance(node, exp.Length):
            if self._affinity(node.this) not in (Affinity.TEXT, Affinity.BLOB) and not (
                isinstance(node.this, exp.Literal) and node.this.is_string
            ):
                raise self.unsupported("length() of a number (SQLite measures its text form)")
            return f"length({self._emit(node.this)})"
        if isinstance(node, exp.Abs):
            return f"abs({self._emit(node.this)})"
        if isinstance(node, exp.Coalesce):
            args = [node.this, *node.expressions]
            return f"coalesce({', '.join(self._emit(a) for a in args)})"
        if isinstance(node, exp.Trim):
            return self._trim(node)
        if isinstance(node, exp.Collate):
            return self._fold(self._emit(node.this), node.expression.name.upper())
        if isinstance(node, (exp.CurrentTimestamp, exp.CurrentDate, exp.CurrentTime)):
            kind = {exp.CurrentTimestamp: "timestamp", exp.CurrentDate: "date", exp.CurrentTime: "time"}[type(node)]
            return _now_text(kind)
        now = _now_call(node)
        if now is not None:
            return _now_text(now)
        raise self.unsupported(f"{node.sql('sqlite')!r} has no PostgreSQL form with SQLite's meaning")

    def _trim(self, node: exp.Trim) -> str:
        position = (node.args.get("position") or "BOTH").upper()
        fn = {"BOTH": "btrim", "LEADING": "ltrim", "TRAILING": "rtrim"}[position]
        chars = node.expression
        if chars is None:
            return f"{fn}({self._emit(node.this)}, ' ')"
        return f"{fn}({self._emit(node.this)}, {self._emit(chars)})"


def _unparen(node: exp.Expression) -> exp.Expression:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


def _strip_collate(node: exp.Expression) -> exp.Expression:
    inner = _unparen(node)
    return inner.this if isinstance(inner, exp.Collate) else node


def _now_call(node: exp.Expression) -> str | None:
    """``datetime('now')``, ``date('now')``, ``time('now')`` (no modifiers) → the kind of time."""
    name = None
    args: list[exp.Expression] = []
    if isinstance(node, exp.Anonymous):
        name, args = node.name.lower(), list(node.expressions)
    elif isinstance(node, exp.Date):  # sqlglot parses date(...) itself; time() and datetime() stay anonymous
        name = "date"
        args = [a for a in [node.this, *node.expressions] if a is not None]
    kinds = {"datetime": "timestamp", "date": "date", "time": "time"}
    if name in kinds and len(args) == 1 and isinstance(args[0], exp.Literal) and args[0].this.lower() == "now":
        return kinds[name]
    return None


def _now_text(kind: str) -> str:
    """SQLite's current time text: UTC, to the second, fixed formats."""
    return f"to_char(statement_timestamp() AT TIME ZONE 'UTC', '{TIME_FORMATS[kind]}')"


def default_value(declared_type: str, sql: str, *, strict: bool = False) -> int | float | str | bytes | None:
    """The value SQLite itself stores for a constant ``DEFAULT sql`` in a column of that type.

    Asking SQLite applies its literal rules and the column's affinity exactly (``DEFAULT '0'``
    in an INTEGER column is the integer 0, ``DEFAULT 1`` in a TEXT column is the text '1').
    """
    conn = evaluator()
    options = " STRICT" if strict else ""
    conn.execute(f"CREATE TEMP TABLE sqlmite_default(x {declared_type} DEFAULT {sql}){options}")
    try:
        conn.execute("INSERT INTO sqlmite_default DEFAULT VALUES")
        return conn.execute("SELECT x FROM sqlmite_default").fetchall()[0][0]
    finally:
        conn.execute("DROP TABLE temp.sqlmite_default")


def is_constant(node: exp.Expression) -> bool:
    """True when a DEFAULT needs no evaluation at insert time (no time functions, no calls)."""
    return not any(isinstance(n, (exp.Func, exp.CurrentTimestamp, exp.CurrentDate, exp.CurrentTime))
                   for n in node.walk())


def is_current_time(node: exp.Expression) -> bool:
    """True for CURRENT_TIMESTAMP/DATE/TIME and datetime/date/time('now'): SQLite text values."""
    return isinstance(node, (exp.CurrentTimestamp, exp.CurrentDate, exp.CurrentTime)) or _now_call(node) is not None
