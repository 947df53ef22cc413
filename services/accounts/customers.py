"""Customers and accounts for staff: search, new customers, move-in and move-out.

Every change is one transaction with its audit row, and moves are published as events
(``account.moved_in``, ``account.moved_out``) for the customers they concern. A move-out
closes the holder's row (history is never rewritten), a move-in opens a new one.

A move-out given its final read records it (``move_out`` staff reads, judged by the same
VEE rules as delivered reads, ``services.meter_data.reads.judge_single``) and drafts the final
bill with ``services.billing.corrections.final_bill`` in the same transaction; without a read only the
date is recorded and the final bill awaits a move-out read.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from domain.enums import AccountStatus, ReadQuality, ReadSource, ReadType
from domain.vee import VeeConfig
from services import audit
from services.billing.corrections import final_bill
from services.billing.issue import BillingError
from services.errors import NotFound, Refused
from services.events import publish
from services.meter_data.meters import ReadValue
from services.meter_data.reads import judge_single
from services.meter_data.registers import RegisterCatalog
from services.numbering import take_one
from services.viewer import Viewer
from store.models import (
    Account,
    AccountHolder,
    Bill,
    Customer,
    Meter,
    MeterInstallation,
    Register,
    RegisterRead,
)
from store.sql import Sql

SEARCH_MIN_LENGTH = 2
SEARCH_ID_LIMIT = 500
SUSPECT_READ = "SUSPECT_READ"
EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
PHONE_PATTERN = re.compile(r"\+?[0-9]{7,15}")
POSTAL_ADDRESS_MAX = 1000


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
        number = await take_one("customer", datetime.now(UTC).date())
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


@dataclass(frozen=True)
class CustomerChanges:
    """New values of a customer's details; None leaves one as it is, "" clears e-mail/phone."""

    name: str | None = None
    email: str | None = None
    phone: str | None = None
    postal_address: str | None = None


def _changed_values(changes: CustomerChanges) -> dict[str, str | None]:
    """The validated, normalised new values (model field → value) of the given fields."""
    values: dict[str, str | None] = {}
    if changes.name is not None:
        name = changes.name.strip()
        if not name:
            raise Refused("INVALID_INPUT", "give the customer's name", field="name")
        if len(name) > 200:
            raise Refused("INVALID_INPUT", "the name is longer than 200 characters", field="name")
        values["name"] = name
    if changes.email is not None:
        email = changes.email.strip().lower()
        if email and (len(email) > 254 or not EMAIL_PATTERN.fullmatch(email)):
            raise Refused(
                "INVALID_INPUT", f"{changes.email!r} is not an e-mail address", field="email"
            )
        values["email"] = email or None
    if changes.phone is not None:
        phone = "".join(c for c in changes.phone.strip() if c not in " -().")
        if phone and not PHONE_PATTERN.fullmatch(phone):
            raise Refused(
                "INVALID_INPUT", "a phone number is 7–15 digits, optionally after +", field="phone"
            )
        values["phone"] = phone or None
    if changes.postal_address is not None:
        address = changes.postal_address.strip()
        if len(address) > POSTAL_ADDRESS_MAX:
            raise Refused(
                "INVALID_INPUT",
                f"the postal address is longer than {POSTAL_ADDRESS_MAX} characters",
                field="postalAddress",
            )
        values["postal_address"] = address
    if not values:
        raise Refused("INVALID_INPUT", "give at least one detail to change")
    return values


async def update_customer(
    viewer: Viewer, *, customer_id: int, changes: CustomerChanges
) -> Customer:
    """Change a customer's name, e-mail, phone or postal address, audited before/after.

    The customer model has no unique constraint on these details (only ``number`` is
    unique, and it never changes), so two customers may share an e-mail or phone, as
    ``create_customer`` allows. A signed-up customer's sign-in e-mail (the user's) is not
    changed here.
    """
    values = _changed_values(changes)
    async with in_transaction():
        customer = await Customer.get_or_none(id=customer_id)
        if customer is None:
            raise NotFound("customer", field="customerId")
        before = {k: getattr(customer, k) for k in values if getattr(customer, k) != values[k]}
        after = {k: values[k] for k in before}
        if after:
            await Customer.filter(id=customer_id).update(**after)
            for key, value in after.items():
                setattr(customer, key, value)
            await audit.record(
                viewer=viewer, action="customer.updated", entity="customer", entity_id=customer_id,
                before=before, after=after,
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


@dataclass(frozen=True)
class FinalRead:
    """The move-out read: every billing register's value at one moment on the last day."""

    at: datetime
    reads: list[ReadValue]
    zone: ZoneInfo
    config: VeeConfig
    close_account: bool = True


@dataclass
class MoveOut:
    holder: AccountHolder
    final_bill: Bill | None = None
    reads: list[int] = field(default_factory=list)


async def _record_final_read(
    viewer: Viewer, account: Account, on: date, read: FinalRead
) -> list[int]:
    """Judge and store the move-out reads of the meter installed at ``read.at``."""
    if read.at.tzinfo is None:
        raise Refused(
            "INVALID_INPUT", "give the read time with its offset", field="finalRead.readAt"
        )
    if read.at.astimezone(read.zone).date() != on:
        raise Refused(
            "INVALID_INPUT", f"the move-out read must be taken on {on} (local time)",
            field="finalRead.readAt",
        )  # fmt: skip
    if not read.reads:
        raise Refused("INVALID_INPUT", "give the registers' values", field="finalRead.reads")
    point_id: int = account.service_point_id  # type: ignore[attr-defined]
    installation = (
        await MeterInstallation.filter(service_point_id=point_id, installed_at__lte=read.at)
        .filter(Q(removed_at__isnull=True) | Q(removed_at__gt=read.at))
        .order_by("-installed_at")
        .first()
    )
    if installation is None:
        raise Refused(
            "INVALID_STATE", "no meter was installed at the account's service point then",
            field="finalRead.readAt",
        )  # fmt: skip
    meter_id: int = installation.meter_id  # type: ignore[attr-defined]
    registers = {r.obis_code: r for r in await Register.filter(meter_id=meter_id)}
    given = [r.obis_code for r in read.reads]
    if len(set(given)) != len(given):
        raise Refused("INVALID_INPUT", "give each register once", field="finalRead.reads")
    unknown = sorted(set(given) - set(registers))
    if unknown:
        raise Refused(
            "INVALID_INPUT", f"the meter has no register {', '.join(unknown)}",
            field="finalRead.reads",
        )  # fmt: skip
    missing = sorted(c for c, r in registers.items() if r.is_billing and c not in given)
    if missing:
        raise Refused(
            "INVALID_INPUT", f"give the value of register {', '.join(missing)} too",
            field="finalRead.reads",
        )  # fmt: skip
    if any(r.value_milli < 0 for r in read.reads):
        raise Refused("INVALID_INPUT", "a read cannot be negative", field="finalRead.reads")
    async with in_transaction() as connection:
        sql = Sql(connection)
        catalog = RegisterCatalog(sql)
        await catalog.load_ids(registers[c].id for c in given)
        now = datetime.now(UTC)
        ids = []
        for value in read.reads:
            register = registers[value.obis_code]
            verdict = await judge_single(
                sql, catalog.by_id[register.id], read.at, value.value_milli, config=read.config,
                zone=read.zone,
            )  # fmt: skip
            rules = [f.rule.value for f in verdict.flags]
            if verdict.quality != ReadQuality.VALID.value:
                raise Refused(
                    SUSPECT_READ,
                    f"the {value.obis_code} read fails validation ({', '.join(rules)}): "
                    "check the value and time",
                    field="finalRead.reads",
                )
            stored = await RegisterRead.create(
                client_uuid=uuid.uuid4(), register=register, value_milli=value.value_milli,
                read_at=read.at, read_type=ReadType.MOVE_OUT, source=ReadSource.STAFF,
                quality=ReadQuality.VALID, quality_flags=rules, captured_by_id=viewer.user_id,
                received_at=now, notes="move-out read recorded by staff",
            )  # fmt: skip
            ids.append(stored.id)
    return ids


async def move_out(
    viewer: Viewer,
    *,
    account_id: int,
    on: date,
    reason: str = "",
    final_read: FinalRead | None = None,
) -> MoveOut:
    """The current holder leaves on ``on`` (their last day).

    With ``final_read`` the move-out reads are recorded and the final bill drafted, all in
    this transaction (the account is closed unless ``close_account`` is false); without,
    only the date is recorded and the final bill awaits a move-out read.
    """
    async with in_transaction():
        holder = await AccountHolder.filter(account_id=account_id, move_out_on__isnull=True).first()
        if holder is None:
            if not await Account.exists(id=account_id):
                raise NotFound("account", field="accountId")
            raise Refused("INVALID_STATE", "the account has no current holder")
        if on < holder.move_in_on:
            raise Refused("INVALID_INPUT", f"they moved in on {holder.move_in_on}", field="on")
        outcome = MoveOut(holder)
        if final_read is not None:
            account = await Account.get(id=account_id)
            outcome.reads = await _record_final_read(viewer, account, on, final_read)
            try:
                bill_id = await final_bill(
                    account_number=account.number, move_out_on=on, zone=final_read.zone,
                    close_account=final_read.close_account,
                )  # fmt: skip
            except BillingError as exc:
                raise Refused("INVALID_STATE", str(exc), field="finalRead") from None
            outcome.final_bill = await Bill.get(id=bill_id)
        # final_bill sets these too; this covers a move-out without a read.
        await AccountHolder.filter(id=holder.id).update(move_out_on=on)
        holder.move_out_on = on
        if outcome.final_bill is not None:
            holder.final_bill_id = outcome.final_bill.id
        await audit.record(
            viewer=viewer, action="account.moved_out", entity="account", entity_id=account_id,
            before={"customer_id": holder.customer_id, "move_out_on": None},  # type: ignore[attr-defined]
            after={"move_out_on": on, "final_read_ids": outcome.reads,
                   "final_bill_id": outcome.final_bill.id if outcome.final_bill else None},
            reason=reason,
        )  # fmt: skip
    await publish("account.moved_out", customer_id=holder.customer_id, account_id=account_id)  # type: ignore[attr-defined]
    return outcome
