"""Billing's background tasks: bill runs, issuing reviewed drafts, and bill PDFs.

Each is a plain async function over the services, so a worker (PostgreSQL), the server's
in-process runner (SQLite) and the ``gridbill bill-run`` command do the same work.
Issued bills' PDFs are queued as ``render_bill_pdfs`` jobs of :data:`PDF_JOB_BILLS` bills
(:func:`defer_bill_pdfs`), so on PostgreSQL every ``gridbill worker`` takes a share.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from domain.deposit import FinancialYear
from gridbill.settings import get_settings
from jobs.registry import task
from jobs.runtime import defer_many
from services.accounts import deposits
from services.billing.documents import render_bills
from services.billing.issue import issue_run
from services.billing.runs import draft_due_runs, run_bill_run
from services.viewer import acting_as

PDF_JOB_BILLS = 25
"""Bills a render_bill_pdfs job renders. Small, so every worker keeps busy to the end: a
worker takes up to ``--concurrency`` jobs at once and renders them on one core, so with
jobs of 100 a worker could take 400 of a 500-bill sample while another took 100."""


async def defer_bill_pdfs(bill_ids: Sequence[int]) -> int:
    """Queue the PDFs of issued bills, :data:`PDF_JOB_BILLS` to a job; returns the jobs."""
    ids = list(bill_ids)
    runs = [
        {"bill_ids": ids[start : start + PDF_JOB_BILLS]}
        for start in range(0, len(ids), PDF_JOB_BILLS)
    ]
    await defer_many("render_bill_pdfs", runs)
    return len(runs)


@task(name="bill_run")
async def bill_run(cycle: str, period: str) -> dict[str, Any]:
    """Draft a cycle's bills for a month (``period`` YYYY-MM), resuming an unfinished run."""
    settings = get_settings()
    summary = await run_bill_run(cycle_code=cycle, period=period, zone=settings.zone)
    return summary.as_dict()


@task(name="draft_due_bill_runs", periodic_cron="30 20 * * *")
async def draft_due_bill_runs() -> dict[str, Any]:
    """Draft the bill runs the billing calendar says are due (daily, 02:00 in Asia/Kolkata).

    Staff then review and issue; a run that exists already is never touched."""
    settings = get_settings()
    today = datetime.now(settings.zone).date()
    actor = acting_as("job:draft_due_bill_runs")
    summaries = await draft_due_runs(actor, today, settings.zone)
    return {"drafted": [summary.as_dict() for summary in summaries]}


@task(name="deposit_year_end", periodic_cron="0 22 * 4 *")
async def deposit_year_end() -> dict[str, Any]:
    """Credit last financial year's deposit interest and review every deposit, proposing
    top-ups and refunds for staff to decide (03:30 Asia/Kolkata daily from 2 April to
    1 May, so a day missed is caught up; each account is done once a year, a repeat
    changes nothing)."""
    settings = get_settings()
    today = datetime.now(settings.zone).date()
    year = FinancialYear.ended_before(today)
    actor = acting_as("job:deposit_year_end")
    outcomes = await deposits.year_end(actor, year, today, settings.deposit_interest_percent)
    done = [o for o in outcomes if not o.already]
    return {
        "year": year.label,
        "accounts": len(done),
        "top_up_paise": sum(o.top_up_paise for o in done),
        "refund_paise": sum(o.refund_paise for o in done),
        "interest_paise": sum(o.interest_paise for o in done),
    }


@task(name="issue_bills")
async def issue_bill_run(
    cycle: str, period: str, issue_date: str | None = None, requested_by: int | None = None
) -> dict[str, Any]:
    """Issue a completed run's reviewed drafts (refused otherwise), then queue their PDFs
    (``render_bill_pdfs`` jobs, which the workers share).

    The audit rows name the job and the user who asked for it (``requested_by``)."""
    settings = get_settings()
    day = date.fromisoformat(issue_date) if issue_date else datetime.now(settings.zone).date()
    result = await issue_run(
        acting_as("job:issue_bills", user_id=requested_by),
        cycle_code=cycle,
        period=period,
        issue_date=day,
        utility_name=settings.utility_name,
        payee_vpa=settings.upi_vpa,
        letterhead=settings.letterhead,
    )
    jobs = await defer_bill_pdfs(result.issued)
    return {"issued": len(result.issued), "payable_paise": result.payable_paise, "pdf_jobs": jobs}


@task(name="render_bill_pdfs")
async def render_bill_pdfs(bill_ids: list[int]) -> dict[str, Any]:
    """Render and store the PDFs of issued bills (deferred right after they are issued)."""
    return {"rendered": await render_bills(bill_ids, get_settings())}
