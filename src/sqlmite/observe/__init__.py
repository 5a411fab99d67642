"""Observability: logs, the audit trail and metrics."""
