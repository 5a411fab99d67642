"""How values cross into and out of the driver as ``sqlite3`` has them cross: adapters (the
registry, ``__adapt__``, ``__conform__``) for parameters, converters chosen by declared type or
column name (``PARSE_DECLTYPES``, ``PARSE_COLNAMES``) for results."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlmite.translate.errors import ProgrammingError

PARSE_DECLTYPES = sqlite3.PARSE_DECLTYPES
PARSE_COLNAMES = sqlite3.PARSE_COLNAMES
PrepareProtocol = sqlite3.PrepareProtocol
# The registries start with the defaults Python 3.11's sqlite3 registers (date and datetime
# adapters, "date" and "timestamp" converters); they are sqlmite's own, not sqlite3's.
adapters: dict[tuple[type, Any], Callable[[Any], Any]] = dict(sqlite3.adapters)
converters: dict[str, Callable[[bytes], Any]] = dict(sqlite3.converters)
_base_types_adapted = False  # an adapter for int, float, str or bytearray: every value is adapted
_MISSING: Any = object()


def register_adapter(kind: type, adapter: Callable[[Any], Any]) -> None:
    global _base_types_adapted
    if kind in (int, float, str, bytearray):
        _base_types_adapted = True
    adapters[(kind, PrepareProtocol)] = adapter


def register_converter(name: str, converter: Callable[[bytes], Any]) -> None:
    converters[name.upper()] = converter


def adapt(obj: Any, proto: Any = PrepareProtocol, alt: Any = _MISSING) -> Any:
    """``sqlite3.adapt``: the registry, then ``proto.__adapt__``, then ``obj.__conform__``."""
    adapter = adapters.get((type(obj), proto))
    if adapter is not None:
        return adapter(obj)
    for method, argument in ((getattr(proto, "__adapt__", None), obj), (getattr(obj, "__conform__", None), proto)):
        if method is None:
            continue
        try:
            adapted = method(argument)
        except TypeError:
            continue
        if adapted is not None:
            return adapted
    if alt is not _MISSING:
        return alt
    raise ProgrammingError("can't adapt")


def enable_callback_tracebacks(flag: bool, /) -> None:
    """Accepted for compatibility: sqlmite runs no Python callbacks inside SQL."""


def column_name(name: str) -> str:
    """PARSE_COLNAMES: a column named ``x [type]`` is described as ``x``."""
    at = name.find("[")
    if at < 0:
        return name
    return name[:at - 1] if at > 0 and name[at - 1] == " " else name[:at]


def colname_converter(name: str) -> Callable[[bytes], Any] | None:
    found = re.search(r"\[([^\]]*)\]", name)
    return converters.get(found.group(1).upper()) if found else None


def decltype_converter(decltype: str | None) -> Callable[[bytes], Any] | None:
    """PARSE_DECLTYPES: the declared type up to its first blank or parenthesis names the converter."""
    return converters.get(re.split(r"[ (]", decltype, maxsplit=1)[0].upper()) if decltype else None


_PLAIN = frozenset({int, float, str, bytearray, type(None)})  # bound as they are (sqlite3's _need_adapt)


def adapt_parameters(parameters: Sequence[Any] | Mapping[str, Any]) -> Sequence[Any] | Mapping[str, Any]:
    """sqlite3's binding: values other than exact int, float, str and bytearray go through ``adapt``
    (every value, once an adapter for one of those types is registered). Parameters of another
    kind than a list, tuple or dict are passed on as given: the engine raises sqlite3's error."""
    if not _base_types_adapted and type(parameters) in (tuple, list) and all(
            type(v) in _PLAIN for v in parameters):
        return parameters  # the common case, kept cheap: executemany calls this per row

    def plain(value: Any) -> bool:
        return value is None or (not _base_types_adapted and type(value) in (int, float, str, bytearray))

    def convert(value: Any) -> Any:
        return value if plain(value) else adapt(value, PrepareProtocol, value)

    if isinstance(parameters, dict):
        if all(plain(v) for v in parameters.values()):
            return parameters
        return {k: convert(v) for k, v in parameters.items()}
    if isinstance(parameters, (list, tuple)) and not all(plain(v) for v in parameters):
        return [convert(v) for v in parameters]
    return parameters
