"""Customers and accounts for staff: search, new customers, move-in and move-out.

Every change is one transaction with its audit row, and moves are published as events
(``account.moved_in``, ``account.moved_out``) for the customers they concern. A move-out
closes the holder's row (history is never rewritten), a move-in opens a new one. The
move-out's final bill is ``services.billing.final_bill``'s business; this records dates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from domain.enums import AccountStatus
from services import audit
from services.errors import NotFound, Refused
from services.events import publish
from services.viewer import Viewer
from store.models import (
    Account,
    AccountHolder,
    Customer,
    DocumentSequence,
    Meter,
    MeterInstallation,
)

SEARCH_MIN_LENGTH = 2
SEARCH_ID_LIMIT = 500


async def customer_search_filter(term: str) -> Q:
    """Customers matching ``term`` by name, customer or account number, meter serial,
    phone or e-mail. Numbers and serials match from their start, names anywhere."""
    term = term.strip()
    if len(term) < SEARCH_MIN_LENGTH:
        raise Refused(
            "INVALID_INPUT", f"search for at least {SEARCH_MIN_LENGTH} characters", field="search"
        )
    ids: set[int] = set()
    accounts = (
        await Account.filter(number__istartswith=term)
        .limit(SEARCH_ID_LIMIT)
        .values_list("id", flat=True)
    )
    meters = (
        await Meter.filter(serial__istartswith=term)
        .limit(SEARCH_ID_LIMIT)
        .values_list("id", flat=True)
    )
    if meters:
        points = await MeterInstallation.filter(meter_id__in=list(meters)).values_list(
            "service_point_id", flat=True
        )
        accounts = [
            *accounts,
            *await Account.filter(service_point_id__in=list(points)).values_list("id", flat=True),
        ]
    if accounts:
        ids |= set(
            await AccountHolder.filter(account_id__in=list(accounts)).values_list(  # type: ignore[arg-type]
                "customer_id", flat=True
            )
        )
    query = (
        Q(name__icontains=term) | Q(number__istartswith=term) | Q(email__istartswith=term.lower())
    )
    digits = "".join(c for c in term if c.isdigit())
    if len(digits) >= 4 and len(digits) >= len(term.replace(" ", "").replace("+", "")) - 1:
        query |= Q(phone__contains=digits)
    if ids:
        query |= Q(id__in=sorted(ids))
    return query


async def next_number(series: str, label: str) -> int:
    """The next value of a gapless counter, taken inside the caller's transaction."""
    row, _ = await DocumentSequence.get_or_create(series=series, financial_year=label)
    # UPDATE … SET last_value = last_value + 1 locks the row until the caller commits.
    await DocumentSequence.filter(id=row.id).update(last_value=F("last_value") + 1)
    updated = await DocumentSequence.get(id=row.id)
    return int(updated.last_value)


@dataclass(frozen=True)
class NewCustomer:
    name: str
    email: str | None = None
    phone: str | None = None
    postal_address: str = ""
    kyc_reference: str = ""


async def create_customer(viewer: Viewer, data: NewCustomer) -> Customer:
    name = data.name.strip()
    if not name:
        raise Refused("INVALID_INPUT", "give the customer's name", field="name")
    async with in_transaction():
        number = f"CU{await next_number('customer', 'all'):08d}"
        customer = await Customer.create(
            number=number, name=name[:200], email=(data.email or "").strip().lower() or None,
            phone=(data.phone or "").strip() or None, postal_address=data.postal_address,
            kyc_reference=data.kyc_reference,
        )  # fmt: skip
        await audit.record(
            viewer=viewer, action="customer.created", entity="customer", entity_id=customer.id,
            after={"number": number, "name": customer.name},
        )  # fmt: skip
    return customer


async def move_in(viewer: Viewer, *, account_id: int, customer_id: int, on: date) -> AccountHolder:
    """``customer`` holds the account from ``on``; the previous holder must have moved out."""
    async with in_transaction():
        account = await Account.get_or_none(id=account_id)
        if account is None:
            raise NotFound("account", field="accountId")
        if not await Customer.exists(id=customer_id):
            raise NotFound("customer", field="customerId")
        if account.status == AccountStatus.CLOSED:
            raise Refused("INVALID_STATE", "the account is closed: open a new one")
        current = await AccountHolder.filter(
            account_id=account_id, move_out_on__isnull=True
        ).first()
        if current is not None:
            raise Refused(
                "INVALID_STATE", "the account still has a holder: record their move-out first"
            )
        last = await AccountHolder.filter(account_id=account_id).order_by("-move_out_on").first()
        if last is not None and last.move_out_on is not None and on < last.move_out_on:
            raise Refused(
                "INVALID_INPUT", f"the previous holder moved out on {last.move_out_on}", field="on"
            )
        if on < account.connected_on:
            raise Refused(
                "INVALID_INPUT", f"the account was connected on {account.connected_on}", field="on"
            )
        holder = await AccountHolder.create(
            account_id=account_id, customer_id=customer_id, move_in_on=on
        )
        if account.status == AccountStatus.PENDING:
            await Account.filter(id=account_id).update(status=AccountStatus.ACTIVE)
        await audit.record(
            viewer=viewer, action="account.moved_in", entity="account", entity_id=account_id,
            after={"customer_id": customer_id, "move_in_on": on},
        )  # fmt: skip
    await publish("account.moved_in", customer_id=customer_id, account_id=account_id)
    return holder


async def move_out(viewer: Viewer, *, account_id: int, on: date, reason: str = "") -> AccountHolder:
    """The current holder leaves on ``on`` (their last day)."""
    async with in_transaction():
        holder = await AccountHolder.filter(account_id=account_id, move_out_on__isnull=True).first()
        if holder is None:
            if not await Account.exists(id=account_id):
                raise NotFound("account", field="accountId")
            raise Refused("INVALID_STATE", "the account has no current holder")
        if on < holder.move_in_on:
            raise Refused("INVALID_INPUT", f"they moved in on {holder.move_in_on}", field="on")
        await AccountHolder.filter(id=holder.id).update(move_out_on=on)
        holder.move_out_on = on
        await audit.record(
            viewer=viewer, action="account.moved_out", entity="account", entity_id=account_id,
            before={"customer_id": holder.customer_id, "move_out_on": None},  # type: ignore[attr-defined]
            after={"move_out_on": on}, reason=reason,
        )  # fmt: skip
    await publish("account.moved_out", customer_id=holder.customer_id, account_id=account_id)  # type: ignore[attr-defined]
    return holder
