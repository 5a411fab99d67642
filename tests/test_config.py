"""Settings: precedence between sources, secrets kept out of sight, clear errors for bad values.

No database is needed here: every source is passed in explicitly (``env=`` instead of the real
environment), so the machine's own SQLMITE_* / PG* variables cannot leak into a result.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sqlmite.config import (
    Secret,
    Settings,
    connection_params,
    describe_target,
    load_settings,
    redact,
)
from sqlmite.errors import ConfigError

URL_PASSWORD = "url-Pa55-secret"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# -- precedence: CLI > env > TOML file > libpq PG* > embedded ----------------------------------


def test_nothing_configured_means_embedded() -> None:
    settings = load_settings(env={})
    assert settings.backend == "embedded"
    assert settings.pool_size == 5 and settings.pool_min_size == 1
    assert settings.sources == {}
    # PGPASSWORD alone names no server.
    assert load_settings(env={"PGPASSWORD": "x"}).backend == "embedded"


def test_libpq_variables_beat_embedded_and_are_left_to_libpq() -> None:
    settings = load_settings(env={"PGHOST": "pg.example", "PGDATABASE": "app"})
    assert settings.backend == "libpq-env"
    params = connection_params(settings)
    assert "host" not in params and "dbname" not in params  # libpq reads PGHOST/PGDATABASE itself
    assert params["application_name"] == "sqlmite"


def test_each_source_overrides_the_ones_below(tmp_path: Path) -> None:
    config = write(tmp_path / "sqlmite.toml", (
        'database_url = "postgresql://file@file.example/filedb"\n'
        "pool_size = 3\n"
        'schema = "from_file"\n'
        "statement_timeout = 4\n"
    ))
    libpq = {"PGHOST": "pg.example"}

    from_file = load_settings(env={**libpq, "SQLMITE_CONFIG": str(config)})
    assert from_file.backend == "url"  # a URL in the file beats the PG* variables
    assert connection_params(from_file)["host"] == "file.example"
    assert (from_file.pool_size, from_file.schema) == (3, "from_file")
    assert from_file.sources == {"database_url": "file", "pool_size": "file", "schema": "file",
                                 "statement_timeout": "file"}

    env = {**libpq, "SQLMITE_DATABASE_URL": "postgresql://env@env.example/envdb", "SQLMITE_POOL_SIZE": "4"}
    from_env = load_settings(env=env, config_file=config)
    assert connection_params(from_env)["host"] == "env.example"
    assert from_env.pool_size == 4
    assert from_env.schema == "from_file"  # keys the environment does not set still come from the file
    assert from_env.sources["pool_size"] == "env" and from_env.sources["schema"] == "file"

    from_cli = load_settings(cli={"database_url": "postgresql://cli@cli.example/clidb", "pool_size": 6,
                                  "schema": None}, env=env, config_file=config)
    assert connection_params(from_cli)["host"] == "cli.example"
    assert from_cli.pool_size == 6
    assert from_cli.schema == "from_file"  # a flag not given (None) overrides nothing
    assert from_cli.sources["database_url"] == "cli"

    # with_overrides applies flags on top of settings already loaded, validated the same way.
    later = from_env.with_overrides(pool_size="7")
    assert later.pool_size == 7 and later.sources["pool_size"] == "cli"
    assert later.schema == "from_file" and later.libpq_env


def test_empty_environment_values_are_ignored() -> None:
    settings = load_settings(env={"SQLMITE_POOL_SIZE": "", "SQLMITE_DATABASE_URL": ""})
    assert settings.pool_size == 5 and settings.backend == "embedded"


# -- secrets ----------------------------------------------------------------------------------


def test_password_file_lands_in_connection_params(tmp_path: Path) -> None:
    secret_file = write(tmp_path / "password", "from-the-file\n")
    settings = load_settings(env={
        "SQLMITE_DATABASE_URL": f"postgresql://app:{URL_PASSWORD}@db.example:5432/app",
        "SQLMITE_PASSWORD_FILE": str(secret_file),
    })
    params = connection_params(settings)
    assert params["password"] == "from-the-file"  # the file wins over the URL, newline stripped
    assert params["user"] == "app" and params["host"] == "db.example"
    secret_file.write_text("rotated")  # read when needed, so a rotated Kubernetes Secret is seen
    assert connection_params(settings)["password"] == "rotated"


def test_secrets_stay_out_of_repr_and_describe(tmp_path: Path) -> None:
    settings = load_settings(cli={"database_url": f"postgresql://app:{URL_PASSWORD}@db.example:5432/app"}, env={})
    assert URL_PASSWORD not in repr(settings) and URL_PASSWORD not in str(settings)
    assert "Secret('***')" in repr(settings)
    rows = {key: (shown, source) for key, shown, source in settings.describe()}
    assert rows["database_url"] == ("postgresql://app:***@db.example:5432/app", "cli")
    assert rows["pool_size"] == ("5", "default")
    assert all(URL_PASSWORD not in shown for shown, _ in rows.values())
    secret = Secret("hidden")
    assert (str(secret), repr(secret), f"{secret}") == ("***", "Secret('***')", "***")
    assert secret.reveal() == "hidden"


def test_describe_target_never_shows_the_password() -> None:
    assert describe_target({"user": "u", "password": "p", "host": "h", "port": 5432, "dbname": "d"}) \
        == "postgresql://u:***@h:5432/d"
    assert describe_target({"user": "u", "host": "h1,h2", "port": "5432,5433", "dbname": "d"}) \
        == "postgresql://u@h1:5432,h2:5433/d"
    assert describe_target({"host": "h1,h2", "port": "6432", "dbname": "d"}) == "postgresql://h1:6432,h2:6432/d"
    assert describe_target({"host": "/run/postgresql", "dbname": "d"}) == "postgresql://[/run/postgresql]/d"
    assert redact(f"postgresql://u:{URL_PASSWORD}@h/d") == "postgresql://u:***@h/d"
    assert redact(f"host=h user=u password={URL_PASSWORD} dbname=d") == "postgresql://u:***@h/d"
    assert redact(f"not a url {URL_PASSWORD} ===") == "<unparseable connection string>"


def test_unparseable_url_is_refused_at_load_without_repeating_the_text() -> None:
    url = f"postgresql://u:{URL_PASSWORD}@h/d?bogus_option=1"
    with pytest.raises(ConfigError) as failed:
        load_settings(cli={"database_url": url}, env={})
    assert failed.value.key == "--database-url" and URL_PASSWORD not in str(failed.value)
    with pytest.raises(ConfigError) as failed:
        load_settings(env={"SQLMITE_DATABASE_URL": url})
    assert failed.value.key == "SQLMITE_DATABASE_URL" and URL_PASSWORD not in str(failed.value)


# -- invalid values name the key --------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "key", "problem"),
    [
        ({"SQLMITE_POOL_SIZE": "abc"}, "SQLMITE_POOL_SIZE", "whole number"),
        ({"SQLMITE_POOL_SIZE": "0"}, "SQLMITE_POOL_SIZE", "at least 1"),
        ({"SQLMITE_CONNECT_TIMEOUT": "-1"}, "SQLMITE_CONNECT_TIMEOUT", "negative"),
        ({"SQLMITE_CONNECT_TIMEOUT": "nan"}, "SQLMITE_CONNECT_TIMEOUT", "finite"),
        ({"SQLMITE_STATEMENT_TIMEOUT": "inf"}, "SQLMITE_STATEMENT_TIMEOUT", "finite"),
        ({"SQLMITE_SSLMODE": "bogus"}, "SQLMITE_SSLMODE", "verify-full"),
        ({"SQLMITE_LOG_FORMAT": "xml"}, "SQLMITE_LOG_FORMAT", "json"),
        ({"SQLMITE_PASSWORD_FILE": "/nonexistent/sqlmite-password"}, "SQLMITE_PASSWORD_FILE", "does not exist"),
        ({"SQLMITE_POOL_SIZE": "2", "SQLMITE_POOL_MIN_SIZE": "3"}, "pool_min_size", "pool_size"),
    ],
)
def test_invalid_environment_values_raise_config_error_naming_the_key(env: dict[str, str], key: str,
                                                                      problem: str) -> None:
    with pytest.raises(ConfigError) as failed:
        load_settings(env=env)
    assert failed.value.key == key
    assert problem in failed.value.problem
    assert str(failed.value).startswith(f"{key}: ")
    assert failed.value.exit_code == 2


def test_invalid_cli_values_name_the_flag() -> None:
    with pytest.raises(ConfigError, match=r"^--sslmode: must be one of") as failed:
        load_settings(cli={"sslmode": "bogus"}, env={})
    assert failed.value.key == "--sslmode"
    with pytest.raises(ConfigError, match="^no_such_setting: unknown setting"):
        load_settings(cli={"no_such_setting": 1}, env={})


@pytest.mark.parametrize(
    ("toml", "key", "problem"),
    [
        ('pool_sise = 3\n', "sqlmite.toml: pool_sise", "unknown key"),
        ('pool_size = "lots"\n', "sqlmite.toml: pool_size", "whole number"),
        ("pool_size = 2.5\n", "sqlmite.toml: pool_size", "whole number"),
        ("connect_timeout = true\n", "sqlmite.toml: connect_timeout", "number of seconds"),
        ('sslmode = "bogus"\n', "sqlmite.toml: sslmode", "one of"),
        ("pool_size = \n", "config", "not valid TOML"),
    ],
)
def test_invalid_config_file_names_the_key(tmp_path: Path, toml: str, key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as failed:
        load_settings(env={}, config_file=write(tmp_path / "sqlmite.toml", toml))
    assert failed.value.key == key and problem in failed.value.problem


def test_missing_config_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist") as failed:
        load_settings(env={"SQLMITE_CONFIG": str(tmp_path / "absent.toml")})
    assert failed.value.key == "config"


# -- connection parameters --------------------------------------------------------------------


def test_multi_host_url_asks_for_the_read_write_primary() -> None:
    multi = load_settings(cli={"database_url": "postgresql://u@db1:5432,db2:5432/app"}, env={})
    assert connection_params(multi)["target_session_attrs"] == "read-write"
    single = load_settings(cli={"database_url": "postgresql://u@db1:5432/app"}, env={})
    assert "target_session_attrs" not in connection_params(single)
    explicit = load_settings(cli={"database_url": "postgresql://u@db1,db2/app?target_session_attrs=primary"}, env={})
    assert connection_params(explicit)["target_session_attrs"] == "primary"


def test_tls_timeouts_and_application_name_reach_the_params(tmp_path: Path) -> None:
    ca = write(tmp_path / "ca.crt", "not checked here")
    settings = load_settings(cli={"database_url": "postgresql://u@db/app", "sslmode": "verify-full",
                                  "sslrootcert": str(ca), "connect_timeout": 3, "statement_timeout": 1.5}, env={})
    params = connection_params(settings)
    assert (params["sslmode"], params["sslrootcert"]) == ("verify-full", str(ca))
    assert params["connect_timeout"] == 3
    assert params["options"] == "-c statement_timeout=1500"
    assert params["application_name"] == "sqlmite"
    no_limit = load_settings(cli={"database_url": "postgresql://u@db/app", "statement_timeout": 0}, env={})
    assert no_limit.statement_timeout is None and "options" not in connection_params(no_limit)


def test_statement_timeout_keeps_the_urls_own_options() -> None:
    settings = load_settings(cli={"database_url": "postgresql://u@db/app?options=-csearch_path%3Dapp",
                                  "statement_timeout": 2}, env={})
    assert connection_params(settings)["options"] == "-csearch_path=app -c statement_timeout=2000"


def test_embedded_base_uri_is_used_when_nothing_else_is_configured() -> None:
    params = connection_params(Settings(), "postgresql://postgres:@/postgres?host=/tmp/sock")
    assert (params["host"], params["user"], params["dbname"]) == ("/tmp/sock", "postgres", "postgres")


def test_unknown_sqlmite_variables_are_reported_not_silently_ignored() -> None:
    settings = load_settings(env={"SQLMITE_POOLSIZE": "3", "SQLMITE_TEST_DSN": "x", "SQLMITE_CONFIG_X": "y"})
    assert settings.unknown_env == ("SQLMITE_CONFIG_X", "SQLMITE_POOLSIZE")
    assert settings.pool_size == 5
