"""Small factories for the API tests: a customer with an account, bills, payments, staff.

Everything is created through the models in the app's own event loop (``Api.run``), so
the test and the server share one database connection. Passwords are hashed once per
session (Argon2 is slow on purpose).
"""

from __future__ import annotations

import itertools
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from domain.enums import (
    AccountCategory,
    BillStatus,
    MeterKind,
    MeterStatus,
    PaymentMethod,
    PaymentStatus,
    ReadQuality,
    ReadSource,
    RegisterUnit,
    Role,
)
from gridbill.passwords import hash_secret
from services.billing.tariffs import add_version
from services.viewer import acting_as
from store.models import (
    Account,
    AccountHolder,
    Bill,
    BillingCycle,
    BillLine,
    BillRead,
    Customer,
    Meter,
    MeterInstallation,
    MultiplierChange,
    PartnerClient,
    Payment,
    Premise,
    Register,
    RegisterRead,
    ServicePoint,
    Tariff,
    TariffAssignment,
    User,
)

PASSWORD = "correct horse battery"
PARTNER_SECRET = "partner-secret-" + "s" * 30
TARIFF_FILE = (
    Path(__file__).resolve().parent.parent
    / "fixtures"
    / "tariffs"
    / "msedcl_2020_21_lt1b_residential.json"
)
_serial = itertools.count(1)


@cache
def password_hash() -> str:
    return hash_secret(PASSWORD)


@cache
def partner_secret_hash() -> str:
    return hash_secret(PARTNER_SECRET)


def n() -> int:
    return next(_serial)


@dataclass
class Household:
    customer: Customer
    account: Account
    user: User | None
    meter: Meter
    register: Register
    service_point: ServicePoint


async def cycle() -> BillingCycle:
    existing = await BillingCycle.filter(code="C1").first()
    return existing or await BillingCycle.create(code="C1", name="Cycle 1", read_day=1, bill_day=5)


async def domestic_tariff() -> Tariff:
    existing = await Tariff.filter(code="MSEDCL-LT-IB").first()
    if existing is not None:
        return existing
    with TARIFF_FILE.open(encoding="utf-8") as f:
        document = json.load(f, parse_float=Decimal)
    await add_version(
        acting_as("test"), document=document, effective_from=date(2020, 4, 1), category="domestic"
    )
    return await Tariff.get(code="MSEDCL-LT-IB")


async def user(role: Role, *, customer: Customer | None = None, email: str | None = None) -> User:
    i = n()
    return await User.create(
        email=email or f"{role.value}{i}@example.test", phone=None, full_name=f"{role.value} {i}",
        role=role, password_hash=password_hash(), customer=customer,
    )  # fmt: skip


async def household(
    *,
    signed_up: bool = True,
    phone: str | None = None,
    smart: bool = False,
    moved_in: date = date(2024, 1, 1),
) -> Household:
    i = n()
    customer = await Customer.create(
        number=f"C{i:06d}", name=f"Customer {i}", email=f"c{i}@example.test",
        phone=phone or f"+9198{i:08d}",
    )  # fmt: skip
    premise = await Premise.create(
        code=f"P{i}", address_line1=f"{i} MG Road", city="Pune", state="MH", postal_code="411001"
    )
    point = await ServicePoint.create(code=f"SP{i}", premise=premise)
    account = await Account.create(
        number=f"17{i:08d}", service_point=point, category=AccountCategory.DOMESTIC,
        sanctioned_load_w=3000, billing_cycle=await cycle(), connected_on=date(2020, 1, 1),
    )  # fmt: skip
    await AccountHolder.create(account=account, customer=customer, move_in_on=moved_in)
    await TariffAssignment.create(
        account=account, tariff=await domestic_tariff(), effective_from=date(2020, 4, 1)
    )
    meter = await Meter.create(
        serial=f"M{i:07d}",
        kind=MeterKind.SMART if smart else MeterKind.MANUAL,
        status=MeterStatus.INSTALLED,
    )
    installation = await MeterInstallation.create(
        meter=meter, service_point=point, installed_at=datetime(2020, 1, 1, tzinfo=UTC)
    )
    await MultiplierChange.create(
        installation=installation, effective_from=installation.installed_at
    )
    register = await Register.create(meter=meter, obis_code="1.8.0", unit=RegisterUnit.KWH)
    person = (
        await user(Role.CUSTOMER, customer=customer, email=customer.email) if signed_up else None
    )
    return Household(customer, account, person, meter, register, point)


async def read(register: Register, at: datetime, kwh: int) -> RegisterRead:
    return await RegisterRead.create(
        client_uuid=uuid.uuid4(), register=register, value_milli=kwh * 1000, read_at=at,
        source=ReadSource.MANUAL, quality=ReadQuality.VALID, received_at=at,
    )  # fmt: skip


async def bill(
    home: Household,
    period_start: date,
    *,
    status: BillStatus = BillStatus.ISSUED,
    lines: int = 3,
    payments: int = 1,
    reads: bool = True,
    pdf_path: str = "",
) -> Bill:
    end = (period_start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    issued = status != BillStatus.DRAFT
    created = await Bill.create(
        number=f"BL/2026-27/{n():06d}" if issued else None, account=home.account, customer=home.customer,
        period_start=period_start, period_end=end, active_period=period_start, status=status,
        consumption_wh=250_000, charges_paise=200_000 + lines, total_paise=200_000 + lines,
        payable_paise=200_000 + lines, issue_date=end + timedelta(days=5) if issued else None,
        due_date=end + timedelta(days=20) if issued else None,
        issued_at=datetime.now(UTC) if issued else None, pdf_path=pdf_path,
    )  # fmt: skip
    for position in range(1, lines + 1):
        await BillLine.create(
            bill=created, position=position, component="energy", code=f"EC{position}",
            description=f"Energy slab {position}", quantity="100", unit="kWh", rate="3.46",
            amount_paise=34_600,
        )  # fmt: skip
    if reads:
        opening = await read(
            home.register, datetime.combine(period_start, datetime.min.time(), UTC), 1000
        )
        closing = await read(home.register, datetime.combine(end, datetime.min.time(), UTC), 1250)
        await BillRead.create(
            bill=created, register=home.register, opening_read=opening, closing_read=closing,
            opening_milli=opening.value_milli, closing_milli=closing.value_milli, consumption_wh=250_000,
        )  # fmt: skip
    for _ in range(payments):
        await Payment.create(
            reference=f"PAY-{uuid.uuid4().hex[:12]}", account=home.account, bill=created,
            method=PaymentMethod.CASH, status=PaymentStatus.CAPTURED, amount_paise=50_000,
            received_on=end + timedelta(days=7), captured_at=datetime.now(UTC),
        )  # fmt: skip
    return created


async def partner(scopes: list[str], *, active: bool = True) -> PartnerClient:
    return await PartnerClient.create(
        client_id=f"client-{n()}", secret_hash=partner_secret_hash(), name="Energy Insights",
        scopes=scopes, is_active=active,
    )  # fmt: skip


async def set_pdf_hash(bill: Bill, sha256: str) -> None:
    await Bill.filter(id=bill.id).update(pdf_sha256=sha256)


async def set_phone(person: User, phone: str) -> None:
    await User.filter(id=person.id).update(phone=phone)


def now() -> datetime:
    return datetime.now(UTC)


async def second_account(home: Household) -> Household:
    """Another account (and meter) held by the same customer."""
    other = await household(signed_up=False)
    await AccountHolder.filter(account_id=other.account.id).update(customer_id=home.customer.id)
    return Household(
        home.customer, other.account, home.user, other.meter, other.register, other.service_point
    )


async def intervals(register: Register, start: datetime, values_wh: list[int]) -> None:
    """Quarter-hour values from ``start`` on a smart meter's register."""
    from store.models import IntervalReading

    received = datetime.now(UTC)
    await IntervalReading.bulk_create(
        [
            IntervalReading(
                register=register,
                interval_start=(start + timedelta(minutes=15 * i)).astimezone(UTC),
                value_wh=wh,
                received_at=received,
            )
            for i, wh in enumerate(values_wh)
        ]
    )


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone)


async def raw(sql: str) -> list[dict[str, object]]:
    from tortoise.connection import get_connection

    return await get_connection("default").execute_query_dict(sql)


async def deactivate(client: PartnerClient) -> None:
    await PartnerClient.filter(id=client.id).update(is_active=False)
