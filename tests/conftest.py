"""Real PostgreSQL for every test: ``SQLMITE_TEST_DSN`` when set, otherwise the embedded server.

Each test module gets a fresh database of its own, dropped at the end, so modules cannot see
each other's tables.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from sqlmite.backend.embedded import EmbeddedServer


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Conninfo of a PostgreSQL server the tests may create databases on."""
    dsn = os.environ.get("SQLMITE_TEST_DSN")
    if dsn:
        yield dsn
        return
    server = EmbeddedServer(tmp_path_factory.mktemp("embedded"), delete_on_exit=True)
    yield server.start()
    server.stop()


def dsn_for(base: str, dbname: str) -> str:
    params = conninfo_to_dict(base)
    params["dbname"] = dbname
    return make_conninfo(**params)


@pytest.fixture(scope="module")
def pg_dsn(pg_server: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, empty database for this test module; dropped afterwards."""
    stem = re.sub(r"[^a-z0-9_]", "_", Path(str(request.node.path)).stem.lower())[:30]
    dbname = f"t_{stem}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{dbname}"')
    try:
        yield dsn_for(pg_server, dbname)
    finally:
        with psycopg.connect(pg_server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


@pytest.fixture
def pg(pg_dsn: str) -> Iterator[psycopg.Connection]:
    """An autocommit connection to this module's database."""
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        yield conn
