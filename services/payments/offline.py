"""Payments taken at a counter: cash, cheque, bank transfer (NEFT/RTGS/IMPS), and bounces.

Each is captured at once, gets the next gapless receipt number of its financial year
(``RC/2026-27/000042``, taken inside the transaction, so a rollback gives it back), is
allocated oldest bill first and posted to the ledger. A bounced cheque is reversed
exactly (negative allocation rows, a ``payment_reversal`` ledger entry), withdraws any
prompt-payment rebate it had earned (:mod:`services.payments.rebates`) and may carry a
bounce fee, raised as an adjustment and posted as ``cheque_bounce_fee:<reference>``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from tortoise.transactions import in_transaction

from domain.allocation import undo
from domain.enums import AdjustmentKind, LedgerKind, PaymentMethod, PaymentStatus
from domain.payment_state import advance
from gridbill.settings import Settings
from services.audit import record
from services.errors import NotFound, Refused
from services.numbering import take_one
from services.payments.online import new_reference
from services.payments.rebates import withdraw_forfeited
from services.payments.settlement import (
    announce,
    apply_account_credit,
    lock_account,
    notify,
    payment_rows,
    post,
    settle,
    write_allocations,
)
from store.models import Account, Adjustment, LedgerEntry, Payment

OFFLINE_METHODS = (PaymentMethod.CASH, PaymentMethod.CHEQUE, PaymentMethod.BANK_TRANSFER)
MAX_OFFLINE_PAISE = 10**12


async def record_offline_payment(
    settings: Settings,
    *,
    account_id: int,
    method: PaymentMethod,
    amount_paise: int,
    received_on: date,
    instrument_number: str = "",
    instrument_bank: str = "",
    instrument_date: date | None = None,
    recorded_by_id: int | None = None,
) -> Payment:
    """Record money taken at a counter; returns the captured payment with its receipt number."""
    if method not in OFFLINE_METHODS:
        raise Refused("INVALID_INPUT", f"{method} is not a counter payment method", field="method")
    if not 0 < amount_paise <= MAX_OFFLINE_PAISE:
        raise Refused("INVALID_INPUT", "the amount must be more than zero", field="amount")
    instrument_number = instrument_number.strip()
    if method != PaymentMethod.CASH and not instrument_number:
        what = "cheque number" if method == PaymentMethod.CHEQUE else "transfer reference (UTR)"
        raise Refused("INVALID_INPUT", f"a {what} is required", field="instrumentNumber")
    today = datetime.now(UTC).astimezone(settings.zone).date()
    if received_on > today:
        raise Refused(
            "INVALID_INPUT", "a payment cannot be received in the future", field="receivedOn"
        )
    if not await Account.exists(id=account_id):
        raise NotFound("account", field="accountId")
    async with in_transaction():
        await lock_account(account_id)
        if method == PaymentMethod.BANK_TRANSFER and await Payment.exists(
            method=PaymentMethod.BANK_TRANSFER, instrument_number=instrument_number
        ):
            raise Refused(
                "CONFLICT",
                f"transfer {instrument_number} is already recorded",
                field="instrumentNumber",
            )
        receipt_number = await take_one("receipt", received_on)
        payment = await Payment.create(
            reference=new_reference(datetime.now(UTC)),
            account_id=account_id,
            method=method,
            status=PaymentStatus.CAPTURED,
            amount_paise=amount_paise,
            currency=settings.currency,
            receipt_number=receipt_number,
            instrument_number=instrument_number[:40],
            instrument_bank=instrument_bank.strip()[:100],
            instrument_date=instrument_date,
            received_on=received_on,
            captured_at=datetime.now(UTC),
            recorded_by_id=recorded_by_id,
        )
        await settle(payment, effective_on=received_on)
        await record(
            action="payment.record_offline",
            entity="payment",
            entity_id=payment.reference,
            actor_id=recorded_by_id,
            after={
                "method": str(method),
                "amount_paise": amount_paise,
                "receipt_number": payment.receipt_number,
            },
        )
    return payment


async def bounce_cheque(
    settings: Settings,
    *,
    reference: str,
    bounced_on: date,
    fee_paise: int | None = None,
    reason: str = "cheque returned unpaid",
    recorded_by_id: int | None = None,
) -> Payment:
    """Reverse a bounced cheque exactly, and charge the bounce fee: ``fee_paise`` if
    given (0: none), else ``GRIDBILL_CHEQUE_BOUNCE_FEE_PAISE``."""
    if fee_paise is None:
        fee_paise = settings.cheque_bounce_fee_paise
    if fee_paise < 0:
        raise Refused("INVALID_INPUT", "the fee cannot be negative", field="fee")
    found = await Payment.get_or_none(reference=reference)
    if found is None:
        raise NotFound("payment", field="reference")
    if found.method != PaymentMethod.CHEQUE:
        raise Refused("INVALID_STATE", "only cheque payments bounce")
    async with in_transaction():
        await lock_account(found.account_id)  # type: ignore[attr-defined]
        payment = await Payment.select_for_update().get(id=found.id)
        move = advance(payment.status, PaymentStatus.REVERSED)
        if not move.changed:
            raise Refused("INVALID_STATE", f"a {payment.status} cheque cannot bounce")
        await write_allocations(payment.id, undo(await payment_rows(payment.id)))
        original = await LedgerEntry.get(source_key=f"payment:{payment.reference}")
        await post(
            account_id=payment.account_id,  # type: ignore[attr-defined]
            kind=LedgerKind.REVERSAL,
            amount_paise=payment.amount_paise,
            source_key=f"payment_reversal:{payment.reference}",
            effective_on=bounced_on,
            description=f"Cheque {payment.instrument_number} returned: {reason}",
            payment_id=payment.id,
            reverses_id=original.id,
        )
        payment.status = move.after
        payment.failure_reason = reason
        await payment.save(update_fields=["status", "failure_reason", "updated_at"])
        await announce("payment.reversed", payment)
        await notify("cheque.bounced", payment, fee_paise=fee_paise or 0)
        if fee_paise:
            adjustment = await Adjustment.create(
                number=await take_one("adjustment", bounced_on),
                account_id=payment.account_id,  # type: ignore[attr-defined]
                kind=AdjustmentKind.CHEQUE_BOUNCE_FEE,
                amount_paise=fee_paise,
                reason=f"Cheque {payment.instrument_number} bounce fee",
                created_by_id=recorded_by_id,
            )
            await post(
                account_id=payment.account_id,  # type: ignore[attr-defined]
                kind=LedgerKind.ADJUSTMENT,
                amount_paise=fee_paise,
                source_key=f"cheque_bounce_fee:{payment.reference}",
                effective_on=bounced_on,
                description=adjustment.reason,
                adjustment_id=adjustment.id,
            )
        await withdraw_forfeited(
            payment.account_id,  # type: ignore[attr-defined]
            on=bounced_on,
            why=f"cheque {payment.instrument_number} returned",
        )
        await apply_account_credit(payment.account_id)  # type: ignore[attr-defined]
        await record(
            action="payment.bounce_cheque",
            entity="payment",
            entity_id=payment.reference,
            actor_id=recorded_by_id,
            after={"fee_paise": fee_paise},
            reason=reason,
        )
    return payment
