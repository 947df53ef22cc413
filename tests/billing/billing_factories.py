"""Small utilities built row by row for the billing tests, and ``gridbill quote`` to check them.

Every bill a test makes is compared with what the quote command prints for the same
usage and tariff, run in-process through its real parser and handler.
"""

from __future__ import annotations

import argparse
import io
import json
import uuid
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from cli.quote import add_parser as add_quote_parser
from demo.tariffs import TARIFF_BY_CATEGORY, document_sha256
from domain.enums import AccountCategory
from gridbill.settings import DEMO_UPI_VPA, Settings
from store.models import (
    Account,
    AccountHolder,
    BillingCycle,
    Customer,
    Meter,
    MeterInstallation,
    MultiplierChange,
    Premise,
    Register,
    RegisterRead,
    ServicePoint,
    Tariff,
    TariffAssignment,
    TariffVersion,
)

ZONE = ZoneInfo("Asia/Kolkata")
READ_DAY = 8
CYCLE = "C08"

# A plain tariff whose bills are easy to follow: Rs 100 a month and Rs 5 a kWh, on
# calendar months, late payment 1.25% per month or part after the due date.
FLAT = {
    "format": "gridbill-tariff/1",
    "code": "FLAT",
    "name": "Flat test tariff",
    "currency": "INR",
    "fixed_charges": [{"code": "FC", "description": "Fixed charge", "rate": "100"}],
    "energy_charges": [{"code": "EC", "description": "Energy charge", "rate": "5.00"}],
    "late_payment": {"percent_per_month": "1.25", "grace_days": 0, "accrual": "per_month_or_part"},
}
DOMESTIC = TARIFF_BY_CATEGORY[AccountCategory.DOMESTIC].document
COMMERCIAL = TARIFF_BY_CATEGORY[AccountCategory.COMMERCIAL].document


def at(day: date, clock: time = time(10)) -> datetime:
    """A wall-clock moment in the utility's zone, as stored (UTC)."""
    return datetime.combine(day, clock, tzinfo=ZONE).astimezone(UTC)


@dataclass
class Site:
    account: Account
    customer: Customer
    point: ServicePoint
    install: MeterInstallation
    registers: dict[str, Register] = field(default_factory=dict)


@dataclass
class Utility:
    cycle: BillingCycle
    tariff: Tariff
    versions: list[TariffVersion]
    count: int = 0

    @classmethod
    async def create(
        cls,
        document: dict[str, Any] = FLAT,
        *,
        effective_from: date = date(2025, 4, 1),
        read_day: int = READ_DAY,
        code: str = CYCLE,
    ) -> Utility:
        cycle = await BillingCycle.create(
            code=code, name=f"Cycle {code}", read_day=read_day, bill_day=read_day + 3, due_days=15
        )
        tariff = await Tariff.create(
            code=str(document["code"]), name=str(document["name"]), category="test"
        )
        version = await TariffVersion.create(
            tariff=tariff, version=1, effective_from=effective_from, document=document,
            document_sha256=document_sha256(document),
        )  # fmt: skip
        return cls(cycle, tariff, [version])

    async def new_version(self, document: dict[str, Any], effective_from: date) -> TariffVersion:
        previous = self.versions[-1]
        await TariffVersion.filter(id=previous.id).update(effective_to=effective_from)
        version = await TariffVersion.create(
            tariff=self.tariff, version=len(self.versions) + 1, effective_from=effective_from,
            document=document, document_sha256=document_sha256(document),
        )  # fmt: skip
        self.versions.append(version)
        return version

    async def account(
        self,
        *,
        category: str = "domestic",
        load_w: int = 3000,
        digits: int = 6,
        obis: tuple[str, ...] = ("1.8.0",),
        ct: tuple[int, int] = (1, 1),
        kind: str = "manual",
    ) -> Site:
        self.count += 1
        n = f"{self.cycle.code}-{self.count:04d}"
        customer = await Customer.create(number=f"CU-{n}", name=f"Customer {n}")
        premise = await Premise.create(
            code=f"PR-{n}", address_line1=f"{self.count} MG Road", city="Pune",
            state="Maharashtra", postal_code="411001",
        )  # fmt: skip
        point = await ServicePoint.create(code=f"SP-{n}", premise=premise)
        account = await Account.create(
            number=f"AC-{n}", service_point=point, category=category, sanctioned_load_w=load_w,
            billing_cycle=self.cycle, connected_on=date(2020, 1, 1),
        )  # fmt: skip
        await AccountHolder.create(account=account, customer=customer, move_in_on=date(2020, 1, 1))
        await TariffAssignment.create(
            account=account, tariff=self.tariff, effective_from=date(2020, 1, 1)
        )
        site = Site(
            account, customer, point, await self._install(point, n, kind, ct, at(date(2020, 1, 1)))
        )
        site.registers = await self._registers(site.install, obis, digits)
        return site

    async def _install(
        self, point: ServicePoint, serial: str, kind: str, ct: tuple[int, int], when: datetime
    ) -> MeterInstallation:
        meter = await Meter.create(serial=f"M-{serial}", kind=kind, status="installed")
        install = await MeterInstallation.create(
            meter=meter, service_point=point, installed_at=when
        )
        await MultiplierChange.create(
            installation=install, effective_from=when, ct_primary_a=ct[0], ct_secondary_a=ct[1]
        )
        return install

    async def _registers(
        self, install: MeterInstallation, obis: tuple[str, ...], digits: int
    ) -> dict[str, Register]:
        periods = {"1.8.1": "peak", "1.8.2": "off_peak"}
        found = {}
        for code in obis:
            unit = "kW" if code == "1.6.0" else "kWh"
            found[code] = await Register.create(
                meter_id=install.meter_id, obis_code=code, unit=unit,  # type: ignore[attr-defined]
                digits=4 if unit == "kW" else digits, tou_period=periods.get(code, ""),
            )  # fmt: skip
        return found

    async def replace_meter(
        self, site: Site, when: datetime, *, removal_kwh: str, install_kwh: str, digits: int = 6
    ) -> Site:
        """Remove the meter with a removal read at ``when``, install a new one with its read."""
        await read(site, "1.8.0", removal_kwh, when, read_type="removal")
        await MeterInstallation.filter(id=site.install.id).update(removed_at=when)
        install = await self._install(
            site.point, f"{site.account.number}-B", "manual", (1, 1), when
        )
        new = Site(site.account, site.customer, site.point, install)
        new.registers = await self._registers(install, tuple(site.registers), digits)
        await read(new, "1.8.0", install_kwh, when, read_type="install")
        return new


async def read(
    site: Site,
    obis: str,
    value: str,
    when: datetime | date,
    *,
    read_type: str = "regular",
    quality: str = "valid",
) -> RegisterRead:
    """A read of ``value`` (kWh or kW, as shown) at ``when`` (a date means 10:00 local)."""
    moment = at(when) if not isinstance(when, datetime) else when
    return await RegisterRead.create(
        client_uuid=uuid.uuid4(), register=site.registers[obis],
        value_milli=int(Decimal(value) * 1000), read_at=moment, read_type=read_type,
        source="manual", quality=quality, received_at=moment,
    )  # fmt: skip


def quote(settings: Settings, document: dict[str, Any], tmp: Path, *argv: str) -> dict[str, Any]:
    """``gridbill quote --tariff <document> … --format json``, run in-process."""
    path = tmp / f"tariff-{uuid.uuid4().hex[:8]}.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    parser = argparse.ArgumentParser(prog="gridbill")
    add_quote_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["quote", "--tariff", str(path), *argv, "--format", "json"])
    out = io.StringIO()
    with redirect_stdout(out):
        assert args.handler(settings, args) == 0
    result: dict[str, Any] = json.loads(out.getvalue())
    return result


def paise(rupees: str) -> int:
    return int(Decimal(rupees) * 100)


async def run(period: str, *, cycle: str = CYCLE, chunk_size: int = 500) -> Any:
    from services.billing.runs import run_bill_run

    return await run_bill_run(cycle_code=cycle, period=period, zone=ZONE, chunk_size=chunk_size)


async def issue(period: str, day: date, *, cycle: str = CYCLE) -> Any:
    from services.billing.issue import draft_ids, issue_bills
    from services.viewer import acting_as

    ids = await draft_ids(cycle_code=cycle, period=period)
    return await issue_bills(
        acting_as("test"), ids, issue_date=day, utility_name="Test Power Ltd",
        payee_vpa=DEMO_UPI_VPA,
    )  # fmt: skip
