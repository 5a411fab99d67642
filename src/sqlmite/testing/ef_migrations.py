"""Jellyfin's EF Core migrations replayed into a SQLite file by another process, as EF runs them.

A sync sidecar must survive schema changes made by an application it does not control: table
rebuilds through ``ef_temp_`` copies, ``PRAGMA foreign_keys`` toggles, ALTER TABLE. The fixture
``jellyfin-ef-migrations.sql`` holds every migration's SQL (a copy of the reference replay);
``replay`` feeds it to the ``sqlite3`` command-line shell one migration at a time, so a test can
let a sidecar catch up between migrations.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources

_MARKER = "-- ===== migration "
_FIXTURE = "jellyfin-ef-migrations.sql"


@dataclass(frozen=True)
class MigrationStep:
    """One unit of replay: ``prelude`` (history/lock tables, WAL) or one EF migration by id."""

    name: str
    sql: str


class ReplayError(RuntimeError):
    """The sqlite3 shell rejected a step; carries the step name and the shell's stderr."""

    def __init__(self, step: str, stderr: str) -> None:
        super().__init__(f"migration step {step} failed: {stderr.strip()}")
        self.step = step
        self.stderr = stderr


def migration_steps() -> list[MigrationStep]:
    """The fixture cut at its ``-- ===== migration <id>`` markers; header comments dropped."""
    text = (resources.files("sqlmite.testing") / "fixtures" / _FIXTURE).read_text(encoding="utf-8")
    steps: list[MigrationStep] = []
    name, lines = "prelude", []
    for line in text.splitlines():
        if line.startswith(_MARKER):
            steps.append(MigrationStep(name, "\n".join(lines).strip() + "\n"))
            name, lines = line.removeprefix(_MARKER).strip(), []
        elif lines or not line.startswith("--"):
            lines.append(line)
    steps.append(MigrationStep(name, "\n".join(lines).strip() + "\n"))
    return steps


def _statements(sql: str) -> list[str]:
    statements: list[str] = []
    buffer: list[str] = []
    for line in sql.splitlines():
        if not buffer and not line.strip():
            continue
        buffer.append(line)
        text = "\n".join(buffer)
        if sqlite3.complete_statement(text):
            statements.append(text.strip())
            buffer = []
    if buffer:
        raise ValueError(f"migration SQL ends inside a statement: {buffer[0]!r}")
    return statements


def step_script(step: MigrationStep) -> str:
    """The shell script for one step, transactions placed as EF Core's migration executor does.

    EF runs a migration in one transaction, except commands marked ``suppressTransaction``: the
    ``PRAGMA foreign_keys`` around a table rebuild and ``PRAGMA journal_mode`` cannot take effect
    inside a transaction, so EF commits, runs the PRAGMA alone, then opens a new transaction. The
    script starts with ``PRAGMA foreign_keys = 1`` because Jellyfin's connections enforce them.
    """
    out = ["PRAGMA foreign_keys = 1;"]
    batch: list[str] = []
    for statement in _statements(step.sql):
        if statement.upper().startswith("PRAGMA"):
            if batch:
                out += ["BEGIN;", *batch, "COMMIT;"]
                batch = []
            out.append(statement)
        else:
            batch.append(statement)
    if batch:
        out += ["BEGIN;", *batch, "COMMIT;"]
    return "\n".join(out) + "\n"


def replay(
    path: str | os.PathLike[str],
    steps: Sequence[MigrationStep] | None = None,
    *,
    between: Callable[[MigrationStep], object] | None = None,
) -> None:
    """Applies ``steps`` (default: all) to ``path`` with the ``sqlite3`` shell, one process per step.

    ``between`` is called after each step, once its changes are committed. The shell waits up to
    60 s for locks (like Jellyfin's command timeout) and runs with ``-bail``: the first failing
    statement stops the step, its open transaction rolls back, and ``ReplayError`` is raised
    with the shell's stderr.
    """
    command = ["sqlite3", "-batch", "-bail", "-cmd", ".timeout 60000", os.fspath(path)]
    for step in migration_steps() if steps is None else steps:
        result = subprocess.run(command, input=step_script(step), capture_output=True, text=True, check=False)
        if result.returncode != 0 or result.stderr.strip():
            raise ReplayError(step.name, result.stderr or f"sqlite3 exited with {result.returncode}")
        if between is not None:
            between(step)
