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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.connection import get_connection
from tortoise.transactions import in_transaction

from domain.enums import NotificationChannel
from domain.high_usage import is_high
from services import audit
from services.errors import NotFound, Refused
from services.notifications.preferences import default_on
from store.models import (
    Bill,
    Customer,
    DeviceToken,
    NotificationPreference,
    OutboxMessage,
    Payment,
    User,
)
from store.sql import Sql

# Statutory notices and codes people asked for go out whatever the preferences say.
MANDATORY_EVENTS = frozenset({"dunning.disconnection_notice", "sign_in.code"})
# Sent at once, even in quiet hours: the person is waiting for it.
URGENT_EVENTS = frozenset({"sign_in.code"})
# Payload keys blanked once the row is sent or given up, and never shown to staff.
SECRET_EVENTS = {"sign_in.code": ("code",)}
HISTORY_MONTHS = 6
IN_LIST = 1_000  # values in one IN (…) list, well under SQLite's limit


@dataclass(frozen=True)
class Notice:
    """One event for one customer: ``key`` makes it unique among the event's notices."""

    event: str
    customer_id: int
    key: str
    payload: Mapping[str, Any]


async def notify_customer(
    event: str, *, customer_id: int, key: str, payload: Mapping[str, Any]
) -> list[OutboxMessage]:
    """Queue ``event`` for the customer on every channel they can be reached on and want."""
    return await notify_customers([Notice(event, customer_id, key, payload)])


async def notify_customers(notices: Sequence[Notice]) -> list[OutboxMessage]:
    """Queue each notice on every channel its customer can be reached on and wants.

    Set-based, so a chunk of issued bills costs a few queries, not several a bill: the
    customers, their first active users, device tokens, stored preferences and the keys
    already written are read once each, and the new rows go in one insert, in the order
    of ``notices`` and of the channels.
    """
    if not notices:
        return []
    customer_ids = sorted({n.customer_id for n in notices})
    customers = {c.id: c for c in await Customer.filter(id__in=customer_ids)}
    for customer_id in customer_ids:
        if customer_id not in customers:  # the error a lone Customer.get gives
            await Customer.get(id=customer_id)
    users: dict[int, User] = {}
    for active in await User.filter(customer_id__in=customer_ids, is_active=True).order_by("id"):
        users.setdefault(active.customer_id, active)  # type: ignore[attr-defined]
    user_ids = sorted(u.id for u in users.values())
    with_tokens: set[int] = set(
        await DeviceToken.filter(user_id__in=user_ids).values_list("user_id", flat=True)  # type: ignore[arg-type]
    )
    events = sorted({n.event for n in notices})
    stored = {
        (p.user_id, p.event, NotificationChannel(p.channel)): p.enabled  # type: ignore[attr-defined]
        for p in await NotificationPreference.filter(user_id__in=user_ids, event__in=events)
    }
    planned: list[tuple[Notice, NotificationChannel, str, User | None, bool]] = []
    for notice in notices:
        customer, user = customers[notice.customer_id], users.get(notice.customer_id)
        has_email = bool(customer.email or (user.email if user else None))
        for channel, recipient in _recipients(notice.customer_id, customer, user, with_tokens):
            if notice.event not in MANDATORY_EVENTS:
                choice = stored.get((user.id, notice.event, channel)) if user else None
                if not (default_on(channel, has_email=has_email) if choice is None else choice):
                    continue
            planned.append((notice, channel, recipient, user, has_email))
    keys = sorted({f"{n.event}:{n.key}:{channel}" for n, channel, *_ in planned})
    taken: set[str] = set()
    for start in range(0, len(keys), IN_LIST):
        chunk = keys[start : start + IN_LIST]
        taken.update(
            await OutboxMessage.filter(dedupe_key__in=chunk).values_list("dedupe_key", flat=True)  # type: ignore[arg-type]
        )
    written: list[OutboxMessage] = []
    now = datetime.now(UTC)
    for notice, channel, recipient, user, has_email in planned:
        dedupe_key = f"{notice.event}:{notice.key}:{channel}"
        if dedupe_key in taken:
            continue
        taken.add(dedupe_key)
        customer = customers[notice.customer_id]
        written.append(
            OutboxMessage(
                event=notice.event,
                channel=channel,
                user_id=user.id if user else None,
                customer_id=notice.customer_id,
                recipient=recipient,
                payload={"customer_name": customer.name, "has_email": has_email, **notice.payload},
                dedupe_key=dedupe_key,
                language=customer.language or "en",
                next_attempt_at=now,
            )
        )
    if written:
        await OutboxMessage.bulk_create(written)
    return written


def _recipients(
    customer_id: int, customer: Customer, user: User | None, with_tokens: set[int]
) -> list[tuple[NotificationChannel, str]]:
    """Where the customer can be reached: e-mail and SMS (theirs, else their user's),
    in-app with a user, push with a registered device."""
    recipients: list[tuple[NotificationChannel, str]] = []
    email = customer.email or (user.email if user else None)
    if email:
        recipients.append((NotificationChannel.EMAIL, email))
    phone = customer.phone or (user.phone if user else None)
    if phone:
        recipients.append((NotificationChannel.SMS, phone))
    if user is not None:
        recipients.append((NotificationChannel.INAPP, f"customer:{customer_id}"))
        if user.id in with_tokens:
            recipients.append((NotificationChannel.PUSH, f"user:{user.id}"))
    return recipients


def _bill_payload(bill: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "bill_id": bill["id"],
        "bill_number": bill["number"],
        "account_number": bill["account_number"],
        "period_start": bill["period_start"].isoformat(),
        "period_end": bill["period_end"].isoformat(),
        "due_date": bill["due_date"].isoformat() if bill["due_date"] else None,
        "payable_paise": bill["payable_paise"],
        "total_paise": bill["total_paise"],
        "consumption_wh": bill["consumption_wh"],
    }


BILL_FIELDS = ("id", "number", "period_start", "period_end", "due_date", "payable_paise",
               "total_paise", "consumption_wh", "is_estimated", "estimate_basis",
               "late_fee_paise", "customer_id")  # fmt: skip


async def notify_bills_issued(bill_ids: list[int]) -> None:
    """Bill issued (with its PDF), and where it applies: estimated, surcharge, high usage.

    One pass for the whole chunk: the bills' fields with their account number and
    customer's threshold (plain values, not models: the snapshot stays unread), the last
    issued bills before each (for high usage), then :func:`notify_customers`."""
    bills = await Bill.filter(id__in=bill_ids).order_by("id").values(
        *BILL_FIELDS, account_number="account__number",
        threshold="customer__high_usage_threshold_wh",
    )  # fmt: skip
    history = await _usage_history([bill["id"] for bill in bills])
    notices: list[Notice] = []
    for bill in bills:
        payload = _bill_payload(bill)
        customer, key = bill["customer_id"], str(bill["id"])
        notices.append(Notice("bill.issued", customer, key, payload))
        if bill["is_estimated"]:
            basis = bill["estimate_basis"] or "no reading"
            notices.append(
                Notice("bill.estimated", customer, key, {**payload, "estimate_basis": basis})
            )
        if bill["late_fee_paise"] > 0:
            fee = {**payload, "late_fee_paise": bill["late_fee_paise"]}
            notices.append(Notice("late_fee.applied", customer, key, fee))
        threshold = bill["threshold"]
        reason = is_high(
            bill["consumption_wh"], threshold_wh=threshold, history_wh=history.get(bill["id"], [])
        )
        if reason is not None:
            high = {**payload, "reason": reason, "threshold_wh": threshold}
            notices.append(Notice("usage.high", customer, key, high))
    await notify_customers(notices)


async def _usage_history(bill_ids: list[int]) -> dict[int, list[int]]:
    """Per bill, the consumption of its account's last issued bills (up to six, latest
    first) that ended before its period began."""
    if not bill_ids:
        return {}
    sql = Sql(get_connection("default"))
    rows = await sql.rows(
        "SELECT bill_id, consumption_wh FROM (SELECT b.id AS bill_id, h.consumption_wh, "  # noqa: S608
        "h.period_end, h.id, ROW_NUMBER() OVER (PARTITION BY b.id "
        "ORDER BY h.period_end DESC, h.id DESC) AS n FROM bills b JOIN bills h "
        "ON h.account_id = b.account_id AND h.status = 'issued' AND h.period_end < b.period_start "
        f"WHERE b.id IN ({sql.marks(len(bill_ids))})) AS earlier WHERE n <= ? "
        "ORDER BY bill_id, n",
        [*bill_ids, HISTORY_MONTHS],
    )
    found: dict[int, list[int]] = {}
    for row in rows:
        found.setdefault(row["bill_id"], []).append(int(row["consumption_wh"]))
    return found


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
