"""Configuration comes from the environment, with safe defaults and one-line errors."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from gridbill.settings import ConfigError, load_settings

PG = "postgres://gridbill:pw@pgbouncer:6432/gridbill"
KEY = "k" * 48


def test_defaults_are_the_embedded_sqlite_demo(tmp_path: Path) -> None:
    settings = load_settings({"GRIDBILL_VAR_DIR": str(tmp_path), "GRIDBILL_SECRET_KEY": KEY})
    assert settings.database_url == f"sqlite://{tmp_path / 'gridbill.sqlite3'}"
    assert not settings.is_postgres
    assert settings.env == "development"
    assert (settings.currency, settings.time_zone) == ("INR", "Asia/Kolkata")
    assert settings.zone.key == "Asia/Kolkata"


@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_postgres_url_selects_postgres(tmp_path: Path, scheme: str) -> None:
    settings = load_settings(
        {
            "DATABASE_URL": f"{scheme}://u:p@db:5432/gridbill",
            "GRIDBILL_VAR_DIR": str(tmp_path),
            "GRIDBILL_SECRET_KEY": KEY,
        }
    )
    assert settings.is_postgres


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://u@h/db", "scheme 'mysql' is not supported"),
        ("postgres://u@h:notaport/db", "invalid port"),
        ("postgres://u@h:5432", "must look like postgres://"),
        ("sqlite://", "needs a file path"),
        ("just-a-path.db", "scheme '' is not supported"),
    ],
)
def test_malformed_database_url_is_named(tmp_path: Path, url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as excinfo:
        load_settings(
            {"DATABASE_URL": url, "GRIDBILL_VAR_DIR": str(tmp_path), "GRIDBILL_SECRET_KEY": KEY}
        )
    assert "\n" not in str(excinfo.value)


def test_production_requires_a_secret_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="GRIDBILL_SECRET_KEY must be set"):
        load_settings({"GRIDBILL_ENV": "production", "GRIDBILL_VAR_DIR": str(tmp_path)})
    assert not (tmp_path / "secret_key").exists(), "production never generates a key"


def test_development_generates_and_keeps_a_key(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        first = load_settings({"GRIDBILL_VAR_DIR": str(tmp_path)})
    assert "GRIDBILL_SECRET_KEY is not set" in caplog.text
    key_file = tmp_path / "secret_key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert len(first.secret_key) >= 32
    assert load_settings({"GRIDBILL_VAR_DIR": str(tmp_path)}).secret_key == first.secret_key
    assert KEY not in repr(first) and first.secret_key not in repr(first)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"GRIDBILL_SECRET_KEY": "short"}, "too short"),
        ({"GRIDBILL_TIME_ZONE": "Mars/Olympus"}, "not a known IANA time zone"),
        ({"GRIDBILL_CURRENCY": "RUPEES"}, "3-letter ISO 4217"),
        ({"GRIDBILL_UTILITY_GSTIN": "07AAACG1234A1"}, "is not a GSTIN"),
        ({"GRIDBILL_ENV": "staging"}, "must be one of"),
        ({"GRIDBILL_SMTP_PORT": "twenty-five"}, "not a whole number"),
        ({"GRIDBILL_DB_POOLER": "session"}, "must be one of"),
        ({"GRIDBILL_DB_POOLER": "transaction"}, "needs a postgres:// DATABASE_URL"),
        ({"DATABASE_DIRECT_URL": "postgres://u@db:5432/g"}, "only when DATABASE_URL is"),
        ({"DATABASE_URL": PG, "GRIDBILL_DB_POOLER": "transaction"}, "needs DATABASE_DIRECT_URL"),
        ({"DATABASE_URL": PG, "DATABASE_DIRECT_URL": "sqlite://x.db"}, "is for PostgreSQL"),
        ({"DATABASE_URL": PG, "DATABASE_DIRECT_URL": "postgres://db"}, "must look like"),
    ],
)
def test_bad_values_are_rejected(tmp_path: Path, env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings({"GRIDBILL_SECRET_KEY": KEY, "GRIDBILL_VAR_DIR": str(tmp_path), **env})


def test_behind_a_transaction_pooler_queries_drop_prepared_statements_and_session_work_goes_direct(
    tmp_path: Path,
) -> None:
    base = {"GRIDBILL_VAR_DIR": str(tmp_path), "GRIDBILL_SECRET_KEY": KEY, "DATABASE_URL": PG}
    plain = load_settings(base)
    assert plain.direct_url == plain.database_url == PG and plain.db_pooler == "none"
    direct = "postgres://gridbill:pw@db-primary:5432/gridbill"
    pooled = load_settings(
        {**base, "DATABASE_URL": PG + "?ssl=true", "DATABASE_DIRECT_URL": direct,
         "GRIDBILL_DB_POOLER": "transaction"}
    )  # fmt: skip
    assert pooled.database_url == PG + "?ssl=true&statement_cache_size=0"
    assert pooled.direct_url == direct


def test_the_letterhead_bills_print_comes_from_the_environment(tmp_path: Path) -> None:
    base = {"GRIDBILL_VAR_DIR": str(tmp_path), "GRIDBILL_SECRET_KEY": KEY}
    assert load_settings(base).letterhead == {"address": "", "helpline": "", "gstin": ""}
    given = load_settings(
        {**base, "GRIDBILL_UTILITY_ADDRESS": "Vidyut Bhavan, Sector 5; ; New Delhi 110001 ",
         "GRIDBILL_UTILITY_HELPLINE": "1912", "GRIDBILL_UTILITY_GSTIN": "07aaacg1234a1z5"}
    )  # fmt: skip
    assert given.letterhead == {
        "address": "Vidyut Bhavan, Sector 5\nNew Delhi 110001",
        "helpline": "1912",
        "gstin": "07AAACG1234A1Z5",
    }


def test_production_closes_graphiql_and_introspection_and_requires_admin_totp(
    tmp_path: Path,
) -> None:
    base = {"GRIDBILL_VAR_DIR": str(tmp_path), "GRIDBILL_SECRET_KEY": KEY}
    dev = load_settings(base)
    assert (dev.graphiql, dev.introspection, dev.totp_required_roles) == (True, "anyone", set())
    prod = load_settings({**base, "GRIDBILL_ENV": "production"})
    assert (prod.graphiql, prod.introspection) == (False, "staff")
    assert prod.totp_required_roles == {"admin"}
    assert str(prod.throttle_sign_in_address) == "10/900"
    opened = load_settings(
        {**base, "GRIDBILL_ENV": "production", "GRIDBILL_GRAPHIQL": "yes",
         "GRIDBILL_TOTP_REQUIRED_ROLES": "none", "GRIDBILL_TRUSTED_PROXIES": "10.0.0.5, 10.1.0.0/16",
         "GRIDBILL_THROTTLE_CREDENTIALS_CLIENT": "3/60"}
    )  # fmt: skip
    assert opened.graphiql and not opened.totp_required_roles
    assert opened.trusted_proxies == ("10.0.0.5/32", "10.1.0.0/16")
    assert (
        opened.throttle_credentials_client.limit,
        opened.throttle_credentials_client.window_s,
    ) == (3, 60)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("GRIDBILL_GRAPHIQL", "maybe", "must be on or off"),
        ("GRIDBILL_INTROSPECTION", "some", "must be one of anyone, staff, off"),
        ("GRIDBILL_THROTTLE_SIGN_IN_LOGIN", "5", "must be FAILURES/SECONDS, e.g. 5/900"),
        ("GRIDBILL_THROTTLE_SIGN_IN_LOGIN", "0/900", "both numbers must be 1 or more"),
        ("GRIDBILL_TRUSTED_PROXIES", "proxy.local", "is not an IP address or network"),
        ("GRIDBILL_TOTP_REQUIRED_ROLES", "root", "root is not a role"),
        ("GRIDBILL_WS_MAX_SUBSCRIPTIONS", "0", "must be 1 or more"),
    ],
)
def test_hardening_settings_are_checked(
    tmp_path: Path, name: str, value: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings({"GRIDBILL_VAR_DIR": str(tmp_path), "GRIDBILL_SECRET_KEY": KEY, name: value})
