"""``gridbill bill-run``: the summary a person reads, issuing, and one-line errors."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from cli.bill_run import BillRunCommandError, add_parser
from cli.dates import BadDate
from gridbill.settings import Settings
from jobs.procrastinate_app import ensure_schema
from store.db import open_database
from store.models import Bill, LedgerEntry
from tests.billing.billing_factories import Utility
from tests.conftest import pg_admin_url

ROOT = Path(__file__).resolve().parents[2]


def bill_run(settings: Settings, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="gridbill")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["bill-run", *argv, "--no-progress"])
    result: int = args.handler(settings, args)
    return result


async def small_utility(url: str) -> None:
    async with open_database(url):
        utility = await Utility.create()
        for n in range(3):
            site = await utility.account()
            await site.read("1.8.0", "100", date(2026, 2, 8))
            if n:  # the first account has no read this month: estimated
                await site.read("1.8.0", str(100 + 50 * n), date(2026, 3, 8))
        await utility.account()  # no reads at all: skipped


def test_run_prints_a_summary_then_issue_numbers_posts_and_renders(
    settings: Settings, subprocess_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(small_utility(settings.database_url))
    if settings.is_postgres:  # as `gridbill migrate` does: the job queue's tables
        asyncio.run(ensure_schema(settings))
    assert bill_run(settings, "--cycle", "C08", "--period", "2026-03") == 0
    out = capsys.readouterr().out
    assert re.search(r"Bill run #1 of cycle C08 for 2026-03: completed", out)
    assert re.search(r"accounts\s+4\n", out) and re.search(r"bills\s+3 \(1 estimated\)", out)
    assert re.search(r"skipped\s+1\n\s+1\s+no opening read", out)
    assert re.search(r"total billed\s+Rs [\d,]+\.\d\d", out) and "--issue" in out
    assert bill_run(settings, "--cycle", "C08", "--period", "2026-03", "--issue",
                    "--issue-date", "2026-03-11") == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "Issued 3 bills of cycle C08 for 2026-03 dated 2026-03-11" in out
    assert "BL/2025-26/000001 to BL/2025-26/000003" in out
    if settings.is_postgres:  # the PDFs were queued: a worker renders them
        assert "queued for the workers" in out
        worker = subprocess.run(
            [sys.executable, "-m", "cli.main", "worker", "--once"],
            env=subprocess_env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert worker.returncode == 0, worker.stderr

    async def check() -> None:
        async with open_database(settings.database_url):
            bills = await Bill.filter(status="issued")
            assert len(bills) == 3 and all(b.pdf_path for b in bills)
            assert await LedgerEntry.filter(kind="bill").count() == 3

    asyncio.run(check())
    assert len(list((settings.var_dir / "bills" / "2025-26").glob("*.pdf"))) == 3


def test_bad_options_are_one_line_errors(settings: Settings) -> None:
    with pytest.raises(BillRunCommandError, match="--chunk-size"):
        bill_run(settings, "--cycle", "C08", "--period", "2026-03", "--chunk-size", "0")
    with pytest.raises(BadDate, match=r"--issue-date '11/3' is not a date \(YYYY-MM-DD\)"):
        bill_run(
            settings, "--cycle", "C08", "--period", "2026-03", "--issue", "--issue-date", "11/3"
        )


def test_as_a_process_an_unknown_cycle_is_one_line(
    settings: Settings, subprocess_env: dict[str, str]
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cli.bill_run", "--cycle", "NOPE", "--period", "2026-03"],
        env=subprocess_env, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.startswith("gridbill: error: no billing cycle 'NOPE'")
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_the_benchmark_runs_at_a_tiny_size(backend: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRIDBILL_", "DATABASE_URL"))}
    database = "sqlite"
    if backend == "postgres":
        env["BENCH_PG_URL"] = pg_admin_url() or ""
        database = "postgres"
    result = subprocess.run(
        [sys.executable, "bench/bill_run.py", "--accounts", "50", "--pdfs", "3", "--database", database],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    line = next(ln for ln in lines if ln.startswith(("sqlite", "postgresql")))
    assert re.search(r"accounts\s+50\s+bills\s+50\s+.*bills/s\s+peak memory\s+\d+ MiB", line)
    assert re.search(r"issue\s+50 bills in .* bills/s", result.stdout)
    figures = json.loads(lines[-1])["sqlite" if backend == "sqlite" else "postgresql"]
    assert figures["issued"] == 50 and figures["pdf_sample"] == 3
    assert figures["pdfs_per_s_1_worker"] > 0 and figures["cycle_per_s"] > 0
    # PostgreSQL: two `gridbill worker --once` processes drain the render_bill_pdfs jobs.
    assert (figures["pdfs_per_s_2_workers"] is None) == (backend == "sqlite")
    # The rate counts the queue's own start-to-end; the workers' start-up is shown apart.
    assert set(figures["pdf_start_up_s"]) == ({"1"} if backend == "sqlite" else {"1", "2"})
    assert all(s >= 0 for s in figures["pdf_start_up_s"].values())


def test_the_page_benchmark_runs_at_a_tiny_size() -> None:
    result = subprocess.run(
        [sys.executable, "bench/bill_page.py", "--pages", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout.splitlines()[-1])
    assert figures["rl_accel"] is True  # pyproject's rl-accel is installed and used
    for language in ("en", "hi"):
        assert figures[language]["cpu_ms_per_page"] > 0
        assert f"{language}  " in result.stdout
