"""``gridbill demo-data``: write the generated demo utility into an empty database.

Everything is written in one transaction, so a failure leaves the database as it was and
the command can simply be run again. Only an empty database is loaded: the demo's fixed
passwords must never land next to real customers. A database without any tables yet is
migrated first, so the command works on a brand-new SQLite file.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
import time
from datetime import UTC, date, datetime

import asyncpg
from tortoise.connection import get_connection
from tortoise.exceptions import IntegrityError, OperationalError
from tortoise.transactions import in_transaction
from tqdm import tqdm

from gridbill.errors import UserError
from gridbill.passwords import hash_secret
from gridbill.settings import Settings
from services.meter_data import aggregates
from services.meter_data.vee_config import load_config
from store.db import migrate, open_database

from .bulk import BulkWriter
from .generator import MIN_CUSTOMERS, build_demo_utility
from .history import History, live_through
from .plan import DemoUtility
from .rows import RowBuilder
from .summary import Counts, render_summary
from .writes import write_people, write_reference_data, write_sign_ins


class DemoDataError(UserError):
    """The demo data cannot be loaded here; the message says why and what to do."""


class Secrets:
    """The partner secret (random, shown once) and Argon2 hashes of every demo password."""

    def __init__(self, plan: DemoUtility) -> None:
        self.partner_secret = secrets.token_urlsafe(32)
        self.passwords = {user.email: user.password for user in plan.users}
        self.hashes: dict[str, str] = {}
        self.partner_hash = ""

    def compute(self) -> None:
        """Argon2 is slow on purpose (~50 ms a hash): run in a thread while migrations run."""
        self.hashes = {email: hash_secret(password) for email, password in self.passwords.items()}
        self.partner_hash = hash_secret(self.partner_secret)


async def load_demo_data(
    settings: Settings,
    *,
    customers: int = 1000,
    seed: int = 2026,
    if_empty: bool = False,
    progress: bool = True,
    today: date | None = None,
    served: bool = False,
) -> int:
    """Load the demo utility; returns the exit status (0, also when skipped by ``if_empty``).

    ``served`` says the caller (``make run``) starts the server next, so the printout
    does not tell the reader to start it.
    """
    started = time.perf_counter()
    if customers < MIN_CUSTOMERS:
        raise DemoDataError(f"--customers must be at least {MIN_CUSTOMERS}, got {customers}")
    if await _has_data(settings.database_url):
        if if_empty:
            print("demo data already loaded")
            return 0
        raise DemoDataError(
            "the database already has customers: demo data loads only into an empty database "
            "(use --if-empty to skip quietly, or point DATABASE_URL at a new database)"
        )
    today = today or datetime.now(settings.zone).date()
    plan = build_demo_utility(seed=seed, customers=customers, today=today, zone=settings.zone)
    keys = Secrets(plan)
    await asyncio.gather(migrate(settings.database_url), asyncio.to_thread(keys.compute))
    counts = await _write(settings, plan, keys, progress)
    await _aggregate_usage(settings)
    history = await _live_through(plan, settings, seed)
    elapsed = time.perf_counter() - started
    print(
        render_summary(
            plan, counts, settings, seed=seed, elapsed_s=elapsed, secret=keys.partner_secret,
            history=history, served=served,
        )
    )  # fmt: skip
    return 0


TABLE_EXISTS = {
    "postgres": "SELECT 1 FROM information_schema.tables "
    "WHERE table_schema = current_schema() AND table_name = 'customers'",
    "sqlite": "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'customers'",
}


async def _has_data(database_url: str) -> bool:
    """True when there are customers; a database without tables yet counts as empty."""
    async with open_database(database_url):
        connection = get_connection("default")
        if not await connection.execute_query_dict(TABLE_EXISTS[connection.capabilities.dialect]):
            return False
        return bool(await connection.execute_query_dict("SELECT 1 FROM customers LIMIT 1"))


async def _write(settings: Settings, plan: DemoUtility, keys: Secrets, progress: bool) -> Counts:
    """Everything in one transaction, with a progress bar over the rows written."""
    bar = tqdm(
        total=_row_total(plan),
        unit="rows",
        unit_scale=True,
        desc="demo data",
        disable=not progress,
        file=sys.stderr,
    )
    try:
        async with open_database(settings.database_url), in_transaction() as connection:
            writer = BulkWriter(connection, bar.update)
            rows = RowBuilder(plan, writer.dialect, datetime.now(UTC), settings.zone)
            ids = await write_reference_data(plan, keys.hashes)
            await write_people(plan, writer, rows, ids)
            await write_sign_ins(plan, ids, keys.hashes, keys.partner_hash)
            return await Counts.of(writer)
    except (IntegrityError, OperationalError, asyncpg.PostgresError) as exc:
        raise DemoDataError(f"loading demo data failed and nothing was saved: {exc}") from exc
    finally:
        bar.close()


async def _aggregate_usage(settings: Settings) -> None:
    """The bulk insert bypasses ingestion, so build the daily and monthly usage it would keep."""
    async with open_database(settings.database_url):
        await aggregates.rebuild(zone=settings.zone, calendar=load_config(settings).usage_calendar)


async def _live_through(plan: DemoUtility, settings: Settings, seed: int) -> History:
    """Bills, payments and field work of the last months, through the product's services.

    Unlike the bulk rows these are not one transaction: a failure here leaves a loaded
    demo without (some of) its history, so the error says how to start again.
    """
    try:
        async with open_database(settings.database_url):
            return await live_through(plan, settings, seed=seed)
    except (IntegrityError, OperationalError, asyncpg.PostgresError, UserError) as exc:
        raise DemoDataError(
            f"the demo's bills and payments could not be made ({exc}); "
            "load the demo into a new database again"
        ) from exc


def _row_total(plan: DemoUtility) -> int:
    """Rows the progress bar counts: the bulk-written tables (the few others are instant)."""
    per_connection = 7  # customer, premise, service point, account, holder, tariff, meter
    per_meter = 2  # installation, multiplier
    registers = sum(1 for _ in plan.registers())
    stops = sum(1 for m in plan.meters if m.route_code is not None)
    return (
        len(plan.customers) * per_connection + len(plan.meters) * per_meter + registers + stops
        + plan.read_count + plan.interval_count
    )  # fmt: skip
