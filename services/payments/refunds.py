"""Refunds of online payments: asked for by staff, settled when Razorpay says ``processed``.

The API call to Razorpay and the ``refund.processed`` webhook may arrive in either order
and more than once; both end in :func:`apply_refund_entity`, which posts a refund exactly
once (``refund:<gateway refund id>`` in the ledger) and takes the money back out of the
payment's allocations (credit first, then the most recently settled bills).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tortoise.transactions import in_transaction

from domain.allocation import undo
from domain.enums import LedgerKind, PaymentMethod, PaymentStatus, RefundStatus
from domain.payment_state import advance
from gridbill.settings import Settings
from services.audit import record
from services.errors import NotFound, Refused
from services.payments.razorpay_client import RazorpayGateway
from services.payments.rebates import withdraw_forfeited
from services.payments.settlement import (
    announce,
    apply_account_credit,
    lock_account,
    notify,
    payment_rows,
    post,
    write_allocations,
)
from store.models import Payment, Refund


async def refunded_or_pending(payment_id: int) -> int:
    refunds = await Refund.filter(payment_id=payment_id).exclude(status=RefundStatus.FAILED)
    return sum(r.amount_paise for r in refunds)


async def refund_payment(
    settings: Settings,
    *,
    reference: str,
    amount_paise: int | None = None,
    reason: str = "",
    requested_by_id: int | None = None,
) -> Refund:
    """Ask Razorpay to refund (part of) a captured payment; defaults to what is left."""
    payment = await Payment.get_or_none(reference=reference)
    if payment is None:
        raise NotFound("payment", field="reference")
    if payment.method != PaymentMethod.RAZORPAY or payment.gateway_payment_id is None:
        raise Refused("INVALID_STATE", "only online payments are refunded through the gateway")
    if payment.status != PaymentStatus.CAPTURED:
        raise Refused("INVALID_STATE", f"a {payment.status} payment cannot be refunded")
    left = payment.amount_paise - await refunded_or_pending(payment.id)
    amount = left if amount_paise is None else amount_paise
    if not 0 < amount <= left:
        raise Refused("INVALID_INPUT", f"refund between 1 and {left} paise", field="amount")
    entity = await RazorpayGateway(settings).refund(
        payment.gateway_payment_id,
        amount_paise=amount,
        notes={"reference": reference, "reason": reason[:200]},
    )
    async with in_transaction():
        await apply_refund_entity(settings, entity, reason=reason, requested_by_id=requested_by_id)
    return await Refund.get(gateway_refund_id=str(entity["id"]))


async def apply_refund_entity(
    settings: Settings,
    entity: dict[str, Any],
    *,
    reason: str = "",
    requested_by_id: int | None = None,
) -> str:
    """Record a Razorpay refund entity (inside a transaction); post it once it is processed."""
    refund_id = str(entity.get("id", ""))
    found = await Payment.get_or_none(gateway_payment_id=str(entity.get("payment_id", "")))
    if found is None or not refund_id:
        return f"not ours: refund {refund_id}"
    await lock_account(found.account_id)  # type: ignore[attr-defined]
    payment = await Payment.select_for_update().get(id=found.id)
    refund = await Refund.get_or_none(gateway_refund_id=refund_id)
    if refund is None:
        refund = await Refund.create(
            payment_id=payment.id,
            gateway_refund_id=refund_id,
            amount_paise=int(entity["amount"]),
            reason=reason,
            requested_by_id=requested_by_id,
        )
    elif requested_by_id is not None and refund.requested_by_id is None:  # type: ignore[attr-defined]
        refund.requested_by_id = requested_by_id
        refund.reason = reason
        await refund.save(update_fields=["requested_by_id", "reason", "updated_at"])
    status = str(entity.get("status", ""))
    if refund.status != RefundStatus.PENDING:
        return f"refund {refund_id} already {refund.status}"
    if status == "failed":
        refund.status = RefundStatus.FAILED
        await refund.save(update_fields=["status", "updated_at"])
        return f"refund {refund_id} failed"
    if status != "processed":
        return f"refund {refund_id} pending"
    back = undo(await payment_rows(payment.id), refund.amount_paise)
    await write_allocations(payment.id, back)
    now = datetime.now(UTC)
    on = now.astimezone(settings.zone).date()
    await post(
        account_id=payment.account_id,  # type: ignore[attr-defined]
        kind=LedgerKind.REFUND,
        amount_paise=refund.amount_paise,
        source_key=f"refund:{refund_id}",
        effective_on=on,
        description=f"Refund of payment {payment.reference}",
        payment_id=payment.id,
    )
    refund.status = RefundStatus.PROCESSED
    refund.processed_at = now
    await refund.save(update_fields=["status", "processed_at", "updated_at"])
    processed = await Refund.filter(payment_id=payment.id, status=RefundStatus.PROCESSED)
    if sum(r.amount_paise for r in processed) >= payment.amount_paise:
        payment.status = advance(payment.status, PaymentStatus.REFUNDED).after
        await payment.save(update_fields=["status", "updated_at"])
    await announce("payment.refunded", payment)
    await notify("refund.processed", payment, key=refund_id, refund_paise=refund.amount_paise)
    await withdraw_forfeited(payment.account_id, on=on, why="payment refunded")  # type: ignore[attr-defined]
    await apply_account_credit(payment.account_id)  # type: ignore[attr-defined]
    if requested_by_id is not None:
        await record(
            action="payment.refund",
            entity="payment",
            entity_id=payment.reference,
            actor_id=requested_by_id,
            after={"refund": refund_id, "amount_paise": refund.amount_paise},
            reason=reason,
        )
    return f"refund {refund_id} processed"
