"""Online payments through Razorpay: start, confirm, webhooks, and the one rule joining them.

A Razorpay payment reaches us up to three times, in any order and possibly repeated: the
app's callback (:func:`confirm_payment`), ``payment.captured`` and ``order.paid``
(:func:`handle_webhook`). All three end in :func:`apply_gateway_payment`, which finds our
payment by its order id, takes the account's and payment's row locks, and folds the news
in with the forward-only rule of :mod:`domain.payment_state`. Money is posted exactly when
a payment first becomes ``captured``; the unique ``gateway_payment_id`` and ledger
``source_key`` back that up in the database. Only what the gateway itself reports (a
fetched payment, a signed webhook) moves a payment; the app's word alone never does.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from domain import strict_json
from domain.enums import BillStatus, PaymentMethod, PaymentStatus
from domain.gateway_event import shape_problem
from domain.payment_state import advance as advance_state
from domain.payment_state import from_gateway
from gridbill.settings import Settings
from services.errors import NotFound, Refused
from services.payments.razorpay_client import (
    GatewayUnavailable,
    RazorpayGateway,
    webhook_signature_ok,
)
from services.payments.settlement import (
    announce,
    current_customer,
    lock_account,
    notify,
    open_bills,
    settle,
)
from store.models import Account, Bill, GatewayEvent, Payment

log = logging.getLogger(__name__)

MIN_ONLINE_PAISE = 100  # Razorpay refuses orders under ₹1.00
HANDLED_EVENTS = ("payment.captured", "payment.failed", "order.paid", "refund.processed")
SETTLED_STATES = (PaymentStatus.CAPTURED, PaymentStatus.REFUNDED, PaymentStatus.REVERSED)
SCRUBBED_KEYS = ("card", "token_id")  # no card data is ever stored, not even masked


@dataclass(frozen=True)
class Checkout:
    """What the app's Razorpay checkout needs to open."""

    reference: str
    key_id: str
    order_id: str
    amount_paise: int
    currency: str
    name: str
    description: str
    prefill: dict[str, str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class WebhookResult:
    status_code: int
    outcome: str


def new_reference(now: datetime) -> str:
    """Our payment reference, also Razorpay's order ``receipt`` (at most 40 characters)."""
    return f"PAY-{now:%Y%m%d}-{secrets.token_hex(5).upper()}"


async def start_payment(
    settings: Settings,
    *,
    account_id: int,
    bill_id: int | None = None,
    amount_paise: int | None = None,
    payer_id: int | None = None,
) -> Checkout:
    """Create our payment and its Razorpay order; the amount defaults to what is owed."""
    account = await Account.get_or_none(id=account_id)
    if account is None:
        raise NotFound("account", field="accountId")
    bill: Bill | None = None
    if bill_id is not None:
        bill = await Bill.get_or_none(id=bill_id, account_id=account_id, status=BillStatus.ISSUED)
        if bill is None:
            raise NotFound("bill", field="billId")
    if amount_paise is None:
        owed = await open_bills(account_id)
        amount_paise = sum(
            b.outstanding_paise for b in owed if bill is None or b.bill_id == bill.id
        )
        if amount_paise <= 0:
            raise Refused("INVALID_STATE", "nothing is due: enter an amount to pay in advance")
    if amount_paise < MIN_ONLINE_PAISE:
        raise Refused("INVALID_INPUT", "online payments start at ₹1.00", field="amount")
    now = datetime.now(UTC)
    payment = await Payment.create(
        reference=new_reference(now),
        account_id=account_id,
        bill_id=bill.id if bill else None,
        method=PaymentMethod.RAZORPAY,
        status=PaymentStatus.CREATED,
        amount_paise=amount_paise,
        currency=settings.currency,
        payer_id=payer_id,
    )
    notes = {"reference": payment.reference, "account": account.number}
    if bill is not None:
        notes["bill"] = bill.number or str(bill.id)
    gateway = RazorpayGateway(settings)
    try:
        order = await gateway.create_order(
            amount_paise=amount_paise,
            currency=settings.currency,
            receipt=payment.reference,
            notes=notes,
        )
    except GatewayUnavailable as exc:
        payment.status = PaymentStatus.FAILED
        payment.failure_reason = str(exc)[:500]
        await payment.save(update_fields=["status", "failure_reason", "updated_at"])
        raise
    payment.gateway_order_id = str(order["id"])
    await payment.save(update_fields=["gateway_order_id", "updated_at"])
    customer = await current_customer(account_id)
    prefill = {}
    if customer is not None:
        prefill = {
            "name": customer.name,
            "email": customer.email or "",
            "contact": customer.phone or "",
        }
    return Checkout(
        reference=payment.reference,
        key_id=gateway.key_id,
        order_id=payment.gateway_order_id,
        amount_paise=amount_paise,
        currency=settings.currency,
        name=settings.utility_name,
        description=f"Electricity account {account.number}",
        prefill=prefill,
        notes=notes,
    )


async def confirm_payment(
    settings: Settings,
    *,
    razorpay_order_id: str,
    razorpay_payment_id: str,
    razorpay_signature: str,
) -> Payment:
    """The app's checkout callback: verify the signature, then ask the gateway what happened."""
    payment = await Payment.get_or_none(gateway_order_id=razorpay_order_id)
    if payment is None or payment.gateway_order_id is None:
        raise NotFound("payment", field="razorpayOrderId")
    gateway = RazorpayGateway(settings)
    # The signature is checked over the order id *we* stored, as Razorpay asks.
    if not gateway.checkout_signature_ok(
        order_id=payment.gateway_order_id,
        payment_id=razorpay_payment_id,
        signature=razorpay_signature,
    ):
        raise Refused("VERIFICATION_FAILED", "the payment signature does not verify")
    entity = await gateway.fetch_payment(razorpay_payment_id)
    if entity.get("order_id") != payment.gateway_order_id:
        raise Refused("VERIFICATION_FAILED", "the payment belongs to another order")
    async with in_transaction():
        await apply_gateway_payment(settings, entity)
    return await Payment.get(id=payment.id)


async def apply_gateway_payment(settings: Settings, entity: dict[str, Any]) -> str:
    """Fold a Razorpay payment entity into our payment (inside a transaction). Idempotent.

    Returns a short outcome for the event log.
    """
    payment_id = str(entity.get("id", ""))
    order_id = entity.get("order_id")
    found = None
    if order_id:
        found = await Payment.get_or_none(gateway_order_id=str(order_id))
    if found is None and payment_id:
        found = await Payment.get_or_none(gateway_payment_id=payment_id)
    if found is None:
        return f"not ours: order {order_id}"
    await lock_account(found.account_id)  # type: ignore[attr-defined]
    payment = await Payment.select_for_update().get(id=found.id)
    incoming = from_gateway(str(entity.get("status", "")))
    amount = entity.get("amount")
    if incoming == PaymentStatus.CAPTURED and (
        isinstance(amount, bool)
        or not isinstance(amount, int)
        or amount != payment.amount_paise
        or str(entity.get("currency", "")) != payment.currency
    ):
        return (
            f"amount differs: gateway {entity.get('amount')} {entity.get('currency')}, "
            f"ours {payment.amount_paise} {payment.currency}"
        )
    if (
        payment.gateway_payment_id
        and payment.gateway_payment_id != payment_id
        and payment.status in SETTLED_STATES
    ):
        return f"another payment {payment_id} on settled order {order_id}"
    # One gateway payment settles one order: the same id on a second order is a forgery
    # or a gateway fault, left for people to look at (the event log keeps it).
    elsewhere = Payment.filter(gateway_payment_id=payment_id).exclude(id=payment.id)
    if payment_id and payment_id != payment.gateway_payment_id and await elsewhere.exists():
        return f"payment {payment_id} is already recorded on another order: not applied"
    move = advance_state(payment.status, incoming)
    if not move.changed:
        if payment.gateway_payment_id is None and payment_id:
            payment.gateway_payment_id = payment_id
            await payment.save(update_fields=["gateway_payment_id", "updated_at"])
        return f"no change ({payment.status})"
    payment.status = move.after
    payment.gateway_payment_id = payment_id or payment.gateway_payment_id
    payment.gateway_method = str(entity.get("method") or "")[:20]
    fields = ["status", "gateway_payment_id", "gateway_method", "updated_at"]
    if move.after == PaymentStatus.FAILED:
        payment.failure_reason = str(
            entity.get("error_description") or entity.get("error_code") or "failed"
        )
        fields.append("failure_reason")
    if move.captures:
        now = datetime.now(UTC)
        payment.captured_at = now
        payment.received_on = now.astimezone(settings.zone).date()
        fields += ["captured_at", "received_on"]
    await payment.save(update_fields=fields)
    if move.after == PaymentStatus.FAILED:
        await announce("payment.failed", payment)
        await notify("payment.failed", payment)
    if move.captures:
        assert payment.received_on is not None
        await settle(payment, effective_on=payment.received_on)
    return f"{move.before} -> {move.after}"


def scrub(value: Any) -> Any:
    """A copy of a webhook payload without card details, for the event log."""
    if isinstance(value, dict):
        return {k: scrub(v) for k, v in value.items() if k not in SCRUBBED_KEYS}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


async def handle_webhook(
    settings: Settings, *, body: bytes, signature: str, event_id: str
) -> WebhookResult:
    """``POST /webhooks/razorpay``: verify, deduplicate by event id, apply, acknowledge.

    A bad signature, or a body not shaped like an event (``domain.gateway_event``: a
    payload that is not an object, an amount that is not a whole number…), is 400 and
    changes nothing. The event row and everything the event
    changes commit together, so a failure answers 500 and Razorpay's retry starts afresh.
    """
    if not webhook_signature_ok(settings, body, signature):
        return WebhookResult(400, "signature does not verify")
    try:
        envelope = strict_json.loads(body)
    except (ValueError, RecursionError):
        return WebhookResult(400, "not a Razorpay event: the body is not JSON")
    if (problem := shape_problem(envelope)) is not None:
        return WebhookResult(400, f"not a Razorpay event: {problem}")
    event = envelope["event"]
    payload = envelope.get("payload") or {}
    event_id = (event_id.strip() or "sha256:" + hashlib.sha256(body).hexdigest())[:64]
    if await GatewayEvent.exists(gateway="razorpay", event_id=event_id):
        return WebhookResult(200, "duplicate delivery")
    try:
        async with in_transaction():
            row = await GatewayEvent.create(
                gateway="razorpay",
                event_id=event_id,
                event_type=event[:40],
                payload=scrub(envelope),
            )
            outcome = await _dispatch(settings, event, payload)
            row.outcome = outcome[:200]
            row.processed_at = datetime.now(UTC)
            await row.save(update_fields=["outcome", "processed_at"])
    except IntegrityError:
        if await GatewayEvent.exists(gateway="razorpay", event_id=event_id):
            return WebhookResult(200, "duplicate delivery")
        raise
    log.info("razorpay event %s %s: %s", event_id, event, outcome)
    return WebhookResult(200, outcome)


def _entity(payload: dict[str, Any], name: str) -> dict[str, Any] | None:
    wrapper = payload.get(name)
    if isinstance(wrapper, dict) and isinstance(wrapper.get("entity"), dict):
        entity: dict[str, Any] = wrapper["entity"]
        return entity
    return None


async def _dispatch(settings: Settings, event: str, payload: dict[str, Any]) -> str:
    if event not in HANDLED_EVENTS:
        return "acknowledged, not acted on"
    if event == "refund.processed":
        from services.payments.refunds import apply_refund_entity

        refund = _entity(payload, "refund")
        if refund is None:
            return "no refund in payload"
        return await apply_refund_entity(settings, refund)
    payment = _entity(payload, "payment")
    if payment is None:
        return "no payment in payload"
    return await apply_gateway_payment(settings, payment)
