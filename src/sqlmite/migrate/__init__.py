"""One-shot moves between a SQLite file and PostgreSQL: migrate, verify, export."""

from sqlmite.migrate.run import MigrateResult, Progress, migrate
from sqlmite.migrate.export import ExportReport, export
from sqlmite.migrate.verify import VerifyReport, verify

__all__ = ["MigrateResult", "Progress", "migrate", "ExportReport", "VerifyReport", "export", "verify"]
