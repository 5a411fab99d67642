"""Showing long work: progress bars on a terminal, one plain line per step otherwise."""

from __future__ import annotations

import logging

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from sqlmite.migrate.load import TableLoaded
from sqlmite.observe.log import event

log = logging.getLogger("sqlmite.progress")


class TableProgress:
    """A bar per table (rows, rows/s, ETA) on a terminal; a log line per finished table elsewhere."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.live = console.is_terminal
        self.bars: Progress | None = None
        self.tasks: dict[str, TaskID] = {}

    def __enter__(self) -> TableProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bars is not None:
            self.bars.stop()

    def start(self, tables: list[tuple[str, int]]) -> None:
        if not self.live:
            event(log, f"loading {len(tables)} tables, {sum(n for _, n in tables):,} rows")
            return
        self.bars = Progress(
            TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:>12}"), TimeRemainingColumn(), console=self.console,
        )
        for name, rows in tables:
            self.tasks[name] = self.bars.add_task(name[:28], total=max(rows, 1), rate="")
        self.bars.start()

    def advance(self, table: str, rows: int) -> None:
        if self.bars is not None and table in self.tasks:
            task = self.tasks[table]
            self.bars.advance(task, rows)
            speed = self.bars.tasks[task].speed
            self.bars.update(task, rate=f"{speed:,.0f} rows/s" if speed else "")

    def done(self, loaded: TableLoaded) -> None:
        rate = loaded.rows / loaded.seconds if loaded.seconds else 0
        if self.bars is not None and loaded.name in self.tasks:
            self.bars.update(self.tasks[loaded.name], completed=max(loaded.rows, 1), rate=f"{rate:,.0f} rows/s")
        else:
            event(log, f"loaded {loaded.name}", rows=loaded.rows, seconds=round(loaded.seconds, 2),
                  rows_per_second=round(rate))

    def note(self, message: str) -> None:
        event(log, message)
