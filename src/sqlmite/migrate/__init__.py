"""One-shot moves between a SQLite file and PostgreSQL: migrate, verify, export."""

from sqlmite.migrate.run import MigrateResult, Progress, migrate

__all__ = ["MigrateResult", "Progress", "migrate"]
