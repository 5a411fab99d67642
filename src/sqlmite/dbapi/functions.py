"""``create_function``, ``create_aggregate``, ``create_window_function``, ``create_collation``:
the documented subset sqlmite supports.

PostgreSQL cannot call Python, but the shadow (SQLite itself) can: a function or collation an
application registers is registered there, so every statement SQLite answers alone (one that
reads no table: ``SELECT my_func(?)``, a trigger-free computation) uses it exactly as ``sqlite3``
would. A statement on table data that calls it is refused by the translator, naming the function
or collation (``NotSupportedError``). Registration itself always succeeds, as frameworks (Django,
for one) register their functions when they connect.

As in ``sqlite3``, an exception raised inside the Python code surfaces as ``OperationalError``
("user-defined function raised exception").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import apsw

from sqlmite.translate.errors import OperationalError, ProgrammingError


def _guarded(call: Callable[..., Any], message: str) -> Callable[..., Any]:
    def run(*args: Any) -> Any:
        try:
            return call(*args)
        except Exception:  # noqa: BLE001 - sqlite3 reports any of them so
            raise OperationalError(message) from None

    return run


class _Aggregate:
    """sqlite3's aggregate class protocol (step/finalize, window: value/inverse) as APSW's."""

    def __init__(self, cls: type) -> None:
        try:
            self._instance = cls()
        except Exception:  # noqa: BLE001
            raise OperationalError("user-defined aggregate's '__init__' method raised error") from None

    def step(self, *args: Any) -> None:
        _guarded(self._instance.step, "user-defined aggregate's 'step' method raised error")(*args)

    def inverse(self, *args: Any) -> None:
        _guarded(self._instance.inverse, "user-defined aggregate's 'inverse' method raised error")(*args)

    def value(self) -> Any:
        return _guarded(self._instance.value, "user-defined aggregate's 'value' method raised error")()

    def final(self) -> Any:
        return _guarded(self._instance.finalize, "user-defined aggregate's 'finalize' method raised error")()


def create_function(shadow: apsw.Connection, name: str, narg: int, func: Callable[..., Any] | None,
                    deterministic: bool = False) -> None:
    _check_args(narg)
    shadow.create_scalar_function(name, _guarded(func, "user-defined function raised exception") if func is not None else None, narg,
                                  deterministic=deterministic)


def create_aggregate(shadow: apsw.Connection, name: str, narg: int, cls: type | None) -> None:
    _check_args(narg)
    shadow.create_aggregate_function(name, (lambda: _Aggregate(cls)) if cls is not None else None, narg)


def create_window_function(shadow: apsw.Connection, name: str, narg: int, cls: type | None) -> None:
    _check_args(narg)
    shadow.create_window_function(name, (lambda: _Aggregate(cls)) if cls is not None else None, narg)


def create_collation(shadow: apsw.Connection, name: str, call: Callable[[str, str], int] | None) -> None:
    if call is not None and not callable(call):
        raise TypeError("parameter must be callable")
    shadow.create_collation(name, call)


def _check_args(narg: int) -> None:
    if not isinstance(narg, int):
        raise TypeError(f"'{type(narg).__name__}' object cannot be interpreted as an integer")
    if narg < -1 or narg > 127:
        raise ProgrammingError("too many arguments") if narg > 127 else ProgrammingError("invalid number of arguments")
