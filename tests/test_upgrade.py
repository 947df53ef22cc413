"""Upgrading from v0.1.0: its demo database, kept as a fixture, migrates to today's schema.

``tests/fixtures/upgrade/demo-v0.1.0.sqlite3.gz`` is ``gridbill demo-data --customers 20
--seed 2026`` as written by v0.1.0 (commit 786e65b, migrations 0001 to 0003), vacuumed
and gzipped; ``demo-v0.1.0.pgdump`` is the same demo written by v0.1.0 into PostgreSQL 15
(with the job queue's schema ``gridbill migrate`` adds there), as ``pg_dump --format=custom``.
Every later migration must carry its rows forward: each test restores a copy, migrates it
with the real command, compares what the old rows said with what the upgraded database
says, and bills a month on it with today's code. docs/operations.md, "Upgrades".
"""

from __future__ import annotations

import asyncio
import gzip
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg

from gridbill.passwords import verify_secret
from services.billing.runs import run_bill_run
from services.operations.backup import pg_tool
from store.db import open_database
from store.models import Bill, BillingCycle, RegisterRead, User
from tests.conftest import make_settings

FIXTURES = Path(__file__).parent / "fixtures" / "upgrade"
FIXTURE = FIXTURES / "demo-v0.1.0.sqlite3.gz"
PG_FIXTURE = FIXTURES / "demo-v0.1.0.pgdump"
KEPT = ("customers", "accounts", "meters", "register_reads", "interval_readings", "users")


def counts(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as conn:
        return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in KEPT}  # noqa: S608


def pg_counts(url: str) -> dict[str, int]:
    with psycopg.connect(url.replace("postgres://", "postgresql://", 1)) as conn:
        return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in KEPT}  # type: ignore[index, arg-type]  # noqa: S608


def migrate(env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cli.main", "migrate"],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def test_the_v0_1_0_demo_database_migrates_and_bills(
    tmp_path: Path, subprocess_env: dict[str, str], on_sqlite: None
) -> None:
    path = tmp_path / "v0.1.0.sqlite3"
    with gzip.open(FIXTURE) as packed, path.open("wb") as out:
        shutil.copyfileobj(packed, out)
    before = counts(path)
    assert before["customers"] == 20 and before["interval_readings"] > 10_000
    migrate({**subprocess_env, "DATABASE_URL": f"sqlite://{path}"})
    assert counts(path) == before
    asyncio.run(signs_in_and_bills(f"sqlite://{path}"))


def test_the_v0_1_0_demo_database_on_postgresql_migrates_and_bills(
    fresh_database_url: str, tmp_path: Path, subprocess_env: dict[str, str], on_postgres: None
) -> None:
    settings = make_settings(fresh_database_url, tmp_path)
    restored = subprocess.run(
        [pg_tool("pg_restore", settings), "--no-owner", "--no-privileges", "--exit-on-error",
         "--dbname", fresh_database_url.replace("postgres://", "postgresql://", 1), str(PG_FIXTURE)],
        capture_output=True, text=True, timeout=300, env={**os.environ},
    )  # fmt: skip
    assert restored.returncode == 0, restored.stderr
    before = pg_counts(fresh_database_url)
    assert before["customers"] == 20 and before["interval_readings"] > 10_000
    migrate({**subprocess_env, "DATABASE_URL": fresh_database_url})
    assert pg_counts(fresh_database_url) == before
    asyncio.run(signs_in_and_bills(fresh_database_url))


async def signs_in_and_bills(url: str) -> None:
    async with open_database(url):
        admin = await User.get(email="admin@gridbill.example")
        assert verify_secret(admin.password_hash or "", "demo-admin-1")
        cycle = await BillingCycle.all().order_by("code").first()
        assert cycle is not None
        last_read = await RegisterRead.all().order_by("-read_at").first()
        assert last_read is not None
        period = f"{last_read.read_at:%Y-%m}"
        summary = await run_bill_run(
            cycle_code=cycle.code, period=period, zone=ZoneInfo("Asia/Kolkata")
        )
        assert summary.bills > 0 and await Bill.filter(status="draft").count() == summary.bills
