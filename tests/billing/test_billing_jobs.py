"""Bill runs as background tasks: the server's in-process runner on SQLite, a worker on PostgreSQL."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from gridbill.settings import Settings, get_settings
from jobs.procrastinate_app import ensure_schema
from jobs.runtime import background_jobs, defer
from store.db import open_database
from store.models import Bill, BillRun, JobRun
from tests.billing.billing_factories import Utility

ROOT = Path(__file__).resolve().parents[2]


async def three_accounts() -> None:
    utility = await Utility.create()
    for n in range(3):
        site = await utility.account()
        await site.read("1.8.0", "10", date(2026, 2, 8))
        await site.read("1.8.0", str(50 + n), date(2026, 3, 8))


@pytest.fixture
def process_settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """The tasks read the process's settings: point them at the test's database."""
    for name, value in (("DATABASE_URL", settings.database_url), ("GRIDBILL_VAR_DIR", str(settings.var_dir)),
                        ("GRIDBILL_SECRET_KEY", settings.secret_key), ("GRIDBILL_ENV", "test")):  # fmt: skip
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


async def test_bill_run_task_in_process(on_sqlite: None, process_settings: Settings) -> None:
    async with open_database(process_settings.database_url):
        await three_accounts()
        async with background_jobs(process_settings):
            await defer("bill_run", cycle="C08", period="2026-03")
            for _ in range(500):
                if await JobRun.filter(task="bill_run", succeeded__not_isnull=True).exists():
                    break
                await asyncio.sleep(0.02)
        job = await JobRun.get(task="bill_run")
        assert job.succeeded and job.result["bills"] == 3 and job.engine == "inprocess"
        assert await Bill.filter(status="draft").count() == 3


async def test_the_issue_task_in_process_queues_the_pdfs(
    on_sqlite: None, process_settings: Settings
) -> None:
    """SQLite: the issue job queues render_bill_pdfs from inside the in-process runner."""
    async with open_database(process_settings.database_url):
        await three_accounts()
        async with background_jobs(process_settings):
            for name, kwargs, then in (
                ("bill_run", {}, "bill_run"),  # the run completes before it is issued
                ("issue_bills", {"issue_date": "2026-03-11"}, "render_bill_pdfs"),
            ):
                await defer(name, cycle="C08", period="2026-03", **kwargs)
                for _ in range(1000):
                    if await JobRun.filter(task=then, succeeded__not_isnull=True).exists():
                        break
                    await asyncio.sleep(0.02)
        issued = await JobRun.get(task="issue_bills")
        assert issued.succeeded and issued.result == {
            "issued": 3, "payable_paise": issued.result["payable_paise"], "pdf_jobs": 1,
        }  # fmt: skip
        assert (await JobRun.get(task="render_bill_pdfs")).result == {"rendered": 3}
        bills = await Bill.filter(status="issued")
        assert len(bills) == 3 and all(b.pdf_path for b in bills)


async def test_bill_run_task_on_a_worker(
    on_postgres: None, process_settings: Settings, subprocess_env: dict[str, str]
) -> None:
    await ensure_schema(process_settings)
    async with open_database(process_settings.database_url):
        await three_accounts()
        async with background_jobs(process_settings):
            await defer("bill_run", cycle="C08", period="2026-03")
            await defer("issue_bills", cycle="C08", period="2026-03", issue_date="2026-03-11")
    worker = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "cli.main", "worker", "--once", "--concurrency", "1"],
        env=subprocess_env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert worker.returncode == 0, worker.stderr
    async with open_database(process_settings.database_url):
        assert (await BillRun.get()).bills_created == 3
        bills = await Bill.filter(status="issued")
        assert len(bills) == 3 and all(b.pdf_path for b in bills)
        # issue_bills queued the PDFs as a render_bill_pdfs job, which the worker ran too.
        done = {j.task for j in await JobRun.filter(succeeded=True)}
        assert done == {"bill_run", "issue_bills", "render_bill_pdfs"}
