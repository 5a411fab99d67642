"""The harness itself: a real server, a private database per module."""

import psycopg


def test_database_is_private_and_real(pg: psycopg.Connection) -> None:
    dbname, version = pg.execute("SELECT current_database(), current_setting('server_version_num')::int").fetchone()
    assert dbname.startswith("t_test_harness_")
    assert version >= 150000
