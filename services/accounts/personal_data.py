"""A customer's personal data on request: export all of it, or erase what the law lets go.

India's Digital Personal Data Protection Act, 2023 gives a customer the right to a summary
of their personal data and to its erasure, "unless retention is necessary for compliance
with any law". A utility must keep its tax invoices (bills), receipts, payments and the
account ledger for years (GST: 72 months; electricity supply codes: longer), so erasure
here means:

* **erased**: the customer's name, phone, e-mail, postal address and KYC reference (the
  name becomes "Erased customer <number>"); their sign-ins (e-mail, phone, name,
  password hash; the user is deactivated and its refresh tokens deleted); notification
  preferences; the subjects of their support requests and the text of their messages;
  pending notifications to them;
  partner consents are revoked;
* **kept**: bills as issued (a tax invoice is kept as it was sent, with the name and
  address printed on it), payments, allocations, receipts, ledger entries, meter reads
  and usage (of the premises, needed to bill whoever lives there next), and the audit log,
  which records the erasure itself.

Only a customer without an open account can be erased: close the account first
(move-out and final bill), since billing needs to reach the account holder.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from tortoise.transactions import in_transaction

from gridbill.errors import UserError
from services import audit
from services.identity import token_standing
from store.models import (
    AccountHolder,
    Bill,
    Consent,
    Customer,
    NotificationPreference,
    OutboxMessage,
    Payment,
    RefreshToken,
    SupportMessage,
    SupportRequest,
    UsageMonthly,
    User,
)

ERASED_TEXT = "[erased at the customer's request]"


class PersonalDataError(UserError):
    """The request cannot be carried out; the message says why."""


async def _customer(number: str) -> Customer:
    customer = await Customer.get_or_none(number=number.strip())
    if customer is None:
        raise PersonalDataError(f"no customer {number!r} (customer numbers look like BP10000001)")
    return customer


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


async def export_customer(number: str) -> dict[str, Any]:
    """Everything gridbill holds about the customer, as plain JSON-ready data."""
    customer = await _customer(number)
    holdings = await AccountHolder.filter(customer=customer).prefetch_related(
        "account__service_point__premise"
    )
    accounts = [h.account_id for h in holdings]  # type: ignore[attr-defined]
    users = await User.filter(customer=customer)
    requests = await SupportRequest.filter(customer=customer).order_by("id")
    return {
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "customer": {
            "number": customer.number,
            "name": customer.name,
            "email": customer.email,
            "phone": customer.phone,
            "postal_address": customer.postal_address,
            "kyc_reference": customer.kyc_reference,
            "since": _plain(customer.created_at),
        },
        "sign_ins": [
            {
                "email": u.email,
                "phone": u.phone,
                "name": u.full_name,
                "active": u.is_active,
                "last_sign_in_at": _plain(u.last_sign_in_at),
            }
            for u in users
        ],
        "accounts": [
            {
                "number": h.account.number,
                "category": str(h.account.category),
                "premises": _premise(h.account.service_point.premise),
                "move_in_on": _plain(h.move_in_on),
                "move_out_on": _plain(h.move_out_on),
            }
            for h in holdings
        ],
        "notification_preferences": [
            {k: _plain(v) for k, v in row.items() if k not in ("id", "user_id")}
            for row in await NotificationPreference.filter(user__customer=customer).values()
        ],
        "consents": [
            {
                "partner_id": c.partner_id,  # type: ignore[attr-defined]
                "scopes": c.scopes,
                "granted_at": _plain(c.granted_at),
                "revoked_at": _plain(c.revoked_at),
            }
            for c in await Consent.filter(customer=customer)
        ],
        "bills": [
            {
                "number": b.number,
                "period_start": _plain(b.period_start),
                "period_end": _plain(b.period_end),
                "status": str(b.status),
                "consumption_wh": b.consumption_wh,
                "payable_paise": b.payable_paise,
                "paid_paise": b.paid_paise,
            }
            for b in await Bill.filter(customer=customer).exclude(status="draft").order_by("id")
        ],
        "payments": [
            {
                "reference": p.reference,
                "method": str(p.method),
                "status": str(p.status),
                "amount_paise": p.amount_paise,
                "received_on": _plain(p.received_on),
                "receipt_number": p.receipt_number,
            }
            for p in await Payment.filter(account_id__in=accounts).order_by("id")
        ],
        "monthly_usage": [
            {
                "account_id": u.account_id,  # type: ignore[attr-defined]
                "month": _plain(u.month),
                "tou_period": u.tou_period,
                "import_wh": u.import_wh,
                "export_wh": u.export_wh,
            }
            for u in await UsageMonthly.filter(account_id__in=accounts).order_by("month")
        ],
        "support_requests": [
            {
                "number": r.number,
                "subject": r.subject,
                "status": str(r.status),
                "messages": [
                    {"at": _plain(m.created_at), "body": m.body}
                    for m in await SupportMessage.filter(request=r).order_by("id")
                ],
            }
            for r in requests
        ],
    }


def _premise(premise: Any) -> dict[str, Any]:
    return {
        "address": ", ".join(
            part
            for part in (
                premise.address_line1,
                premise.address_line2,
                premise.locality,
                premise.city,
                premise.state,
                premise.postal_code,
            )
            if part
        ),
    }


async def erase_customer(number: str, *, reason: str) -> dict[str, int]:
    """Erase the customer's personal data, keeping the financial records; returns counts."""
    if not reason.strip():
        raise PersonalDataError(
            "give --reason (e.g. the request's reference): it goes to the audit log"
        )
    customer = await _customer(number)
    if await AccountHolder.filter(customer=customer, move_out_on__isnull=True).exists():
        raise PersonalDataError(
            f"customer {customer.number} still holds an open account: record the move-out and "
            "issue the final bill first (billing must reach the account holder)"
        )
    now = datetime.now(UTC)
    async with in_transaction():
        users = await User.filter(customer=customer)
        user_ids = [u.id for u in users]
        counts = {
            "sign_ins": len(users),
            "refresh_tokens": await RefreshToken.filter(user_id__in=user_ids).delete(),
            "notification_preferences": await NotificationPreference.filter(
                user_id__in=user_ids
            ).delete(),
            "consents_revoked": await Consent.filter(
                customer=customer, revoked_at__isnull=True
            ).update(revoked_at=now),
            "support_subjects": await SupportRequest.filter(customer=customer).update(
                subject=ERASED_TEXT
            ),
            "support_messages": await SupportMessage.filter(
                request__customer=customer, author_id__in=user_ids
            ).update(body=ERASED_TEXT),
            "pending_notifications": await OutboxMessage.filter(
                customer=customer, status="pending"
            ).delete(),
        }
        for user in users:
            user.email = user.phone = user.password_hash = None
            user.full_name = f"Erased user {user.id}"
            user.is_active = False
            await user.save()
            await token_standing.changed(user.id)
        customer.name = f"Erased customer {customer.number}"
        customer.email = customer.phone = None
        customer.postal_address = customer.kyc_reference = ""
        await customer.save()
        await audit.record(
            action="customer.erase",
            entity="customer",
            entity_id=customer.number,
            actor_label="cli",
            reason=reason.strip()[:200],
            after=counts,
        )
    return counts
