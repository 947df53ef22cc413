"""Reconciliation of one day's online payments against what Razorpay itself reports.

For the day's orders and the gateway's payments of that day it finds: orders created but
never paid, payments captured at the gateway but not here, amounts that differ,
duplicates (two captured payments on one order), and payments captured here that the
gateway does not show as captured. It repairs only what is safe: a payment captured at
the gateway, for our order and our amount, whose webhook never arrived, is applied
exactly as the webhook would have applied it. Everything else is listed for a person.
Every gateway payment it reads is stored (``services.payments.gateway_records``) for the
reconciliation report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from razorpay.errors import BadRequestError
from tortoise.transactions import in_transaction

from domain.enums import PaymentMethod, PaymentStatus
from gridbill.settings import Settings
from services.payments.gateway_records import remember
from services.payments.online import apply_gateway_payment
from services.payments.razorpay_client import GatewayUnavailable, RazorpayGateway
from store.models import Payment

CAPTURED_AT_GATEWAY = ("captured", "refunded")


@dataclass(frozen=True)
class Finding:
    kind: str
    reference: str
    order_id: str
    payment_id: str
    ours_paise: int | None
    gateway_paise: int | None
    note: str


@dataclass
class ReconcileReport:
    day: date
    orders_checked: int = 0
    gateway_payments_checked: int = 0
    repaired: list[Finding] = field(default_factory=list)
    unpaid_orders: list[Finding] = field(default_factory=list)
    missing_here: list[Finding] = field(default_factory=list)
    amount_mismatches: list[Finding] = field(default_factory=list)
    duplicates: list[Finding] = field(default_factory=list)
    not_captured_at_gateway: list[Finding] = field(default_factory=list)

    @property
    def needs_attention(self) -> list[Finding]:
        return [
            *self.missing_here,
            *self.amount_mismatches,
            *self.duplicates,
            *self.not_captured_at_gateway,
        ]


def day_bounds(day: date, settings: Settings) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=settings.zone).astimezone(UTC)
    return start, start + timedelta(days=1)


async def reconcile(settings: Settings, *, day: date, repair: bool = True) -> ReconcileReport:
    gateway = RazorpayGateway(settings)
    report = ReconcileReport(day)
    start, end = day_bounds(day, settings)
    ours = await Payment.filter(
        method=PaymentMethod.RAZORPAY,
        gateway_order_id__isnull=False,
        created_at__gte=start,
        created_at__lt=end,
    ).order_by("id")
    report.orders_checked = len(ours)
    seen_orders: set[str] = set()
    for payment in ours:
        assert payment.gateway_order_id is not None
        seen_orders.add(payment.gateway_order_id)
        at_gateway = await _order_payments(gateway, payment.gateway_order_id)
        if at_gateway is None:
            report.not_captured_at_gateway.append(
                _finding("not_captured_at_gateway", payment, None, "order unknown at the gateway")
            )
            continue
        await remember(settings, at_gateway)
        await _check_order(settings, report, payment, at_gateway, repair=repair)

    listed = await gateway.payments_between(int(start.timestamp()), int(end.timestamp()) - 1)
    report.gateway_payments_checked = len(listed)
    await remember(settings, listed)
    for entity in listed:
        order_id = str(entity.get("order_id") or "")
        if entity.get("status") not in CAPTURED_AT_GATEWAY or order_id in seen_orders:
            continue
        known = await Payment.get_or_none(gateway_order_id=order_id) if order_id else None
        if known is None:
            report.missing_here.append(
                _finding("missing_here", None, entity, "captured at the gateway, no order of ours")
            )
        else:  # an order of another day, paid today
            seen_orders.add(order_id)
            at_gateway = await gateway.order_payments(order_id)
            await remember(settings, at_gateway)
            await _check_order(settings, report, known, at_gateway, repair=repair)
    return report


async def _order_payments(gateway: RazorpayGateway, order_id: str) -> list[dict[str, Any]] | None:
    """The order's payments at the gateway; None when the gateway does not know the order.

    An order of another key (test mode against live) or of a restarted sandbox is a finding
    for a person, not a reason to stop reconciling the rest of the day.
    """
    try:
        return await gateway.order_payments(order_id)
    except GatewayUnavailable as exc:
        if isinstance(exc.__cause__, BadRequestError):
            return None
        raise


def _finding(
    kind: str, payment: Payment | None, entity: dict[str, Any] | None, note: str
) -> Finding:
    return Finding(
        kind=kind,
        reference=payment.reference if payment else "",
        order_id=(payment.gateway_order_id if payment else None)
        or str((entity or {}).get("order_id") or ""),
        payment_id=str(
            (entity or {}).get("id") or (payment.gateway_payment_id if payment else "") or ""
        ),
        ours_paise=payment.amount_paise if payment else None,
        gateway_paise=int(entity["amount"]) if entity and "amount" in entity else None,
        note=note,
    )


async def _check_order(
    settings: Settings,
    report: ReconcileReport,
    payment: Payment,
    at_gateway: list[dict[str, Any]],
    *,
    repair: bool,
) -> None:
    captured = [e for e in at_gateway if e.get("status") in CAPTURED_AT_GATEWAY]
    if len(captured) > 1:
        report.duplicates.append(
            _finding(
                "duplicate", payment, captured[1], f"{len(captured)} captured payments on one order"
            )
        )
    settled_here = payment.status in (
        PaymentStatus.CAPTURED,
        PaymentStatus.REFUNDED,
        PaymentStatus.REVERSED,
    )
    if not captured:
        if settled_here:
            report.not_captured_at_gateway.append(
                _finding("not_captured_at_gateway", payment, None, f"{payment.status} here")
            )
        else:
            report.unpaid_orders.append(
                _finding("unpaid_order", payment, None, str(payment.status))
            )
        return
    entity = captured[0]
    if int(entity.get("amount", -1)) != payment.amount_paise:
        report.amount_mismatches.append(
            _finding("amount_mismatch", payment, entity, "amounts differ")
        )
        return
    if settled_here:
        if payment.gateway_payment_id != entity.get("id"):
            report.duplicates.append(
                _finding("duplicate", payment, entity, f"ours is {payment.gateway_payment_id}")
            )
        return
    if not repair:
        report.missing_here.append(
            _finding("missing_here", payment, entity, "captured at the gateway, not here")
        )
        return
    async with in_transaction():
        outcome = await apply_gateway_payment(settings, entity)
    report.repaired.append(_finding("repaired", payment, entity, f"applied: {outcome}"))
