"""URDB tariffs priced by gridbill against NREL SAM's utility-rate calculator (PySAM's
Utilityrate5), an independent implementation, month by month for a year of hourly load.

SAM reads the URDB record with its own converter (``UtilityRateTools.URDBv8_to_ElectricityRates``)
and bills a year whose 1 January is a Monday, so our profile is dated 2018. SAM's
converter does not read the older ``fixedmonthlycharge`` field, so it is handed to SAM
as ``ur_monthly_fixed_charge``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import PySAM.Utilityrate5 as utilityrate
import PySAM.UtilityRateTools as rate_tools
import pytest
from tariff_helpers import load_json

from domain.pricing import price
from domain.urdb import from_urdb, record_of
from domain.usage import IntervalUsage

HOURS = 8760
YEAR = 2018  # 1 January 2018 is a Monday, as SAM assumes


def hourly_load() -> list[Decimal]:
    """A year of hourly kW, with a daily swing, a weekly trend and jitter, to 3 places."""
    load = []
    for hour in range(HOURS):
        daily = 30 * (1 - abs((hour % 24) - 12) / 12)
        load.append(
            Decimal(50 + daily + (hour % 168) / 10 + (hour * 7919 % 13)).quantize(Decimal("0.001"))
        )
    return load


def sam_monthly_bills(record: dict[str, Any], load: list[Decimal]) -> list[Decimal]:
    model = utilityrate.new()
    for key, value in rate_tools.URDBv8_to_ElectricityRates(record).items():
        setattr(model.ElectricityRates, key, value)
    if record.get("fixedmonthlycharge"):
        model.ElectricityRates.ur_monthly_fixed_charge = float(record["fixedmonthlycharge"])
    model.Load.load = [float(kw) for kw in load]
    model.SystemOutput.gen = [0.0] * HOURS
    model.SystemOutput.degradation = [0]
    model.Lifetime.analysis_period = 1
    model.Lifetime.system_use_lifetime_output = 0
    model.Lifetime.inflation_rate = 0
    model.ElectricityRates.rate_escalation = [0]
    model.ElectricityRates.ur_metering_option = 0
    model.execute()
    bills = model.Outputs.year1_monthly_utility_bill_wo_sys
    return [Decimal(repr(bill)).quantize(Decimal("0.01")) for bill in bills]


def our_monthly_bills(document: dict[str, Any], load: list[Decimal]) -> list[Decimal]:
    tariff = from_urdb(document)
    bills, hour = [], 0
    for month in range(1, 13):
        start = datetime(YEAR, month, 1, tzinfo=UTC)
        end = datetime(YEAR + (month == 12), month % 12 + 1, 1, tzinfo=UTC)
        hours = (end - start) // timedelta(hours=1)
        usage = IntervalUsage(start, timedelta(hours=1), tuple(load[hour : hour + hours]))
        bills.append(price(tariff, usage).total)
        hour += hours
    return bills


@pytest.mark.parametrize(
    "fixture",
    [
        "urdb_example.json",  # SDG&E AL-TOU: six TOU periods, flat and TOU demand
        "urdb_example_tiered_fpl_rs1.json",  # FPL RS-1: monthly tiers
        "synthetic_tou_tiers.json",  # tiers counted on the month's energy across TOU periods
    ],
)
def test_every_month_matches_sam_to_the_cent(fixture: str) -> None:
    document = load_json(f"urdb/{fixture}")
    load = hourly_load()
    assert our_monthly_bills(document, load) == sam_monthly_bills(dict(record_of(document)), load)
