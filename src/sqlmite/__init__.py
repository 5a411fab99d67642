"""sqlmite: SQLite applications keep speaking SQLite; their data lives in PostgreSQL."""

__version__ = "0.1.0"
