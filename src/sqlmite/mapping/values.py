"""The data mapper: the one place that knows how SQLite values and PostgreSQL values correspond.

Every column gets a *native* PostgreSQL type (``bigint``, ``double precision``, ``numeric``,
``text COLLATE "C"``, ``bytea``). A value goes into the native column when that type gives it
back identical, storage class included. Anything else (text in an INTEGER column, a BLOB in a
typeless column, a REAL that a ``numeric`` column would hand back as an INTEGER, text with
U+0000) is a *stray*: the native column holds NULL and the value goes, tagged with its storage
class, into the row's overflow column (``jsonb``, keyed by column name). Nothing is coerced and
nothing is dropped; what cannot be stored at all raises ``FidelityError``.

Overflow tags: ``["i", 123]`` integer, ``["r", "1.5"]`` real (Python ``repr``; keeps -0.0 and
infinities), ``["t", "text"]`` text, ``["tx", "hex"]`` text holding U+0000 (UTF-8 bytes in hex;
jsonb cannot hold U+0000), ``["b", "hex"]`` blob.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any

from psycopg.types.json import Jsonb

from sqlmite.errors import FidelityError
from sqlmite.mapping.affinity import Affinity, StorageClass, storage_class_of

SqliteValue = int | float | str | bytes | None
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


class PgType(str, Enum):
    """Native column types, with the SQL that declares them."""

    BIGINT = "bigint"
    DOUBLE = "double precision"
    NUMERIC = "numeric"
    TEXT = 'text COLLATE "C"'  # bytewise comparison, as SQLite's BINARY collation
    BYTEA = "bytea"

    @property
    def base(self) -> str:
        """The type without collation, for casts and catalog comparisons."""
        return self.value.split(" COLLATE")[0]


AFFINITY_DEFAULT = {
    Affinity.INTEGER: PgType.BIGINT,
    Affinity.REAL: PgType.DOUBLE,
    Affinity.TEXT: PgType.TEXT,
    Affinity.BLOB: PgType.BYTEA,
    Affinity.NUMERIC: PgType.NUMERIC,
}
# The one native type that holds every value of a storage class, for choosing by observed data.
CLASS_HOME = {
    StorageClass.INTEGER: PgType.BIGINT,
    StorageClass.REAL: PgType.DOUBLE,
    StorageClass.TEXT: PgType.TEXT,
    StorageClass.BLOB: PgType.BYTEA,
}


# Storage classes whose values a native type holds (for NUMERIC: all integers, most reals).
NATIVE_CLASSES = {
    PgType.BIGINT: {StorageClass.INTEGER},
    PgType.DOUBLE: {StorageClass.REAL},
    PgType.NUMERIC: {StorageClass.INTEGER, StorageClass.REAL},
    PgType.TEXT: {StorageClass.TEXT},
    PgType.BYTEA: {StorageClass.BLOB},
}


def native_type_for(affinity: Affinity, observed: set[StorageClass] | None = None) -> PgType:
    """The native type for a column: the affinity's own, unless the data says another fits better.

    ``observed`` (the storage classes a scan found, if any) lets e.g. a ``DATETIME`` column that
    holds only text get ``text`` instead of ``numeric``, so PostgreSQL readers see its values
    natively instead of in the overflow column. Strays remain possible and lossless either way.
    """
    default = AFFINITY_DEFAULT[affinity]
    classes = (observed or set()) - {StorageClass.NULL}
    if classes <= NATIVE_CLASSES[default]:
        return default
    if len(classes) == 1:
        return CLASS_HOME[next(iter(classes))]
    if classes == {StorageClass.INTEGER, StorageClass.REAL}:
        return PgType.NUMERIC
    return default


def strays_possible(pg_type: PgType, observed: set[StorageClass]) -> bool:
    """Whether values of these classes may land in the overflow column of a ``pg_type`` column."""
    classes = observed - {StorageClass.NULL}
    if pg_type is PgType.NUMERIC and StorageClass.REAL in classes:
        return True  # integral reals would come back as integers from numeric
    return not classes <= NATIVE_CLASSES[pg_type]


def _real_is_int_like(value: float) -> bool:
    """A REAL that ``numeric`` would give back as an INTEGER (so it must be a stray there)."""
    if value != value:  # NaN never comes from SQLite; refuse it as a stray too
        return True
    if value in (float("inf"), float("-inf")):
        return False
    return value.is_integer() and INT64_MIN <= value < 2.0**63


def fits(pg_type: PgType, value: SqliteValue) -> bool:
    """True when ``value`` round-trips through a native ``pg_type`` column unchanged."""
    if value is None:
        return True
    if pg_type is PgType.BIGINT:
        return isinstance(value, int)
    if pg_type is PgType.DOUBLE:
        return isinstance(value, float) and value == value
    if pg_type is PgType.NUMERIC:
        if isinstance(value, int):
            return True
        return isinstance(value, float) and not _real_is_int_like(value)
    if pg_type is PgType.TEXT:
        return isinstance(value, str) and "\x00" not in value
    return isinstance(value, (bytes, bytearray, memoryview))


def to_native(pg_type: PgType, value: SqliteValue) -> Any:
    """The Python value psycopg should send for a value that ``fits``."""
    if pg_type is PgType.NUMERIC and isinstance(value, float):
        return Decimal(repr(value))  # shortest repr: exact round trip, "inf" included
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    return value


def from_native(pg_type: PgType, value: Any) -> SqliteValue:
    """The SQLite value for what PostgreSQL returned from a native column."""
    if value is None:
        return None
    if pg_type is PgType.NUMERIC:
        if value.is_finite() and value == value.to_integral_value() and INT64_MIN <= value <= INT64_MAX:
            return int(value)
        return float(value)
    if pg_type is PgType.BYTEA:
        return bytes(value)
    return value


def encode_stray(value: SqliteValue) -> list[Any]:
    """The tagged overflow form of a value; see the module docstring."""
    cls = storage_class_of(value)
    if cls is StorageClass.INTEGER:
        return ["i", value]
    if cls is StorageClass.REAL:
        return ["r", repr(value)]
    if cls is StorageClass.TEXT:
        assert isinstance(value, str)
        if "\x00" in value:
            return ["tx", value.encode("utf-8").hex()]
        return ["t", value]
    assert isinstance(value, (bytes, bytearray, memoryview))
    return ["b", bytes(value).hex()]


def decode_stray(tagged: Sequence[Any]) -> SqliteValue:
    tag, payload = tagged
    if tag == "i":
        return int(payload)
    if tag == "r":
        return float(payload)
    if tag == "t":
        return str(payload)
    if tag == "tx":
        return bytes.fromhex(payload).decode("utf-8")
    if tag == "b":
        return bytes.fromhex(payload)
    raise ValueError(f"unknown overflow tag {tag!r}")


@dataclass(frozen=True)
class ColumnCodec:
    """How one column's values travel: its SQLite name and its native PostgreSQL type."""

    name: str
    pg_type: PgType
    not_null: bool = False


class RowCodec:
    """Encodes SQLite rows for a table's PostgreSQL columns and decodes them back.

    A PostgreSQL row is the native column values in order, followed by the overflow ``jsonb``
    (``None`` when every value was native).
    """

    def __init__(self, table: str, columns: Sequence[ColumnCodec]) -> None:
        self.table = table
        self.columns = tuple(columns)
        # Only numeric and bytea values need converting on the way back (psycopg gives Decimal
        # and bytes-like); the rest come back as SQLite's own Python types.
        self._converting = tuple(i for i, c in enumerate(self.columns) if c.pg_type in (PgType.NUMERIC, PgType.BYTEA))

    def encode(self, row: Sequence[SqliteValue], key: object = None) -> list[Any]:
        """Native values plus overflow for one SQLite row; ``key`` names the row in errors."""
        out: list[Any] = []
        overflow: dict[str, list[Any]] | None = None
        for col, value in zip(self.columns, row, strict=True):
            if fits(col.pg_type, value):
                out.append(to_native(col.pg_type, value))
                continue
            cls = storage_class_of(value).value
            if col.not_null:
                raise FidelityError(
                    self.table, col.name, key, cls,
                    f"does not fit the NOT NULL {col.pg_type.base} column; relax it to store strays",
                )
            if isinstance(value, float) and value != value:
                raise FidelityError(self.table, col.name, key, cls, "is NaN, which SQLite never stores")
            if isinstance(value, str):
                try:
                    value.encode("utf-8")
                except UnicodeEncodeError:
                    raise FidelityError(self.table, col.name, key, cls, "is not valid Unicode") from None
            out.append(None)
            if overflow is None:
                overflow = {}
            overflow[col.name] = encode_stray(value)
        out.append(Jsonb(overflow) if overflow is not None else None)
        return out

    def decode(self, pg_row: Sequence[Any]) -> tuple[SqliteValue, ...]:
        """The SQLite row for a PostgreSQL row produced by ``encode``."""
        *values, overflow = pg_row
        for i in self._converting:
            if values[i] is not None:
                values[i] = from_native(self.columns[i].pg_type, values[i])
        if overflow:
            for i, col in enumerate(self.columns):
                if col.name in overflow:
                    values[i] = decode_stray(overflow[col.name])
        return tuple(values)
