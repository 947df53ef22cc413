"""Bill runs as real OS processes: two at once on PostgreSQL, and one killed mid-run.

The processes run ``python -m cli.bill_run`` (the ``gridbill bill-run``
command) against the test's database, loaded with a synthetic utility.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from demo.synthetic import load_synthetic
from store.db import open_database
from store.models import Bill, BillRun
from tests.factories import ZONE

ROOT = Path(__file__).resolve().parents[2]
PERIOD = "2026-03"
COMMAND = [sys.executable, "-m", "cli.bill_run", "--cycle", "SYN-01",
           "--period", PERIOD, "--no-progress"]  # fmt: skip

pytestmark = pytest.mark.slow
ACCOUNTS = 1000


def spawn(env: dict[str, str], *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*COMMAND, *extra], env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


async def finish(process: subprocess.Popen[str]) -> str:
    out, err = await asyncio.to_thread(process.communicate, timeout=120)
    assert process.returncode == 0, err
    return out


async def active_per_account() -> Counter[int]:
    bills = await Bill.filter(active_period__isnull=False).values_list("account_id", flat=True)
    return Counter(bills)  # type: ignore[arg-type]


async def test_two_runs_of_one_cycle_at_once_bill_each_account_once(
    on_postgres: None, database_url: str, subprocess_env: dict[str, str]
) -> None:
    async with open_database(database_url):
        await load_synthetic(accounts=ACCOUNTS, period=PERIOD, zone=ZONE)
    first, second = (
        spawn(subprocess_env, "--chunk-size", "10", "--resume"),
        spawn(subprocess_env, "--chunk-size", "10", "--resume"),
    )
    outputs = [await finish(first), await finish(second)]
    async with open_database(database_url):
        per_account = await active_per_account()
        assert len(per_account) == ACCOUNTS and set(per_account.values()) == {1}
        runs = await BillRun.all()
        assert sum(r.bills_created for r in runs) == ACCOUNTS
        assert all(r.status.value == "completed" for r in runs)
    assert all("Bill run #" in out for out in outputs)


async def test_a_run_killed_mid_way_resumes_and_bills_everyone_exactly_once(
    database_url: str, subprocess_env: dict[str, str]
) -> None:
    accounts = 1000
    async with open_database(database_url):
        await load_synthetic(accounts=accounts, period=PERIOD, zone=ZONE)
        process = spawn(subprocess_env, "--chunk-size", "5")
        try:
            for _ in range(3000):
                run = await BillRun.first()
                if run is not None and run.last_account_id > 0:
                    break
                await asyncio.sleep(0.01)
            os.kill(process.pid, signal.SIGKILL)
        finally:
            await asyncio.to_thread(process.communicate)
        assert process.returncode == -signal.SIGKILL
        killed = await BillRun.get()
        billed = sum((await active_per_account()).values())
        assert killed.status.value == "running" and 0 < billed < accounts
        assert killed.bills_created == billed  # progress commits with its bills
    refused = spawn(subprocess_env)  # the run still looks busy: an operator takes it over
    _, err = await asyncio.to_thread(refused.communicate, timeout=120)
    assert refused.returncode == 1 and "is running" in err
    out = await finish(spawn(subprocess_env, "--resume"))
    assert f"resumed after account #{killed.last_account_id}" in out
    async with open_database(database_url):
        per_account = await active_per_account()
        assert len(per_account) == accounts and set(per_account.values()) == {1}
        run = await BillRun.get()
        assert run.id == killed.id and run.status.value == "completed"
        assert run.bills_created == accounts and run.skip_reasons == {}
