"""SQLite's type affinity: the five rules of sqlite.org/datatype3.html section 3.1, and STRICT types.

Affinity, not the declared type, decides how SQLite stores a value, so it is what the data mapper
keys on. The declared type itself is kept verbatim in sqlmite's metadata.
"""

from __future__ import annotations

from enum import Enum


class Affinity(str, Enum):
    INTEGER = "INTEGER"
    TEXT = "TEXT"
    BLOB = "BLOB"  # also "no affinity": typeless columns and STRICT ANY keep values as given
    REAL = "REAL"
    NUMERIC = "NUMERIC"


class StorageClass(str, Enum):
    NULL = "NULL"
    INTEGER = "INTEGER"
    REAL = "REAL"
    TEXT = "TEXT"
    BLOB = "BLOB"


STRICT_TYPES = {"INT": Affinity.INTEGER, "INTEGER": Affinity.INTEGER, "REAL": Affinity.REAL,
                "TEXT": Affinity.TEXT, "BLOB": Affinity.BLOB, "ANY": Affinity.BLOB}


def affinity_of(declared_type: str | None, *, strict: bool = False) -> Affinity:
    """The affinity SQLite gives a column declared as ``declared_type``.

    Rules apply in order and match substrings case-insensitively, which is why ``CHARINT`` is
    INTEGER, ``FLOATING POINT`` is INTEGER (it contains "INT") and ``STRING`` is NUMERIC.
    In a STRICT table ``ANY`` means no affinity (values are kept exactly as given).
    """
    upper = (declared_type or "").upper()
    if strict and upper.strip() in STRICT_TYPES:
        return STRICT_TYPES[upper.strip()]
    if "INT" in upper:
        return Affinity.INTEGER
    if "CHAR" in upper or "CLOB" in upper or "TEXT" in upper:
        return Affinity.TEXT
    if "BLOB" in upper or not upper.strip():
        return Affinity.BLOB
    if "REAL" in upper or "FLOA" in upper or "DOUB" in upper:
        return Affinity.REAL
    return Affinity.NUMERIC


def storage_class_of(value: object) -> StorageClass:
    """The SQLite storage class of a Python value as SQLite bindings return them."""
    if value is None:
        return StorageClass.NULL
    if isinstance(value, bool):
        raise TypeError("SQLite has no boolean storage class; booleans are integers 0/1")
    if isinstance(value, int):
        return StorageClass.INTEGER
    if isinstance(value, float):
        return StorageClass.REAL
    if isinstance(value, str):
        return StorageClass.TEXT
    if isinstance(value, (bytes, bytearray, memoryview)):
        return StorageClass.BLOB
    raise TypeError(f"not a SQLite value: {type(value).__name__}")
