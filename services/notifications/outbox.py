"""Writing notifications to the outbox, inside the transaction of the change that causes them.

Every function here runs in its caller's transaction, so a notification row exists exactly
when the change committed: a crash before the commit loses both, a crash after it loses
neither, and the dispatcher (``notifications/``) sends whatever is pending.

One row is written per event and channel the customer can be reached on and wants; its
``dedupe_key`` (``<event>:<key>:<channel>``) is unique, so the same event written twice
(a retried webhook, a re-run job) notifies once. The message is rendered when it is sent,
from the row's plain-value ``payload`` and ``language``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from tortoise.transactions import in_transaction

from domain.enums import BillStatus, NotificationChannel
from domain.high_usage import is_high
from services import audit
from services.errors import NotFound, Refused
from services.notifications.preferences import wanted
from store.models import Bill, Customer, DeviceToken, OutboxMessage, Payment, User

# Statutory notices and codes people asked for go out whatever the preferences say.
MANDATORY_EVENTS = frozenset({"dunning.disconnection_notice", "sign_in.code"})
# Sent at once, even in quiet hours: the person is waiting for it.
URGENT_EVENTS = frozenset({"sign_in.code"})
# Payload keys blanked once the row is sent or given up, and never shown to staff.
SECRET_EVENTS = {"sign_in.code": ("code",)}
HISTORY_MONTHS = 6


async def notify_customer(
    event: str, *, customer_id: int, key: str, payload: Mapping[str, Any]
) -> list[OutboxMessage]:
    """Queue ``event`` for the customer on every channel they can be reached on and want."""
    customer = await Customer.get(id=customer_id)
    user = await User.filter(customer_id=customer_id, is_active=True).order_by("id").first()
    recipients: dict[NotificationChannel, str] = {}
    email = customer.email or (user.email if user else None)
    if email:
        recipients[NotificationChannel.EMAIL] = email
    phone = customer.phone or (user.phone if user else None)
    if phone:
        recipients[NotificationChannel.SMS] = phone
    if user is not None:
        recipients[NotificationChannel.INAPP] = f"customer:{customer_id}"
        if await DeviceToken.exists(user_id=user.id):
            recipients[NotificationChannel.PUSH] = f"user:{user.id}"
    written = []
    now = datetime.now(UTC)
    for channel, recipient in recipients.items():
        if event not in MANDATORY_EVENTS and not await wanted(
            user.id if user else None, event, channel, has_email=bool(email)
        ):
            continue
        dedupe_key = f"{event}:{key}:{channel}"
        if await OutboxMessage.exists(dedupe_key=dedupe_key):
            continue
        written.append(
            await OutboxMessage.create(
                event=event,
                channel=channel,
                user_id=user.id if user else None,
                customer_id=customer_id,
                recipient=recipient,
                payload={"customer_name": customer.name, "has_email": bool(email), **payload},
                dedupe_key=dedupe_key,
                language=customer.language or "en",
                next_attempt_at=now,
            )
        )
    return written


def _bill_payload(bill: Bill, account_number: str) -> dict[str, Any]:
    return {
        "bill_id": bill.id,
        "bill_number": bill.number,
        "account_number": account_number,
        "period_start": bill.period_start.isoformat(),
        "period_end": bill.period_end.isoformat(),
        "due_date": bill.due_date.isoformat() if bill.due_date else None,
        "payable_paise": bill.payable_paise,
        "total_paise": bill.total_paise,
        "consumption_wh": bill.consumption_wh,
    }


async def notify_bills_issued(bill_ids: list[int]) -> None:
    """Bill issued (with its PDF), and where it applies: estimated, surcharge, high usage."""
    bills = await Bill.filter(id__in=bill_ids).prefetch_related("account", "customer")
    for bill in bills:
        payload = _bill_payload(bill, bill.account.number)
        await notify_customer(
            "bill.issued", customer_id=bill.customer.id, key=str(bill.id), payload=payload
        )
        if bill.is_estimated:
            await notify_customer(
                "bill.estimated", customer_id=bill.customer.id, key=str(bill.id),
                payload={**payload, "estimate_basis": bill.estimate_basis or "no reading"},
            )  # fmt: skip
        if bill.late_fee_paise > 0:
            await notify_customer(
                "late_fee.applied", customer_id=bill.customer.id, key=str(bill.id),
                payload={**payload, "late_fee_paise": bill.late_fee_paise},
            )  # fmt: skip
        await _notify_high_usage(bill, payload)


async def _notify_high_usage(bill: Bill, payload: dict[str, Any]) -> None:
    history = await (
        Bill.filter(
            account_id=bill.account.id, status=BillStatus.ISSUED, period_end__lt=bill.period_start
        )
        .order_by("-period_end")
        .limit(HISTORY_MONTHS)
        .values_list("consumption_wh", flat=True)
    )
    reason = is_high(
        bill.consumption_wh,
        threshold_wh=bill.customer.high_usage_threshold_wh,
        history_wh=[int(wh) for wh in history],  # type: ignore[call-overload]
    )
    if reason is not None:
        await notify_customer(
            "usage.high", customer_id=bill.customer.id, key=str(bill.id),
            payload={**payload, "reason": reason,
                     "threshold_wh": bill.customer.high_usage_threshold_wh},
        )  # fmt: skip


async def notify_payment(event: str, payment: Payment, customer_id: int, **extra: Any) -> None:
    """payment.captured / payment.failed / refund.processed / cheque.bounced for a payment."""
    account = await payment.account
    key = str(extra.pop("key", payment.reference))
    await notify_customer(
        event,
        customer_id=customer_id,
        key=key,
        payload={
            "reference": payment.reference,
            "account_number": account.number,
            "amount_paise": payment.amount_paise,
            "method": str(payment.method),
            "receipt_number": payment.receipt_number,
            "failure_reason": payment.failure_reason or "",
            **extra,
        },
    )


async def resend(message_id: int, *, staff_user_id: int | None, reason: str = "") -> OutboxMessage:
    """Queue a copy of a notification (staff): same event, channel, words and recipient.

    The copy is a new row with its own key, so the receiver does not drop it as a repeat;
    the original keeps its history. Audited.
    """
    async with in_transaction():
        original = await OutboxMessage.get_or_none(id=message_id)
        if original is None:
            raise NotFound("notification", field="id")
        if original.event in SECRET_EVENTS:
            raise Refused("INVALID_STATE", "codes are not resent: the person asks for a new one")
        if original.channel == NotificationChannel.INAPP:
            raise Refused("INVALID_STATE", "in-app messages stay in the inbox: nothing to resend")
        copies = await OutboxMessage.filter(
            dedupe_key__startswith=f"{original.dedupe_key}:resend:"
        ).count()
        copy = await OutboxMessage.create(
            event=original.event,
            channel=original.channel,
            user_id=original.user_id,  # type: ignore[attr-defined]
            customer_id=original.customer_id,  # type: ignore[attr-defined]
            recipient=original.recipient,
            payload=original.payload,
            dedupe_key=f"{original.dedupe_key}:resend:{copies + 1}"[:120],
            language=original.language,
            next_attempt_at=datetime.now(UTC),
        )
        await audit.record(
            action="notification.resent", entity="outbox_message", entity_id=original.id,
            actor_id=staff_user_id, after={"copy": copy.id}, reason=reason,
        )  # fmt: skip
    return copy
