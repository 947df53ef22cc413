"""The dunning schedule over real bills: reminders, overdue notices, disconnection notices.

Each day's run looks at every issued bill with money still owed around its due date and
takes the step the account category's schedule (``GRIDBILL_DUNNING_SCHEDULE``, rules in
:mod:`domain.dunning`) has reached: a ``dunning_steps`` row (unique per bill and step) and
the outbox rows, in one transaction. A second run the same day, or a concurrent one, finds
the step taken and does nothing, so the periodic task is idempotent per account and step.

An account drops out at once when it pays (nothing outstanding) or holds an open dispute
(a support request of category ``billing`` not yet resolved or closed): the run skips
it, the dispatcher skips its queued reminders, and it is not eligible for disconnection.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from domain.dunning import DISCONNECTION_NOTICE, Schedule, disconnection_allowed_from, step_due
from domain.enums import BillStatus, OutboxStatus, SupportStatus
from gridbill.settings import Settings
from services.notifications.outbox import notify_customer
from services.payments.settlement import outstanding
from store.models import Bill, DunningStep, OutboxMessage, SupportRequest

OPEN_DISPUTE = (SupportStatus.OPEN, SupportStatus.AWAITING_CUSTOMER)
LOOKBACK_DAYS = 120


def schedule_for(settings: Settings, category: str) -> Schedule:
    rows = {row[0]: row for row in settings.dunning_schedule}
    _, before, overdue, notice = rows.get(category) or rows["*"]
    return Schedule(
        reminder_days_before=before, overdue_days_after=overdue, notice_days_after=notice
    )


async def disputed(account_id: int) -> bool:
    return await SupportRequest.exists(
        account_id=account_id, category="billing", status__in=OPEN_DISPUTE
    )


async def still_due(bill_id: int) -> str | None:
    """None while a bill's dunning may go on, else why not (``paid``, ``disputed``…)."""
    bill = await Bill.get_or_none(id=bill_id)
    if bill is None or bill.status != BillStatus.ISSUED:
        return "bill no longer issued"
    if outstanding(bill) <= 0:
        return "paid"
    if await disputed(bill.account_id):  # type: ignore[attr-defined]
        return "disputed"
    return None


async def run_dunning(settings: Settings, *, today: date) -> dict[str, Any]:
    """Take today's steps; returns counts per step and of accounts left out."""
    horizon = max(row[1] for row in settings.dunning_schedule)
    bills = (
        await Bill.filter(
            status=BillStatus.ISSUED,
            due_date__gte=today - timedelta(days=LOOKBACK_DAYS),
            due_date__lte=today + timedelta(days=horizon),
        )
        .prefetch_related("account")
        .order_by("id")
    )
    counts: dict[str, Any] = {"paid": 0, "disputed": 0}
    for bill in bills:
        if outstanding(bill) <= 0:
            counts["paid"] += 1
            continue
        assert bill.due_date is not None
        step = step_due(
            schedule_for(settings, str(bill.account.category)), due_date=bill.due_date, today=today
        )
        if step is None or await DunningStep.exists(bill_id=bill.id, step=step):
            continue
        if await disputed(bill.account.id):
            counts["disputed"] += 1
            continue
        if await _take(settings, bill, step, today):
            counts[step] = counts.get(step, 0) + 1
    return counts


async def _take(settings: Settings, bill: Bill, step: str, today: date) -> bool:
    schedule = schedule_for(settings, str(bill.account.category))
    payload: dict[str, Any] = {
        "bill_id": bill.id,
        "bill_number": bill.number,
        "account_number": bill.account.number,
        "due_date": bill.due_date.isoformat() if bill.due_date else None,
        "outstanding_paise": outstanding(bill),
    }
    if step == DISCONNECTION_NOTICE:
        payload |= {
            "served_on": today.isoformat(),
            "clear_days": schedule.clear_days,
            "disconnect_from": disconnection_allowed_from(today, schedule.clear_days).isoformat(),
        }
    try:
        async with in_transaction():
            await DunningStep.create(
                account_id=bill.account.id, bill_id=bill.id, step=step, taken_on=today
            )
            await notify_customer(
                f"dunning.{step}",
                customer_id=bill.customer_id,  # type: ignore[attr-defined]
                key=str(bill.id),
                payload=payload,
            )
    except IntegrityError:  # a concurrent run took the step first
        return False
    return True


@dataclass(frozen=True)
class Eligible:
    """An account whose supply may be cut: notice served, clear days past, still unpaid."""

    account_id: int
    account_number: str
    bill_id: int
    bill_number: str
    outstanding_paise: int
    notice_served_on: date
    disconnect_from: date


async def eligible_for_disconnection(settings: Settings, *, today: date) -> list[Eligible]:
    """Accounts past their notice's clear days. The notice counts from its first delivery."""
    found = []
    steps = await DunningStep.filter(step=DISCONNECTION_NOTICE).prefetch_related("bill", "account")
    for step in steps:
        bill = step.bill
        if bill.status != BillStatus.ISSUED or outstanding(bill) <= 0:
            continue
        sent = (
            await OutboxMessage.filter(
                event=f"dunning.{DISCONNECTION_NOTICE}",
                dedupe_key__startswith=f"dunning.{DISCONNECTION_NOTICE}:{bill.id}:",
                status=OutboxStatus.SENT,
            )
            .order_by("sent_at")
            .first()
        )
        if sent is None or sent.sent_at is None:
            continue
        served_on = sent.sent_at.astimezone(settings.zone).date()
        schedule = schedule_for(settings, str(step.account.category))
        allowed = disconnection_allowed_from(served_on, schedule.clear_days)
        if today < allowed or await disputed(step.account.id):
            continue
        found.append(
            Eligible(
                step.account.id,
                step.account.number,
                bill.id,
                bill.number or "",
                outstanding(bill),
                served_on,
                allowed,
            )
        )
    return sorted(found, key=lambda e: e.account_number)
