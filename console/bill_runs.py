"""Bill runs: start one, follow it live, review its drafts, issue, cancel or rebill.

Every action calls the service GraphQL calls (``services.billing.runs.start_run``,
``services.billing.issue``) with the signed-in staff member as the actor, so the audit
rows are the same whichever door was used. A run and the issue of a whole run are
background jobs, as with ``startBillRun`` / ``issueBillRun``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from console.account import pdf_link
from console.pages import Console, Form
from console.session import Staff
from domain.bill_review import review_flags
from domain.enums import BillRunStatus, BillStatus
from jobs.runtime import defer
from services import audit
from services.billing.corrections import cancel_bill, rebill
from services.billing.issue import issuable_run, issue_bills
from services.billing.runs import start_run
from services.errors import NotFound, Refused
from store.models import Bill, BillingCycle, BillLine, BillRun

RUNS_SHOWN = 30
DRAFTS_SHOWN = 300
HISTORY_BILLS = 6
LIVE = (BillRunStatus.PENDING, BillRunStatus.RUNNING)


def _today(console: Console) -> date:
    return datetime.now(UTC).astimezone(console.settings.zone).date()


async def runs_page(console: Console, request: Request, staff: Staff, form: Form) -> Response:
    return console.render(
        "bill_runs.html", staff,
        runs=await BillRun.all().order_by("-id").limit(RUNS_SHOWN).prefetch_related("cycle"),
        cycles=await BillingCycle.all().order_by("code"), period=f"{_today(console):%Y-%m}",
    )  # fmt: skip


async def start(console: Console, request: Request, staff: Staff, form: Form) -> Response:
    run, cycle, month = await start_run(
        staff.viewer, cycle_code=form.get("cycle", ""), period=form.get("period", "")
    )
    await defer("bill_run", cycle=cycle.code, period=str(month))
    return RedirectResponse(f"/console/bill-runs/{run.id}", status_code=303)


async def _run(request: Request) -> BillRun:
    run = await BillRun.get_or_none(id=int(request.path_params["run_id"])).prefetch_related("cycle")
    if run is None:
        raise NotFound("bill run")
    return run


async def _history(account_ids: list[int], before: date) -> dict[int, list[int]]:
    rows = (
        await Bill.filter(
            account_id__in=account_ids, status=BillStatus.ISSUED, period_start__lt=before
        )
        .order_by("-period_start")
        .values("account_id", "consumption_wh")
    )
    history: dict[int, list[int]] = {}
    for row in rows:
        kept = history.setdefault(row["account_id"], [])
        if len(kept) < HISTORY_BILLS:
            kept.append(int(row["consumption_wh"]))
    return history


async def _drafts(run: BillRun, flagged_only: bool) -> list[dict[str, Any]]:
    bills = (
        await Bill.filter(bill_run_id=run.id)
        .order_by("id")
        .limit(DRAFTS_SHOWN)
        .prefetch_related("account", "customer")
    )
    history = await _history([b.account.id for b in bills], run.period_start)
    rows = []
    for bill in bills:
        flags = review_flags(
            bill.consumption_wh, history_wh=history.get(bill.account.id, []),
            is_estimated=bill.is_estimated,
        )  # fmt: skip
        if flags or not flagged_only:
            rows.append({"bill": bill, "flags": flags, "history": history.get(bill.account.id, [])})
    return rows


async def run_page(console: Console, request: Request, staff: Staff, form: Form) -> Response:
    run = await _run(request)
    flagged_only = request.query_params.get("flagged") == "1"
    return console.render(
        "bill_run.html", staff, run=run, live=run.status in LIVE, flagged_only=flagged_only,
        drafts=[] if run.status in LIVE else await _drafts(run, flagged_only),
        drafts_shown=DRAFTS_SHOWN, today=_today(console),
        request_queued=request.query_params.get("queued") == "1",
    )  # fmt: skip


async def progress(console: Console, request: Request, staff: Staff, form: Form) -> Response:
    """The live part of a run's page, polled by htmx; the whole page reloads when it ends."""
    run = await _run(request)
    if run.status not in LIVE and request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Refresh": "true"})
    return console.render("_run_progress.html", staff, run=run, live=run.status in LIVE)


async def issue_run_page(console: Console, request: Request, staff: Staff, form: Form) -> Response:
    """Queue the issue of every draft of a completed run, exactly as ``issueBillRun`` does."""
    found = await _run(request)
    period = f"{found.period_start:%Y-%m}"
    run = await issuable_run(cycle_code=found.cycle.code, period=period)
    if run.id != found.id:
        raise Refused("INVALID_STATE", f"bill run #{run.id} replaced this one: issue it")
    issue_date = _today(console)
    await audit.record(
        viewer=staff.viewer, action="bill_run.issue_queued", entity="bill_run", entity_id=run.id,
        after={"issue_date": issue_date},
    )  # fmt: skip
    await defer(
        "issue_bills", cycle=found.cycle.code, period=period,
        issue_date=issue_date.isoformat(), requested_by=staff.viewer.user_id,
    )  # fmt: skip
    return RedirectResponse(f"/console/bill-runs/{run.id}?queued=1", status_code=303)


async def _bill(request: Request) -> Bill:
    bill = await Bill.get_or_none(id=int(request.path_params["bill_id"])).prefetch_related(
        "account", "customer"
    )
    if bill is None:
        raise NotFound("bill")
    return bill


async def bill_page(console: Console, request: Request, staff: Staff, form: Form) -> Response:
    bill = await _bill(request)
    history = (await _history([bill.account.id], bill.period_start)).get(bill.account.id, [])
    return console.render(
        "bill.html", staff, bill=bill, pdf=pdf_link(console, bill), history=history,
        lines=await BillLine.filter(bill_id=bill.id).order_by("position"),
        flags=review_flags(bill.consumption_wh, history_wh=history, is_estimated=bill.is_estimated)
        if bill.status == BillStatus.DRAFT else [],
        replaced_by=await Bill.filter(replaces_id=bill.id).first(),
        notice=request.query_params.get("done", ""),
    )  # fmt: skip


async def issue_one(console: Console, request: Request, staff: Staff, form: Form) -> Response:
    bill_id = int(request.path_params["bill_id"])
    settings = console.settings
    issued = await issue_bills(
        staff.viewer, [bill_id], issue_date=_today(console), utility_name=settings.utility_name,
        payee_vpa=settings.upi_vpa, letterhead=settings.letterhead,
    )  # fmt: skip
    if not issued.issued:
        raise Refused("INVALID_STATE", "this bill is not a draft: nothing was issued")
    await defer("render_bill_pdfs", bill_ids=issued.issued)
    return RedirectResponse(f"/console/bills/{bill_id}?done=issued", status_code=303)


async def cancel(console: Console, request: Request, staff: Staff, form: Form) -> Response:
    bill_id = int(request.path_params["bill_id"])
    await cancel_bill(staff.viewer, bill_id, reason=form.get("reason", ""), on=_today(console))
    return RedirectResponse(f"/console/bills/{bill_id}?done=cancelled", status_code=303)


async def rebill_page(console: Console, request: Request, staff: Staff, form: Form) -> Response:
    bill_id = int(request.path_params["bill_id"])
    draft_id = await rebill(
        staff.viewer, bill_id, reason=form.get("reason", ""), on=_today(console),
        zone=console.settings.zone,
    )  # fmt: skip
    return RedirectResponse(f"/console/bills/{draft_id}?done=rebilled", status_code=303)
