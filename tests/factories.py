"""The one set of test factories: real rows on the test's own database, both backends.

Every test that needs a customer, an account, a meter or a register builds it here, with
keyword arguments whose defaults make a plausible Pune household; a test names only what it
is about. ``site(...)`` is the building block (customer, premise, service point, account,
meter, installation, registers); ``household(...)`` is the signed-up customer the API tests
act as (contact details, a user, the domestic MSEDCL tariff). Bills, payments, reads and
users are here too, so no test area grows its own copy again.

Numbers come from one counter per process, so two factories in one test never collide.
Passwords are hashed once per session (Argon2 is slow on purpose).
"""

from __future__ import annotations

import itertools
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from domain.enums import (
    AccountCategory,
    AccountStatus,
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
    IntervalReading,
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

ZONE = ZoneInfo("Asia/Kolkata")
PASSWORD = "correct horse battery"
PARTNER_SECRET = "partner-secret-" + "s" * 30
TARIFF_FILE = (
    Path(__file__).resolve().parent
    / "fixtures"
    / "tariffs"
    / "msedcl_2020_21_lt1b_residential.json"
)
INSTALLED = datetime(2020, 1, 1, tzinfo=UTC)
"""When a factory meter was installed unless a test says otherwise."""
TOU_PERIODS = {"1.8.1": "peak", "1.8.2": "off_peak", "1.6.1": "peak"}
SMART_REGISTERS = ("1.8.0", "2.8.0", "1.6.0")
"""A smart meter's registers: import and export energy (kWh), maximum demand (kW)."""
_serial = itertools.count(1)


def n() -> int:
    """The next number of the process-wide counter (unique codes, serials, e-mails)."""
    return next(_serial)


@cache
def password_hash() -> str:
    return hash_secret(PASSWORD)


@cache
def partner_secret_hash() -> str:
    return hash_secret(PARTNER_SECRET)


def at(day: date | datetime, clock: time = time(10)) -> datetime:
    """A wall-clock moment in the utility's zone, as stored (UTC); a datetime is kept."""
    if isinstance(day, datetime):
        return day
    return datetime.combine(day, clock, tzinfo=ZONE).astimezone(UTC)


# --- customers, accounts, meters, registers ------------------------------------------------


async def cycle(code: str = "C1", **fields: Any) -> BillingCycle:
    """The billing cycle ``code``, created on first use (``name``, ``read_day``… as given)."""
    existing = await BillingCycle.filter(code=code).first()
    if existing is not None:
        return existing
    defaults: dict[str, Any] = {"name": f"Cycle {code}", "read_day": 1, "bill_day": 5}
    return await BillingCycle.create(code=code, **{**defaults, **fields})


async def customer(
    *,
    number: str | None = None,
    name: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    **fields: Any,
) -> Customer:
    i = n()
    return await Customer.create(
        number=number or f"C{i:06d}", name=name or f"Customer {i}", email=email, phone=phone,
        **fields,
    )  # fmt: skip


async def service_point(
    *, code: str | None = None, premise: dict[str, Any] | None = None
) -> ServicePoint:
    """A service point at its own premise (``premise`` fields override the address)."""
    i = n()
    code = code or f"SP{i}"
    address: dict[str, Any] = {
        "code": f"P-{code}", "address_line1": f"{i} MG Road", "city": "Pune",
        "state": "Maharashtra", "postal_code": "411001",
    }  # fmt: skip
    place = await Premise.create(**{**address, **(premise or {})})
    return await ServicePoint.create(code=code, premise=place)


async def account(
    *,
    number: str | None = None,
    point: ServicePoint | None = None,
    billing_cycle: BillingCycle | None = None,
    category: str = AccountCategory.DOMESTIC,
    load_w: int = 3000,
    status: str = AccountStatus.ACTIVE,
    connected_on: date = date(2020, 1, 1),
    holder: Customer | None = None,
    move_in_on: date = date(2020, 1, 1),
    tariff: Tariff | None = None,
    tariff_from: date = date(2020, 1, 1),
) -> Account:
    """An account at ``point`` (a new one by default), held by ``holder`` if given and on
    ``tariff`` from ``tariff_from`` if given."""
    i = n()
    created = await Account.create(
        number=number or f"17{i:08d}", service_point=point or await service_point(),
        category=category, sanctioned_load_w=load_w, status=status,
        billing_cycle=billing_cycle or await cycle(), connected_on=connected_on,
    )  # fmt: skip
    if holder is not None:
        await AccountHolder.create(account=created, customer=holder, move_in_on=move_in_on)
    if tariff is not None:
        await TariffAssignment.create(account=created, tariff=tariff, effective_from=tariff_from)
    return created


async def meter(
    *,
    serial: str | None = None,
    kind: str = MeterKind.MANUAL,
    status: str = MeterStatus.INSTALLED,
) -> Meter:
    return await Meter.create(serial=serial or f"M{n():07d}", kind=kind, status=status)


async def install(
    on: Meter,
    point: ServicePoint,
    *,
    installed_at: datetime = INSTALLED,
    ct: tuple[int, int] | None = (1, 1),
) -> MeterInstallation:
    """``on`` installed at ``point``; with a multiplier row (CT ratio) unless ``ct`` is None."""
    installation = await MeterInstallation.create(
        meter=on, service_point=point, installed_at=installed_at
    )
    if ct is not None:
        await MultiplierChange.create(
            installation=installation, effective_from=installed_at, ct_primary_a=ct[0],
            ct_secondary_a=ct[1],
        )  # fmt: skip
    return installation


async def register(
    on: Meter, obis: str = "1.8.0", *, digits: int = 6, unit: str | None = None
) -> Register:
    """A register by OBIS code: 1.6.x is demand in kW and 9.6.0 in kVA (4 digits), 9.8.0
    apparent energy in kVAh, the rest energy in kWh; 1.8.1 and 1.8.2 are the peak and
    off-peak time-of-day registers, 1.6.1 the peak hours' maximum demand."""
    demand = obis.startswith("1.6.") or obis == "9.6.0"
    energy = RegisterUnit.KVAH if obis == "9.8.0" else RegisterUnit.KWH
    kind = RegisterUnit.KVA if obis == "9.6.0" else RegisterUnit.KW
    return await Register.create(
        meter=on, obis_code=obis, unit=unit or (kind if demand else energy),
        digits=4 if demand else digits, tou_period=TOU_PERIODS.get(obis, ""),
    )  # fmt: skip


@dataclass
class Site:
    """A supplied place: who holds it, the account, and the meter with its registers."""

    customer: Customer | None
    account: Account
    point: ServicePoint
    meter: Meter
    install: MeterInstallation
    registers: dict[str, Register] = field(default_factory=dict)
    user: User | None = None

    @property
    def register(self) -> Register:
        """The 1.8.0 import register (every factory meter has one unless told otherwise)."""
        return self.registers["1.8.0"]

    async def read(
        self, obis: str, value: str | int | Decimal, when: date | datetime, **how: Any
    ) -> RegisterRead:
        """A read on the register ``obis`` (see ``read`` below for ``value`` and ``when``)."""
        return await read(self.registers[obis], value, when, **how)


async def site(
    *,
    number: str | None = None,
    holder: bool = True,
    customer_number: str | None = None,
    name: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    point_code: str | None = None,
    premise: dict[str, Any] | None = None,
    billing_cycle: BillingCycle | None = None,
    category: str = AccountCategory.DOMESTIC,
    load_w: int = 3000,
    status: str = AccountStatus.ACTIVE,
    connected_on: date = date(2020, 1, 1),
    move_in_on: date = date(2020, 1, 1),
    tariff: Tariff | None = None,
    tariff_from: date = date(2020, 1, 1),
    serial: str | None = None,
    kind: str = MeterKind.MANUAL,
    meter_status: str = MeterStatus.INSTALLED,
    installed_at: datetime = INSTALLED,
    ct: tuple[int, int] | None = (1, 1),
    obis: tuple[str, ...] = ("1.8.0",),
    digits: int = 6,
) -> Site:
    """A customer (unless ``holder`` is false) holding an account at a new service point,
    with a meter installed there and one register per ``obis`` code."""
    held = (
        await customer(number=customer_number, name=name, email=email, phone=phone)
        if holder
        else None
    )
    point = await service_point(code=point_code, premise=premise)
    opened = await account(
        number=number, point=point, billing_cycle=billing_cycle, category=category,
        load_w=load_w, status=status, connected_on=connected_on, holder=held,
        move_in_on=move_in_on, tariff=tariff, tariff_from=tariff_from,
    )  # fmt: skip
    installed = await meter(serial=serial, kind=kind, status=meter_status)
    installation = await install(installed, point, installed_at=installed_at, ct=ct)
    registers = {code: await register(installed, code, digits=digits) for code in obis}
    return Site(held, opened, point, installed, installation, registers)


async def user(
    role: Role,
    *,
    customer: Customer | None = None,
    email: str | None = None,
    phone: str | None = None,
    full_name: str | None = None,
) -> User:
    """A user who signs in with ``PASSWORD``."""
    i = n()
    return await User.create(
        email=email or f"{role.value}{i}@example.test", phone=phone,
        full_name=full_name or f"{role.value} {i}", role=role, password_hash=password_hash(),
        customer=customer,
    )  # fmt: skip


async def domestic_tariff() -> Tariff:
    """MSEDCL's 2020-21 LT-I(B) residential tariff (tests/fixtures), stored once."""
    existing = await Tariff.filter(code="MSEDCL-LT-IB").first()
    if existing is not None:
        return existing
    with TARIFF_FILE.open(encoding="utf-8") as f:
        document = json.load(f, parse_float=Decimal)
    await add_version(
        acting_as("test"), document=document, effective_from=date(2020, 4, 1), category="domestic"
    )
    return await Tariff.get(code="MSEDCL-LT-IB")


async def household(
    *,
    signed_up: bool = True,
    phone: str | None = None,
    smart: bool = False,
    moved_in: date = date(2024, 1, 1),
) -> Site:
    """A customer with an e-mail and a phone, signed up (a ``user``) unless told otherwise,
    on the domestic tariff, with one manual (or smart) meter."""
    i = n()
    home = await site(
        email=f"c{i}@example.test", phone=phone or f"+9198{i:08d}", move_in_on=moved_in,
        tariff=await domestic_tariff(), tariff_from=date(2020, 4, 1),
        kind=MeterKind.SMART if smart else MeterKind.MANUAL,
    )  # fmt: skip
    assert home.customer is not None
    if signed_up:
        home.user = await user(Role.CUSTOMER, customer=home.customer, email=home.customer.email)
    return home


async def second_account(home: Site) -> Site:
    """Another account (and meter) held by the same customer."""
    other = await site(holder=False)
    await AccountHolder.create(
        account=other.account, customer=home.customer, move_in_on=date(2024, 1, 1)
    )
    other.customer, other.user = home.customer, home.user
    return other


# --- reads ---------------------------------------------------------------------------------


async def read(
    on: Register,
    value: str | int | Decimal,
    when: date | datetime,
    *,
    read_type: str = "regular",
    source: str = ReadSource.MANUAL,
    quality: str = ReadQuality.VALID,
    billed: bool = False,
) -> RegisterRead:
    """A read of ``value`` as the register shows it (kWh or kW) at ``when`` (a date means
    10:00 in the utility's zone)."""
    moment = at(when)
    return await RegisterRead.create(
        client_uuid=uuid.uuid4(), register=on, value_milli=int(Decimal(value) * 1000),
        read_at=moment, read_type=read_type, source=source, quality=quality,
        received_at=moment, billed=billed,
    )  # fmt: skip


async def intervals(on: Register, start: datetime, values_wh: list[int]) -> None:
    """Quarter-hour values from ``start`` on a smart meter's register."""
    received = datetime.now(UTC)
    await IntervalReading.bulk_create(
        [
            IntervalReading(
                register=on,
                interval_start=(start + timedelta(minutes=15 * i)).astimezone(UTC),
                value_wh=wh,
                received_at=received,
            )
            for i, wh in enumerate(values_wh)
        ]
    )


# --- bills and payments ----------------------------------------------------------------------


async def bill(
    home: Site,
    period_start: date,
    *,
    status: BillStatus = BillStatus.ISSUED,
    lines: int = 3,
    payments: int = 1,
    reads: bool = True,
    pdf_path: str = "",
) -> Bill:
    """A month's bill for ``home`` with ``lines`` energy lines, the reads it used and
    ``payments`` captured cash payments of Rs 500 (totals: Rs 2000 plus one paisa a line)."""
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
        midnight = time(0)
        opening = await read(home.register, 1000, datetime.combine(period_start, midnight, UTC))
        closing = await read(home.register, 1250, datetime.combine(end, midnight, UTC))
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


async def issued_bill(
    of: Account, holder: Customer, start: date, total_paise: int, *, due: date | None = None
) -> Bill:
    """A bare issued bill of ``total_paise`` for ``start``'s month (no lines, no reads),
    issued and due on the 28th unless ``due`` says otherwise."""
    end = start.replace(day=28)
    return await Bill.create(
        account=of, customer=holder, period_start=start, period_end=end, active_period=start,
        status=BillStatus.ISSUED, total_paise=total_paise, charges_paise=total_paise,
        payable_paise=total_paise, issue_date=end, due_date=due or end,
    )  # fmt: skip


async def partner(scopes: list[str], *, active: bool = True) -> PartnerClient:
    return await PartnerClient.create(
        client_id=f"client-{n()}", secret_hash=partner_secret_hash(), name="Energy Insights",
        scopes=scopes, is_active=active,
    )  # fmt: skip


async def deactivate(client: PartnerClient) -> None:
    await PartnerClient.filter(id=client.id).update(is_active=False)
