"""The account page: everything the office needs about one account on one screen.

The customer and premise, meters with their registers and a chart of each billing
register's reads, bills with their PDFs, the statement, payments, adjustments, support
requests with their messages, notifications and the audit rows about the account and its
bills. Two forms act from here, each through the use case GraphQL calls and under the
same operation: a credit or debit note (``console.adjustments``) and an answer or a status
for a support request (``console.support_requests``).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from tortoise.expressions import Q

from console.adjustments import KINDS
from console.pages import Console, Form
from console.session import Staff
from domain.enums import SupportStatus
from services.billing.downloads import bill_pdf_url
from services.errors import NotFound
from services.payments.statement import account_statement
from store.models import (
    Account,
    AccountHolder,
    Adjustment,
    AuditLog,
    Bill,
    MeterInstallation,
    OutboxMessage,
    Payment,
    Register,
    RegisterRead,
    SupportMessage,
    SupportRequest,
    TariffAssignment,
)

READS_CHARTED = 24
BILLS_SHOWN = 24
ROWS_SHOWN = 30


def pdf_link(console: Console, bill: Bill) -> str | None:
    """The signed PDF link, relative so it follows the host the console was opened on."""
    url = bill_pdf_url(console.settings, bill)
    return url.removeprefix(console.settings.base_url) if url else None


async def _meters(service_point_id: int) -> list[dict[str, Any]]:
    installs = (
        await MeterInstallation.filter(service_point_id=service_point_id)
        .order_by("-installed_at")
        .prefetch_related("meter")
    )
    meters = []
    for install in installs:
        registers = await Register.filter(meter_id=install.meter.id).order_by("id")
        charted = []
        for register in registers:
            reads = (
                await RegisterRead.filter(register_id=register.id)
                .order_by("-read_at")
                .limit(READS_CHARTED)
            )
            reads.reverse()
            charted.append((register, reads))
        meters.append({"installation": install, "meter": install.meter, "registers": charted})
    return meters


def read_points(reads: list[RegisterRead], zone: Any) -> list[tuple[str, int, str]]:
    return [
        (f"{r.read_at.astimezone(zone):%d %b %y}", r.value_milli,
         f"{r.value_milli / 1000:g} ({r.quality.value}, {r.source.value})")
        for r in reads
    ]  # fmt: skip


async def account_page(console: Console, request: Request, staff: Staff, form: Form) -> Response:
    account_id = int(request.path_params["account_id"])
    account = await Account.get_or_none(id=account_id).prefetch_related(
        "service_point__premise", "billing_cycle"
    )
    if account is None:
        raise NotFound("account")
    holders = (
        await AccountHolder.filter(account_id=account_id)
        .order_by("-move_in_on")
        .prefetch_related("customer")
    )
    tariffs = (
        await TariffAssignment.filter(account_id=account_id)
        .order_by("-effective_from")
        .prefetch_related("tariff")
    )
    bills = (
        await Bill.filter(account_id=account_id).order_by("-period_start", "-id").limit(BILLS_SHOWN)
    )
    payments = await Payment.filter(account_id=account_id).order_by("-created_at").limit(ROWS_SHOWN)
    statement = await account_statement(account_id=account_id)
    customer_ids = [h.customer.id for h in holders]
    support = (
        await SupportRequest.filter(
            Q(account_id=account_id) | Q(account_id=None, customer_id__in=customer_ids or [0])
        )
        .order_by("-created_at")
        .limit(ROWS_SHOWN)
    )
    messages: dict[int, list[SupportMessage]] = {r.id: [] for r in support}
    thread = SupportMessage.filter(request_id__in=list(messages) or [0]).order_by(
        "created_at", "id"
    )
    for message in await thread.prefetch_related("author"):
        messages[message.request_id].append(message)  # type: ignore[attr-defined]
    audit = (
        await AuditLog.filter(
            Q(entity="account", entity_id=str(account_id))
            | Q(entity="bill", entity_id__in=[str(b.id) for b in bills] or ["-"])
            | Q(entity="payment", entity_id__in=[p.reference for p in payments] or ["-"])
            | Q(entity="customer", entity_id__in=[str(c) for c in customer_ids] or ["-"])
        )
        .order_by("-at", "-id")
        .limit(ROWS_SHOWN)
    )
    return console.render(
        "account.html", staff,
        account=account, premise=account.service_point.premise, holders=holders, tariffs=tariffs,
        meters=await _meters(account.service_point.id), zone=console.settings.zone,
        read_points=read_points,
        bills=[(b, pdf_link(console, b)) for b in bills],
        statement_lines=statement.lines[-ROWS_SHOWN:], statement=statement, payments=payments,
        adjustments=await Adjustment.filter(account_id=account_id).order_by("-created_at").limit(ROWS_SHOWN),
        support=support, messages=messages, statuses=[s.value for s in SupportStatus],
        kinds=[k.value for k in KINDS], done=request.query_params.get("done", ""),
        notifications=await OutboxMessage.filter(customer_id__in=customer_ids or [0]).order_by("-created_at").limit(ROWS_SHOWN),
        audit=audit,
    )  # fmt: skip
