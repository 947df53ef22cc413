"""What-if estimates from one kWh total, on a flat and on a time-of-use tariff.

A customer gives one total; on a time-of-use tariff the estimate assumes the energy is
used evenly over the hours (``Calendar.even_split``), so each period gets its share of
the hours. June 2026, 30 days, 720 hours: peak 18–22 h (4 a day, 120), night 22–06 h
(8 a day, 240), normal the other 12 (360). 240 kWh is 1/3 kWh an hour: peak 40 kWh at
9.00 = 360.00, night 80 at 4.00 = 320.00, normal 120 at 6.00 = 720.00; with the fixed
100.00 the estimate is 1,500.00.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.tariff import parse_tariff
from services.billing.estimates import estimate
from services.errors import Refused
from store.models import Account
from tests import factories as f
from tests.billing.billing_factories import FLAT, Utility

TOU: dict[str, Any] = {
    **FLAT,
    "code": "TOU",
    "name": "Time-of-use test tariff",
    "calendars": {"tod": {"periods": ["peak", "night", "normal"], "default_period": "normal",
                          "rules": [{"period": "night", "hours": ["22-06"]},
                                    {"period": "peak", "hours": ["18-22"]}]}},
    "energy_charges": [{"code": "EC", "description": "Energy charge", "calendar": "tod",
                        "periods": {"peak": {"rate": "9.00"}, "night": {"rate": "4.00"},
                                    "normal": {"rate": "6.00"}}}],
}  # fmt: skip
JUNE = date(2026, 6, 1)


async def test_a_time_of_use_estimate_spreads_the_total_over_the_hours(db: Any) -> None:
    utility = await Utility.create(TOU)
    site = await utility.account()
    account = await Account.get(id=site.account.id)
    found = await estimate(account, kwh=Decimal("240"), start=JUNE, days=30)
    lines = {line.code: line.amount for line in found.quote.lines}
    assert lines == {"FC": Decimal("100.00"), "EC.peak": Decimal("360.00"),
                     "EC.night": Decimal("320.00"), "EC.normal": Decimal("720.00")}  # fmt: skip
    assert found.quote.total == Decimal("1500.00")


async def test_a_flat_tariff_takes_the_total_as_given(db: Any) -> None:
    utility = await Utility.create(FLAT)
    site = await utility.account()
    account = await Account.get(id=site.account.id)
    found = await estimate(account, kwh=Decimal("240"), start=JUNE, days=30)
    assert found.quote.total == Decimal("1300.00")  # 100 + 240 × 5.00


DEMAND: dict[str, Any] = {
    **FLAT, "code": "DEM", "name": "Demand test tariff",
    "demand_charges": [{"code": "DC", "description": "Demand charge", "rate": "250"}],
}  # fmt: skip


async def test_a_demand_estimate_assumes_the_last_bills_maximum_demand(db: Any) -> None:
    utility = await Utility.create(DEMAND)
    site = await utility.account()
    account = await Account.get(id=site.account.id)
    with pytest.raises(Refused) as refused:  # no demand given, none billed yet
        await estimate(account, kwh=Decimal("240"), start=JUNE, days=30)
    assert refused.value.code == "NOT_PRICEABLE"
    assert site.customer is not None
    bill = await f.issued_bill(account, site.customer, date(2026, 5, 1), 10_000)
    bill.snapshot = {"usage": {"max_demand_w": 12_000}}
    await bill.save(update_fields=["snapshot"])
    found = await estimate(account, kwh=Decimal("240"), start=JUNE, days=30)
    lines = {line.code: line.amount for line in found.quote.lines}
    assert lines["DC"] == Decimal("3000.00")  # 12 kW × 250
    given_kw = await estimate(
        account, kwh=Decimal("240"), start=JUNE, days=30, max_demand_kw=Decimal("8")
    )
    assert {line.code: line.amount for line in given_kw.quote.lines}["DC"] == Decimal("2000.00")


GROSS: dict[str, Any] = {
    **FLAT, "code": "GM", "name": "Gross-metered test tariff",
    "export": {"scheme": "gross_metering", "feed_in_rate": "3.56"},
}  # fmt: skip
KVAH: dict[str, Any] = {**FLAT, "code": "KVAH", "name": "kVAh test tariff", "energy_unit": "kVAh"}


@pytest.mark.parametrize("kind", ["gross", "kvah"])
async def test_a_solar_or_kvah_estimate_takes_the_latest_actual_bills_shape(
    db: Any, kind: str
) -> None:
    rules, snapshot = {
        "gross": (GROSS, {"usage": {"days": 31, "wh": 300_000}, "solar": {"export_wh": 248_000}}),
        "kvah": (KVAH, {"usage": {"days": 31, "wh": 1_000_000, "kvah_vah": 1_120_000}}),
    }[kind]
    utility = await Utility.create(rules)
    site = await utility.account()
    account = await Account.get(id=site.account.id)
    # Before any bill: no export, power factor 1 (what the import alone costs).
    bare = await estimate(account, kwh=Decimal("240"), start=JUNE, days=30)
    assert bare.quote.total == Decimal("1300.00")  # 100 + 240 × 5.00
    assert site.customer is not None
    bill = await f.issued_bill(account, site.customer, date(2026, 5, 1), 10_000)
    bill.snapshot = snapshot
    await bill.save(update_fields=["snapshot"])
    found = await estimate(account, kwh=Decimal("240"), start=JUNE, days=30)
    lines = {line.code: line.amount for line in found.quote.lines}
    if kind == "gross":  # 8 kWh a day exported × 30 days = 240 × 3.56 = 854.40 credited
        assert lines["EXPORT"] == Decimal("-854.40")
    else:  # 240 kWh × 1.12 kVAh a kWh = 268.8 kVAh × 5.00
        assert lines["EC"] == Decimal("1344.00")


@given(
    kwh=st.decimals(min_value=0, max_value=100_000, places=3),
    start=st.dates(min_value=date(2024, 1, 1), max_value=date(2027, 12, 1)),
    days=st.integers(min_value=1, max_value=62),
)
def test_an_even_split_adds_up_exactly_and_follows_the_hours(
    kwh: Decimal, start: date, days: int
) -> None:
    calendar = parse_tariff(TOU).calendars["tod"]
    end = date.fromordinal(start.toordinal() + days)
    split = calendar.even_split(kwh, start, end)
    assert sum(split.values()) == kwh
    hours = {"peak": 4 * days, "night": 8 * days, "normal": 12 * days}
    for name in ("peak", "night"):  # the last period takes the remainder
        assert split[name] == kwh * hours[name] / (24 * days)
