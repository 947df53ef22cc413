"""The one place configuration comes from: environment variables with documented defaults.

Every variable is listed in README.md ("Configuration"). Nothing else in the code base
reads ``os.environ`` (the one exception is ``gridbill createuser``, which takes the new
user's password from ``GRIDBILL_NEW_PASSWORD`` so it stays out of the process list); it
asks for :func:`get_settings` instead, so tests can build a :class:`Settings` from a
plain dict and production cannot silently pick up a stray value.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gridbill.errors import UserError

log = logging.getLogger(__name__)

ENVIRONMENTS = ("development", "test", "production")
SQLITE_SCHEMES = ("sqlite",)
POSTGRES_SCHEMES = ("postgres", "postgresql")
SECRET_KEY_FILE = "secret_key"  # noqa: S105 - a file name, not a secret
MIN_SECRET_KEY_LENGTH = 32
DEMO_UPI_VPA = "gridbill.demo@upi"
DEVELOPMENT_SANDBOX = {  # published sandbox values, never Razorpay's
    "key": "sandbox_key_secret",
    "hook": "sandbox_webhook_secret",
    "url": "http://127.0.0.1:8100",
}


class ConfigError(UserError):
    """A setting is missing or malformed; the message names the variable and the fix."""


@dataclass(frozen=True)
class Settings:
    env: str
    database_url: str
    secret_key: str = field(repr=False)
    var_dir: Path
    utility_name: str
    upi_vpa: str
    currency: str
    time_zone: str
    base_url: str
    razorpay_key_id: str
    razorpay_key_secret: str = field(repr=False)
    razorpay_webhook_secret: str = field(repr=False)
    razorpay_base_url: str
    smtp_host: str
    smtp_port: int
    mail_from: str
    log_level: str
    db_pool_max: int
    access_token_ttl_s: int = 900
    refresh_token_ttl_s: int = 30 * 24 * 3600
    partner_token_ttl_s: int = 3600
    download_link_ttl_s: int = 3600
    api_max_body_bytes: int = 1024 * 1024
    api_cache_ttl_s: int = 300
    sync_max_body_bytes: int = 16 * 1024 * 1024
    sync_max_photo_bytes: int = 10 * 1024 * 1024
    sync_auth_cache_ttl_s: int = 60
    sync_pull_settle_s: int = 5
    vee_config_path: str = ""
    pg_bin: str = ""
    metrics_token: str = field(default="", repr=False)

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def is_postgres(self) -> bool:
        return urlsplit(self.database_url).scheme in POSTGRES_SCHEMES

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


def _env(environ: Mapping[str, str], name: str, default: str) -> str:
    value = environ.get(name, "").strip()
    return value or default


def _int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = _env(environ, name, str(default))
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from None


def _positive(environ: Mapping[str, str], name: str, default: int) -> int:
    value = _int(environ, name, default)
    if value < 1:
        raise ConfigError(f"{name}={value} must be 1 or more")
    return value


def validate_database_url(url: str) -> str:
    """Reject URLs Tortoise would misread later with a confusing driver error."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise ConfigError(f"DATABASE_URL is malformed ({exc})") from None
    if parts.scheme in SQLITE_SCHEMES:
        path = url.split("://", 1)[1] if "://" in url else ""
        if not path:
            raise ConfigError(
                "DATABASE_URL 'sqlite://' needs a file path, e.g. sqlite://./var/gridbill.sqlite3"
            )
        return url
    if parts.scheme in POSTGRES_SCHEMES:
        try:
            parts.port  # noqa: B018 - urlsplit validates the port lazily
        except ValueError:
            raise ConfigError("DATABASE_URL has an invalid port number") from None
        if not parts.hostname or not parts.path.strip("/"):
            raise ConfigError(
                "DATABASE_URL must look like postgres://USER:PASSWORD@HOST:PORT/DBNAME"
            )
        return url
    raise ConfigError(
        f"DATABASE_URL scheme {parts.scheme!r} is not supported; "
        "use sqlite://PATH or postgres://USER:PASSWORD@HOST:PORT/DBNAME"
    )


def _secret_key(environ: Mapping[str, str], env: str, var_dir: Path) -> str:
    """Production must be given its key; development keeps a generated one across restarts."""
    key = environ.get("GRIDBILL_SECRET_KEY", "").strip()
    if key:
        if len(key) < MIN_SECRET_KEY_LENGTH:
            raise ConfigError(
                f"GRIDBILL_SECRET_KEY is too short ({len(key)} characters); "
                f"use at least {MIN_SECRET_KEY_LENGTH}, e.g. from `python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
            )
        return key
    if env == "production":
        raise ConfigError("GRIDBILL_SECRET_KEY must be set when GRIDBILL_ENV=production")
    path = var_dir / SECRET_KEY_FILE
    try:
        if path.exists():
            return path.read_text(encoding="utf-8").strip()
        var_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key + "\n", encoding="utf-8")
        path.chmod(0o600)
    except OSError as exc:
        raise ConfigError(
            f"cannot read or create the development secret key {path} ({exc.strerror}); "
            "set GRIDBILL_SECRET_KEY or fix GRIDBILL_VAR_DIR"
        ) from None
    log.warning(
        "GRIDBILL_SECRET_KEY is not set: generated a development key in %s "
        "(set GRIDBILL_SECRET_KEY in production)",
        path,
    )
    return key


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build settings from ``environ`` (default: the process environment)."""
    environ = os.environ if environ is None else environ
    env = _env(environ, "GRIDBILL_ENV", "development")
    if env not in ENVIRONMENTS:
        raise ConfigError(f"GRIDBILL_ENV={env!r} must be one of {', '.join(ENVIRONMENTS)}")
    var_dir = Path(_env(environ, "GRIDBILL_VAR_DIR", "./var"))
    database_url = validate_database_url(
        _env(environ, "DATABASE_URL", f"sqlite://{var_dir / 'gridbill.sqlite3'}")
    )
    time_zone = _env(environ, "GRIDBILL_TIME_ZONE", "Asia/Kolkata")
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"GRIDBILL_TIME_ZONE={time_zone!r} is not a known IANA time zone"
        ) from None
    upi_vpa = _env(environ, "GRIDBILL_UPI_VPA", DEMO_UPI_VPA)
    if env == "production" and upi_vpa == DEMO_UPI_VPA:
        log.warning("GRIDBILL_UPI_VPA is not set: bills will carry the demo UPI payee address")
    currency = _env(environ, "GRIDBILL_CURRENCY", "INR").upper()
    if len(currency) != 3 or not currency.isalpha():
        raise ConfigError(f"GRIDBILL_CURRENCY={currency!r} must be a 3-letter ISO 4217 code")
    # Development talks to the loopback sandbox (`make run` starts it) unless told otherwise,
    # so `gridbill reconcile` and `gridbill gateway` work in a second terminal as documented.
    sandbox = DEVELOPMENT_SANDBOX if env == "development" else {}
    return Settings(
        env=env,
        database_url=database_url,
        secret_key=_secret_key(environ, env, var_dir),
        var_dir=var_dir,
        utility_name=_env(environ, "GRIDBILL_UTILITY_NAME", "Gridbill Demo Power Distribution Ltd"),
        upi_vpa=upi_vpa,
        currency=currency,
        time_zone=time_zone,
        base_url=_env(environ, "GRIDBILL_BASE_URL", "http://127.0.0.1:8000").rstrip("/"),
        razorpay_key_id=_env(environ, "RAZORPAY_KEY_ID", "rzp_test_gridbill"),
        razorpay_key_secret=_env(environ, "RAZORPAY_KEY_SECRET", sandbox.get("key", "")),
        razorpay_webhook_secret=_env(environ, "RAZORPAY_WEBHOOK_SECRET", sandbox.get("hook", "")),
        razorpay_base_url=_env(
            environ, "RAZORPAY_BASE_URL", sandbox.get("url", "https://api.razorpay.com")
        ).rstrip("/"),
        smtp_host=_env(environ, "GRIDBILL_SMTP_HOST", "127.0.0.1"),
        smtp_port=_int(environ, "GRIDBILL_SMTP_PORT", 1025),
        mail_from=_env(environ, "GRIDBILL_MAIL_FROM", "billing@gridbill.invalid"),
        log_level=_env(environ, "GRIDBILL_LOG_LEVEL", "INFO").upper(),
        db_pool_max=_int(environ, "GRIDBILL_DB_POOL_MAX", 10),
        access_token_ttl_s=_positive(environ, "GRIDBILL_ACCESS_TOKEN_TTL", 900),
        refresh_token_ttl_s=_positive(environ, "GRIDBILL_REFRESH_TOKEN_TTL", 30 * 24 * 3600),
        partner_token_ttl_s=_positive(environ, "GRIDBILL_PARTNER_TOKEN_TTL", 3600),
        download_link_ttl_s=_positive(environ, "GRIDBILL_DOWNLOAD_LINK_TTL", 3600),
        api_max_body_bytes=_positive(environ, "GRIDBILL_API_MAX_BODY_BYTES", 1024 * 1024),
        api_cache_ttl_s=_int(environ, "GRIDBILL_API_CACHE_TTL", 300),
        sync_max_body_bytes=_positive(environ, "GRIDBILL_SYNC_MAX_BODY_BYTES", 16 * 1024 * 1024),
        sync_max_photo_bytes=_positive(environ, "GRIDBILL_SYNC_MAX_PHOTO_BYTES", 10 * 1024 * 1024),
        sync_auth_cache_ttl_s=_int(environ, "GRIDBILL_SYNC_AUTH_CACHE_TTL", 60),
        sync_pull_settle_s=_int(environ, "GRIDBILL_SYNC_PULL_SETTLE", 5),
        vee_config_path=_env(environ, "GRIDBILL_VEE_CONFIG", ""),
        pg_bin=_env(environ, "PG_BIN", ""),
        metrics_token=_env(environ, "GRIDBILL_METRICS_TOKEN", ""),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Process-wide settings, read once."""
    return load_settings()
