"""The sync door: an unmodified application's SQLite file, mirrored into PostgreSQL as it commits.

``capture`` (triggers and change log inside the file) → ``apply`` (one batch per snapshot, one
PostgreSQL transaction with its ``position``) or ``reload`` (the whole snapshot, after a schema
change) — driven by ``sidecar`` (``sqlmite sync``); ``restore`` decides at start which side
rebuilds the other; ``status`` reports.
"""

from sqlmite.sync.restore import RestoreResult, restore
from sqlmite.sync.sidecar import Sidecar, SyncOptions
from sqlmite.sync.status import SyncReport, sync_status

__all__ = ["RestoreResult", "Sidecar", "SyncOptions", "SyncReport", "restore", "sync_status"]
