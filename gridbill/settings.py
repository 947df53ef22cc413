"""The one place configuration comes from: environment variables with documented defaults.

Every variable is listed in README.md ("Configuration"). Nothing else in the code base
reads ``os.environ`` (the one exception is ``gridbill createuser``, which takes the new
user's password from ``GRIDBILL_NEW_PASSWORD`` so it stays out of the process list); it
asks for :func:`get_settings` instead, so tests can build a :class:`Settings` from a
plain dict and production cannot silently pick up a stray value.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
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
MAX_FUTURE_MARGIN_HOURS = 8760
INTROSPECTION_POLICIES = ("anyone", "staff", "off")
TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


@dataclass(frozen=True)
class Throttle:
    """At most ``limit`` failures in a fixed window of ``window_s`` seconds."""

    limit: int
    window_s: int

    def __str__(self) -> str:
        return f"{self.limit}/{self.window_s}"


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
    database_direct_url: str = ""
    """PostgreSQL reached directly, not through a transaction pooler ("" means DATABASE_URL)."""
    db_pooler: str = "none"
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
    ingest_future_margin_hours: int = 24
    graphiql: bool = True
    introspection: str = "anyone"
    session_check_ttl_s: int = 5
    ws_max_subscriptions: int = 20
    ws_max_sockets_per_user: int = 5
    ws_recheck_s: int = 15
    trusted_proxies: tuple[str, ...] = ()
    throttle_sign_in_address: Throttle = Throttle(10, 900)
    throttle_sign_in_login: Throttle = Throttle(5, 900)
    throttle_credentials_address: Throttle = Throttle(20, 300)
    throttle_credentials_client: Throttle = Throttle(10, 300)
    totp_required_roles: frozenset[str] = frozenset()
    utility_short_name: str = "Gridbill"
    smtp_username: str = ""
    smtp_password: str = field(default="", repr=False)
    smtp_tls: str = "none"
    sms_url: str = ""
    sms_api_key: str = field(default="", repr=False)
    sms_sender: str = ""
    sms_entity_id: str = ""
    sms_templates_path: str = ""
    fcm_project_id: str = ""
    fcm_credentials_path: str = ""
    fcm_base_url: str = "https://fcm.googleapis.com"
    fcm_token_url: str = "https://oauth2.googleapis.com/token"  # noqa: S105 - a URL
    notify_max_attempts: int = 8
    notify_retry_base_s: int = 60
    notify_lease_s: int = 300
    quiet_hours: tuple[str, str] = ("21:00", "08:00")
    dunning_schedule: tuple[tuple[str, int, int, int], ...] = (("*", 3, 1, 7),)
    support_sla_hours: tuple[tuple[str, int], ...] = (("*", 72),)
    sign_in_code_ttl_s: int = 600
    pg_bin: str = ""
    metrics_token: str = field(default="", repr=False)
    console_session_ttl_s: int = 8 * 3600
    deposit_interest_percent: Decimal = Decimal("6.75")
    cheque_bounce_fee_paise: int = 0
    utility_address: tuple[str, ...] = ()
    utility_helpline: str = ""
    utility_gstin: str = ""

    @property
    def letterhead(self) -> dict[str, str]:
        """What a bill prints under the utility's name (frozen into each bill at issue)."""
        return {
            "address": "\n".join(self.utility_address),
            "helpline": self.utility_helpline,
            "gstin": self.utility_gstin,
        }

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def is_postgres(self) -> bool:
        return urlsplit(self.database_url).scheme in POSTGRES_SCHEMES

    @property
    def direct_url(self) -> str:
        """Where session features go: LISTEN, the job queue, migrations, backups.

        A transaction pooler (PgBouncer ``pool_mode = transaction``) hands each
        transaction to any server connection, so a LISTEN would be lost and the job
        queue's notifications with it; these open their own connections here instead.
        """
        return self.database_direct_url or self.database_url

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


def _percent(environ: Mapping[str, str], name: str, default: str) -> Decimal:
    """A yearly rate in percent, 0 to 100, at most two decimals (``6.75``)."""
    raw = _env(environ, name, default)
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ConfigError(f"{name}={raw!r} is not a percentage like 6.75") from None
    if not value.is_finite() or not 0 <= value <= 100 or value != value.quantize(Decimal("0.01")):
        raise ConfigError(f"{name}={raw!r} must be 0 to 100 with at most two decimals")
    return value


def _bool(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = _env(environ, name, "").lower()
    if not raw:
        return default
    if raw in TRUE_WORDS:
        return True
    if raw in FALSE_WORDS:
        return False
    raise ConfigError(f"{name}={raw!r} must be on or off (true/false, 1/0, yes/no)")


def _throttle(environ: Mapping[str, str], name: str, default: Throttle) -> Throttle:
    raw = _env(environ, name, str(default))
    count, _, window = raw.partition("/")
    try:
        throttle = Throttle(int(count), int(window))
    except ValueError:
        raise ConfigError(
            f"{name}={raw!r} must be FAILURES/SECONDS, e.g. {default} (at most "
            f"{default.limit} failures per {default.window_s} seconds)"
        ) from None
    if throttle.limit < 1 or throttle.window_s < 1:
        raise ConfigError(f"{name}={raw!r}: both numbers must be 1 or more")
    return throttle


def _proxies(environ: Mapping[str, str], name: str) -> tuple[str, ...]:
    """Addresses or networks (CIDR) of reverse proxies whose X-Forwarded-For is believed."""
    found: list[str] = []
    for item in _env(environ, name, "").replace(" ", ",").split(","):
        if not item:
            continue
        try:
            found.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise ConfigError(
                f"{name}: {item!r} is not an IP address or network (e.g. 10.0.0.5 or 10.0.0.0/8)"
            ) from None
    return tuple(found)


def _introspection(environ: Mapping[str, str], env: str) -> str:
    name = "GRIDBILL_INTROSPECTION"
    value = _env(environ, name, "staff" if env == "production" else "anyone").lower()
    if value not in INTROSPECTION_POLICIES:
        raise ConfigError(f"{name}={value!r} must be one of {', '.join(INTROSPECTION_POLICIES)}")
    return value


def _roles(environ: Mapping[str, str], name: str, default: str) -> frozenset[str]:
    known = ("staff", "admin")  # the roles that can enrol a second factor
    roles = frozenset(r for r in _env(environ, name, default).replace(" ", ",").split(",") if r)
    if roles == {"none"}:
        return frozenset()
    if unknown := roles - set(known):
        raise ConfigError(
            f"{name}: {', '.join(sorted(unknown))} is not a role; use {', '.join(known)} or none"
        )
    return roles


def validate_database_url(url: str, name: str = "DATABASE_URL") -> str:
    """Reject URLs Tortoise would misread later with a confusing driver error."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise ConfigError(f"{name} is malformed ({exc})") from None
    if parts.scheme in SQLITE_SCHEMES:
        path = url.split("://", 1)[1] if "://" in url else ""
        if not path:
            raise ConfigError(
                f"{name} 'sqlite://' needs a file path, e.g. sqlite://./var/gridbill.sqlite3"
            )
        return url
    if parts.scheme in POSTGRES_SCHEMES:
        try:
            parts.port  # noqa: B018 - urlsplit validates the port lazily
        except ValueError:
            raise ConfigError(f"{name} has an invalid port number") from None
        if not parts.hostname or not parts.path.strip("/"):
            raise ConfigError(f"{name} must look like postgres://USER:PASSWORD@HOST:PORT/DBNAME")
        return url
    raise ConfigError(
        f"{name} scheme {parts.scheme!r} is not supported; "
        "use sqlite://PATH or postgres://USER:PASSWORD@HOST:PORT/DBNAME"
    )


POOLERS = ("none", "transaction")


def _pooling(environ: Mapping[str, str], database_url: str) -> tuple[str, str, str]:
    """DATABASE_URL as the query pool uses it, DATABASE_DIRECT_URL and GRIDBILL_DB_POOLER.

    Behind a transaction pooler the query pool must not keep prepared statements (the
    next transaction may run on another server connection), and LISTEN/NOTIFY and the
    job queue need a direct URL: a pooler without one would lose events silently.
    """
    pooler = _choice(environ, "GRIDBILL_DB_POOLER", "none", POOLERS)
    direct = environ.get("DATABASE_DIRECT_URL", "").strip()
    postgres = urlsplit(database_url).scheme in POSTGRES_SCHEMES
    if direct:
        validate_database_url(direct, "DATABASE_DIRECT_URL")
        if not postgres or urlsplit(direct).scheme not in POSTGRES_SCHEMES:
            raise ConfigError(
                "DATABASE_DIRECT_URL is for PostgreSQL: set it only when DATABASE_URL is "
                "postgres://… too (it reaches the same database without the pooler)"
            )
    if pooler == "transaction":
        if not postgres:
            raise ConfigError("GRIDBILL_DB_POOLER=transaction needs a postgres:// DATABASE_URL")
        if not direct:
            raise ConfigError(
                "GRIDBILL_DB_POOLER=transaction needs DATABASE_DIRECT_URL, the database "
                "reached without the pooler: events (LISTEN) and the job queue cannot work "
                "through a transaction pooler"
            )
        database_url = _with_query(database_url, "statement_cache_size", "0")
    return database_url, direct, pooler


def _with_query(url: str, name: str, value: str) -> str:
    """``url`` with ``name=value`` in its query (Tortoise passes it to asyncpg's pool)."""
    parts = urlsplit(url)
    kept = [pair for pair in parts.query.split("&") if pair and not pair.startswith(f"{name}=")]
    return parts._replace(query="&".join([*kept, f"{name}={value}"])).geturl()


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
    database_url, direct_url, pooler = _pooling(environ, database_url)
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
        database_direct_url=direct_url,
        db_pooler=pooler,
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
        ingest_future_margin_hours=ingest_future_margin_hours(environ),
        graphiql=_bool(environ, "GRIDBILL_GRAPHIQL", env != "production"),
        introspection=_introspection(environ, env),
        session_check_ttl_s=_int(environ, "GRIDBILL_SESSION_CHECK_TTL", 5),
        console_session_ttl_s=_positive(environ, "GRIDBILL_CONSOLE_SESSION_TTL", 8 * 3600),
        ws_max_subscriptions=_positive(environ, "GRIDBILL_WS_MAX_SUBSCRIPTIONS", 20),
        ws_max_sockets_per_user=_positive(environ, "GRIDBILL_WS_MAX_SOCKETS_PER_USER", 5),
        ws_recheck_s=_positive(environ, "GRIDBILL_WS_RECHECK", 15),
        trusted_proxies=_proxies(environ, "GRIDBILL_TRUSTED_PROXIES"),
        throttle_sign_in_address=_throttle(
            environ, "GRIDBILL_THROTTLE_SIGN_IN_ADDRESS", Throttle(10, 900)
        ),
        throttle_sign_in_login=_throttle(
            environ, "GRIDBILL_THROTTLE_SIGN_IN_LOGIN", Throttle(5, 900)
        ),
        throttle_credentials_address=_throttle(
            environ, "GRIDBILL_THROTTLE_CREDENTIALS_ADDRESS", Throttle(20, 300)
        ),
        throttle_credentials_client=_throttle(
            environ, "GRIDBILL_THROTTLE_CREDENTIALS_CLIENT", Throttle(10, 300)
        ),
        totp_required_roles=_roles(
            environ, "GRIDBILL_TOTP_REQUIRED_ROLES", "admin" if env == "production" else "none"
        ),
        utility_short_name=_env(environ, "GRIDBILL_UTILITY_SHORT_NAME", "Gridbill")[:30],
        smtp_username=_env(environ, "GRIDBILL_SMTP_USERNAME", ""),
        smtp_password=_env(environ, "GRIDBILL_SMTP_PASSWORD", ""),
        smtp_tls=_choice(environ, "GRIDBILL_SMTP_TLS", "none", SMTP_TLS_MODES),
        sms_url=_env(environ, "GRIDBILL_SMS_URL", ""),
        sms_api_key=_env(environ, "GRIDBILL_SMS_API_KEY", ""),
        sms_sender=_env(environ, "GRIDBILL_SMS_SENDER", ""),
        sms_entity_id=_env(environ, "GRIDBILL_SMS_ENTITY_ID", ""),
        sms_templates_path=_env(environ, "GRIDBILL_SMS_TEMPLATES", ""),
        fcm_project_id=_env(environ, "GRIDBILL_FCM_PROJECT_ID", ""),
        fcm_credentials_path=_env(environ, "GRIDBILL_FCM_CREDENTIALS", ""),
        fcm_base_url=_env(environ, "GRIDBILL_FCM_BASE_URL", "https://fcm.googleapis.com").rstrip(
            "/"
        ),
        fcm_token_url=_env(
            environ, "GRIDBILL_FCM_TOKEN_URL", "https://oauth2.googleapis.com/token"
        ),
        notify_max_attempts=_positive(environ, "GRIDBILL_NOTIFY_MAX_ATTEMPTS", 8),
        notify_retry_base_s=_positive(environ, "GRIDBILL_NOTIFY_RETRY_BASE", 60),
        notify_lease_s=_positive(environ, "GRIDBILL_NOTIFY_LEASE", 300),
        quiet_hours=_quiet_hours(environ),
        dunning_schedule=_dunning_schedule(environ),
        support_sla_hours=_support_sla(environ),
        sign_in_code_ttl_s=_positive(environ, "GRIDBILL_SIGN_IN_CODE_TTL", 600),
        pg_bin=_env(environ, "PG_BIN", ""),
        metrics_token=_env(environ, "GRIDBILL_METRICS_TOKEN", ""),
        deposit_interest_percent=_percent(environ, "GRIDBILL_DEPOSIT_INTEREST_PERCENT", "6.75"),
        cheque_bounce_fee_paise=_bounce_fee(environ),
        utility_address=tuple(
            line.strip()
            for line in _env(environ, "GRIDBILL_UTILITY_ADDRESS", "").split(";")
            if line.strip()
        ),
        utility_helpline=_env(environ, "GRIDBILL_UTILITY_HELPLINE", ""),
        utility_gstin=_gstin(environ),
    )


GSTIN = re.compile(r"\d{2}[A-Z]{5}\d{4}[A-Z][1-9A-Z]Z[0-9A-Z]")


def _gstin(environ: Mapping[str, str]) -> str:
    """The utility's GST identification number as bills print it (15 characters), or none."""
    value = _env(environ, "GRIDBILL_UTILITY_GSTIN", "").upper()
    if value and not GSTIN.fullmatch(value):
        raise ConfigError(
            f"GRIDBILL_UTILITY_GSTIN={value!r} is not a GSTIN: 15 characters such as 27AAACM1234A1Z5"
        )
    return value


def _bounce_fee(environ: Mapping[str, str]) -> int:
    """The fee a bounced cheque is charged when staff name none: a utility's schedule of
    charges sets it (MSEDCL charges Rs 750 plus GST), so it is configuration, not code."""
    name = "GRIDBILL_CHEQUE_BOUNCE_FEE_PAISE"
    fee = _int(environ, name, 0)
    if not 0 <= fee <= 10**9:
        raise ConfigError(f"{name}={fee} must be between 0 and 1000000000 paise")
    return fee


def ingest_future_margin_hours(environ: Mapping[str, str]) -> int:
    """Hours past now that a delivered reading may be dated and still be stored (read on
    its own too, by the migration that quarantines readings stored before the limit)."""
    name = "GRIDBILL_INGEST_FUTURE_MARGIN_HOURS"
    hours = _positive(environ, name, 24)
    if hours > MAX_FUTURE_MARGIN_HOURS:
        raise ConfigError(f"{name}={hours} must be at most {MAX_FUTURE_MARGIN_HOURS} (a year)")
    return hours


SMTP_TLS_MODES = ("none", "starttls", "tls")


def _choice(environ: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = _env(environ, name, default).lower()
    if value not in choices:
        raise ConfigError(f"{name}={value!r} must be one of {', '.join(choices)}")
    return value


def _quiet_hours(environ: Mapping[str, str]) -> tuple[str, str]:
    """``HH:MM-HH:MM`` (may run past midnight); ``off`` for none."""
    raw = _env(environ, "GRIDBILL_QUIET_HOURS", "21:00-08:00")
    if raw.lower() == "off":
        return ("00:00", "00:00")
    try:
        start, end = raw.split("-")
        for part in (start, end):
            hours, minutes = part.split(":")
            if not (0 <= int(hours) < 24 and 0 <= int(minutes) < 60):
                raise ValueError(part)
    except ValueError:
        raise ConfigError(
            f"GRIDBILL_QUIET_HOURS={raw!r} must look like 21:00-08:00 (local time), or off"
        ) from None
    return (start.strip().zfill(5), end.strip().zfill(5))


def _dunning_schedule(environ: Mapping[str, str]) -> tuple[tuple[str, int, int, int], ...]:
    """``CATEGORY:REMINDER_DAYS_BEFORE:OVERDUE_DAYS_AFTER:NOTICE_DAYS_AFTER,…``; ``*`` = any."""
    raw = _env(environ, "GRIDBILL_DUNNING_SCHEDULE", "*:3:1:7")
    rows = []
    for item in raw.split(","):
        try:
            category, before, overdue, notice = (part.strip() for part in item.split(":"))
            row = (category, int(before), int(overdue), int(notice))
        except ValueError:
            raise ConfigError(
                f"GRIDBILL_DUNNING_SCHEDULE item {item.strip()!r} must look like "
                "domestic:3:1:7 (category, reminder days before due, overdue days after, "
                "disconnection notice days after)"
            ) from None
        if row[1] < 0 or not 1 <= row[2] <= row[3]:
            raise ConfigError(
                f"GRIDBILL_DUNNING_SCHEDULE item {item.strip()!r}: days before due must be 0 "
                "or more, and 1 <= overdue days <= notice days"
            )
        rows.append(row)
    if not any(row[0] == "*" for row in rows):
        rows.append(("*", 3, 1, 7))
    return tuple(rows)


def _support_sla(environ: Mapping[str, str]) -> tuple[tuple[str, int], ...]:
    """``CATEGORY:HOURS,…`` (``*`` = any other category): when a request must be resolved."""
    raw = _env(environ, "GRIDBILL_SUPPORT_SLA", "outage:4,payment:24,billing:72,meter:72,*:72")
    rows = []
    for item in raw.split(","):
        category, _, hours = item.strip().partition(":")
        try:
            value = int(hours)
        except ValueError:
            value = 0
        if not category or value < 1:
            raise ConfigError(
                f"GRIDBILL_SUPPORT_SLA item {item.strip()!r} must look like outage:4 "
                "(a request category and whole hours, 1 or more)"
            )
        rows.append((category, value))
    if not any(row[0] == "*" for row in rows):
        rows.append(("*", 72))
    return tuple(rows)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Process-wide settings, read once."""
    return load_settings()
