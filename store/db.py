"""Opening, migrating and checking the database, for SQLite and PostgreSQL alike."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tortoise import Tortoise
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.connection import get_connection
from tortoise.context import TortoiseContext
from tortoise.migrations.api import migrate as tortoise_migrate

from gridbill.errors import UserError
from gridbill.settings import POSTGRES_SCHEMES

log = logging.getLogger(__name__)

APP_LABEL = "gridbill"
MODELS_MODULE = "store.models"
MIGRATIONS_MODULE = "store.migrations"
CONNECT_TIMEOUT_S = 10


class DatabaseUnavailable(UserError):
    """The database could not be reached; the message says which and why, in one line."""


def is_postgres(database_url: str) -> bool:
    return urlsplit(database_url).scheme in POSTGRES_SCHEMES


def sqlite_path(database_url: str) -> Path | None:
    if is_postgres(database_url):
        return None
    path = database_url.split("://", 1)[1].split("?", 1)[0]
    return None if path == ":memory:" else Path(path)


def tortoise_config(database_url: str, *, pool_max: int = 10) -> dict[str, Any]:
    """Tortoise's config dict for our one app, with the driver options we rely on."""
    connection = expand_db_url(database_url)
    credentials = connection["credentials"]
    if is_postgres(database_url):
        credentials.setdefault("minsize", 1)
        credentials.setdefault("maxsize", pool_max)
        credentials.setdefault("timeout", CONNECT_TIMEOUT_S)
    else:
        # Wait for a writer instead of failing at once when the server and a CLI share the file.
        credentials.setdefault("busy_timeout", 10_000)
        connection["engine"] = "store.sqlite_backend"  # row counts without trigger changes
    return {
        "connections": {"default": connection},
        "apps": {
            APP_LABEL: {
                "models": [MODELS_MODULE],
                "migrations": MIGRATIONS_MODULE,
                "default_connection": "default",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def _prepare_sqlite(database_url: str) -> None:
    """Create the file's folder and prove the file opens, before Tortoise tries.

    Tortoise 1.1 holds an internal lock when its SQLite connect fails, so the next query
    waits forever: an unopenable file must be caught here, with the reason.
    """
    path = sqlite_path(database_url)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.closing(sqlite3.connect(path, timeout=CONNECT_TIMEOUT_S)) as conn:
            conn.execute("SELECT 1")
    except (OSError, sqlite3.Error) as exc:
        raise DatabaseUnavailable(f"cannot open SQLite database {path}: {exc}") from None


def _describe(database_url: str) -> str:
    """The URL without its password, for error messages and logs."""
    parts = urlsplit(database_url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return database_url


async def ping() -> None:
    """A round trip to the database; raises :class:`DatabaseUnavailable`."""
    try:
        await asyncio.wait_for(
            get_connection("default").execute_query("SELECT 1"), CONNECT_TIMEOUT_S
        )
    except Exception as exc:  # every driver has its own exception tree
        raise DatabaseUnavailable(f"database is not reachable: {exc}") from exc


@contextlib.asynccontextmanager
async def open_database(database_url: str, *, pool_max: int = 10) -> AsyncIterator[TortoiseContext]:
    """Connect for the duration of the block; a bad URL or dead server is one clear error."""
    _prepare_sqlite(database_url)
    # Tortoise caches compiled INSERT/DELETE statements per connection *name*, not per
    # dialect: a process that opens SQLite and then PostgreSQL (the test suite, a data
    # copy tool) would send SQLite placeholders to PostgreSQL. Start each open afresh.
    EXECUTOR_CACHE.clear()
    ctx = TortoiseContext()
    async with ctx:
        try:
            await asyncio.wait_for(
                ctx.init(
                    config=tortoise_config(database_url, pool_max=pool_max),
                    _enable_global_fallback=True,
                ),
                CONNECT_TIMEOUT_S * 2,
            )
            await asyncio.wait_for(
                get_connection("default").execute_query("SELECT 1"), CONNECT_TIMEOUT_S
            )
        except UserError:
            raise
        except Exception as exc:
            raise DatabaseUnavailable(
                f"cannot connect to {_describe(database_url)}: {exc or type(exc).__name__}"
            ) from exc
        try:
            yield ctx
        finally:
            await ctx.close_connections()


async def migrate(database_url: str) -> list[str]:
    """Apply every pending migration; returns the names applied."""
    await check_database(database_url)  # the same one-line errors as every other command
    applied: list[str] = []

    def progress(event: str, app_label: str, name: str) -> None:
        if event == "apply_done":
            applied.append(f"{app_label}.{name}")

    try:
        await tortoise_migrate(config=tortoise_config(database_url), progress=progress)
    finally:
        await Tortoise.close_connections()
    return applied


async def check_database(database_url: str) -> None:
    """Connect once and disconnect: raises :class:`DatabaseUnavailable` with the reason."""
    async with open_database(database_url):
        pass
