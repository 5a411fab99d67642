"""Logging: one line per notable event, as text or JSON, and the structured audit trail.

Audit events (connections opened, lost, failed over, closed; every DDL statement applied) go
through ``audit()`` so they always carry the same fields: event, target, role, object. Targets
are passed through ``describe_target`` by callers, so no secret reaches a log line.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

AUDIT_LOGGER = "sqlmite.audit"
_FIELDS_ATTR = "sqlmite_fields"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the event's fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, _FIELDS_ATTR, {}))
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``time level message key=value ...``: readable, and still greppable by field."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{self.formatTime(record, '%H:%M:%S')} {record.levelname.lower():7} {record.getMessage()}"
        extra = getattr(record, _FIELDS_ATTR, {})
        if extra:
            line += " " + " ".join(f"{k}={v}" for k, v in extra.items())
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def setup_logging(log_format: str = "text", level: str = "info") -> None:
    """Send sqlmite's logs to stderr in the chosen format (idempotent).

    The audit trail (one line per connection event and DDL statement) is for machines: it is
    written with JSON logs, and in text only at debug level, so a person's terminal shows what
    happened rather than 200 lines of DDL.
    """
    root = logging.getLogger("sqlmite")
    root.setLevel(level.upper())
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root.handlers[:] = [handler]
    root.propagate = False
    audit_level = logging.NOTSET if log_format == "json" or level == "debug" else logging.WARNING
    logging.getLogger(AUDIT_LOGGER).setLevel(audit_level)


def event(logger: logging.Logger, message: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log one event with structured fields (shown as key=value in text, keys in JSON)."""
    logger.log(level, message, extra={_FIELDS_ATTR: fields})


def audit(what: str, *, target: str, role: str | None = None, obj: str | None = None, **fields: Any) -> None:
    """An audit line: connection events and applied DDL, with target host/database and role."""
    values = {"event": what, "target": target, "role": role}
    if obj is not None:
        values["object"] = obj
    values.update(fields)
    event(logging.getLogger(AUDIT_LOGGER), what, **values)
