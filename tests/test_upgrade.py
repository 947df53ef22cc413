"""Upgrading from v0.1.0: its demo database, kept as a fixture, migrates to today's schema.

``tests/fixtures/upgrade/demo-v0.1.0.sqlite3.gz`` is ``gridbill demo-data --customers 20
--seed 2026`` as written by v0.1.0 (commit 786e65b, migrations 0001 to 0003), vacuumed
and gzipped. Every later migration must carry its rows forward: the test migrates a copy
with the real command, compares what the old rows said with what the upgraded database
says, and bills a month on it with today's code. docs/operations.md, "Upgrades".
"""

from __future__ import annotations

import asyncio
import gzip
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

from gridbill.passwords import verify_secret
from services.billing.runs import run_bill_run
from store.db import open_database
from store.models import Bill, BillingCycle, User

FIXTURE = Path(__file__).parent / "fixtures" / "upgrade" / "demo-v0.1.0.sqlite3.gz"
KEPT = ("customers", "accounts", "meters", "register_reads", "interval_readings", "users")


def counts(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as conn:
        return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in KEPT}  # noqa: S608


def test_the_v0_1_0_demo_database_migrates_and_bills(
    tmp_path: Path, subprocess_env: dict[str, str], on_sqlite: None
) -> None:
    path = tmp_path / "v0.1.0.sqlite3"
    with gzip.open(FIXTURE) as packed, path.open("wb") as out:
        shutil.copyfileobj(packed, out)
    before = counts(path)
    assert before["customers"] == 20 and before["interval_readings"] > 10_000
    env = {**subprocess_env, "DATABASE_URL": f"sqlite://{path}"}
    result = subprocess.run(
        [sys.executable, "-m", "cli.main", "migrate"],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert counts(path) == before
    asyncio.run(signs_in_and_bills(path))


async def signs_in_and_bills(path: Path) -> None:
    async with open_database(f"sqlite://{path}"):
        admin = await User.get(email="admin@gridbill.example")
        assert verify_secret(admin.password_hash or "", "demo-admin-1")
        cycle = await BillingCycle.all().order_by("code").first()
        assert cycle is not None
        last_read = max(
            r[0] for r in sqlite3.connect(path).execute("SELECT read_at FROM register_reads")
        )
        period = str(last_read)[:7]
        summary = await run_bill_run(
            cycle_code=cycle.code, period=period, zone=ZoneInfo("Asia/Kolkata")
        )
        assert summary.bills > 0 and await Bill.filter(status="draft").count() == summary.bills
