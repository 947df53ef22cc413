"""A small utility for the billing tests (a cycle and a tariff, its accounts built by
tests/factories.py), and ``gridbill quote`` to check its bills.

Every bill a test makes is compared with what the quote command prints for the same
usage and tariff, run in-process through its real parser and handler.
"""

from __future__ import annotations

import argparse
import io
import json
import uuid
from contextlib import redirect_stdout
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from cli.quote import add_parser as add_quote_parser
from demo.tariffs import TARIFF_BY_CATEGORY, document_sha256
from domain.enums import AccountCategory
from gridbill.settings import DEMO_UPI_VPA, Settings
from store.models import BillingCycle, MeterInstallation, Tariff, TariffVersion
from tests import factories as f
from tests.factories import ZONE, at

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
    ) -> f.Site:
        """An account on this utility's cycle and tariff (tests/factories.py ``site``)."""
        self.count += 1
        n = f"{self.cycle.code}-{self.count:04d}"
        return await f.site(
            number=f"AC-{n}", customer_number=f"CU-{n}", name=f"Customer {n}",
            point_code=f"SP-{n}", billing_cycle=self.cycle, category=category, load_w=load_w,
            tariff=self.tariff, serial=f"M-{n}", kind=kind, installed_at=at(date(2020, 1, 1)),
            ct=ct, obis=obis, digits=digits,
        )  # fmt: skip

    async def replace_meter(
        self, site: f.Site, when: datetime, *, removal_kwh: str, install_kwh: str, digits: int = 6
    ) -> f.Site:
        """Remove the meter with a removal read at ``when``, install a new one with its read."""
        await f.read(site.register, removal_kwh, when, read_type="removal")
        await MeterInstallation.filter(id=site.install.id).update(removed_at=when)
        meter = await f.meter(serial=f"M-{site.account.number}-B")
        install = await f.install(meter, site.point, installed_at=when)
        registers = {code: await f.register(meter, code, digits=digits) for code in site.registers}
        new = f.Site(site.customer, site.account, site.point, meter, install, registers)
        await f.read(new.register, install_kwh, when, read_type="install")
        return new


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


async def issue(
    period: str, day: date, *, cycle: str = CYCLE, letterhead: dict[str, str] | None = None
) -> Any:
    from services.billing.issue import draft_ids, issue_bills
    from services.viewer import acting_as

    ids = await draft_ids(cycle_code=cycle, period=period)
    return await issue_bills(
        acting_as("test"), ids, issue_date=day, utility_name="Test Power Ltd",
        payee_vpa=DEMO_UPI_VPA, letterhead=letterhead,
    )  # fmt: skip
