"""URDB import: the two real records in tests/fixtures/urdb/ priced to the cent by hand.

* FPL RS-1 (label 5550d6fd5457a3187e8b4567): tier 1 up to 1000 kWh/month at
  0.07531 + 0.0119 = 0.08721, above at 0.09613 + 0.0119 = 0.10803, fixed 7.57/month.
  The README's worked figure: 2000 kWh in a month = 195.24 energy + 7.57 = 202.81.
* SDG&E AL-TOU (label 6772f0268322c2ebdc04e77e): six TOU energy periods at 0.01874 +
  adj, fixed 766.91/month, flat demand 30.63/kW, TOU demand 30.8 + 14.81 = 45.61/kW in
  hours 16-20 June-October (period d1) and 32.93/kW in those hours otherwise (d2).
"""

from __future__ import annotations

import copy
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from tariff_helpers import check, load_json, quote_total, urdb

from domain.pricing import PricingError, price
from domain.tariff import TariffError, parse_tariff
from domain.urdb import from_urdb, to_document
from domain.usage import IntervalUsage, UsageByPeriod

LA = ZoneInfo("America/Los_Angeles")
NY = ZoneInfo("America/New_York")


def month_profile(
    year: int, month: int, zone: ZoneInfo, step: timedelta, readings: dict[datetime, str]
) -> IntervalUsage:
    """A whole month of intervals, zero except at ``readings`` (local start → kWh)."""
    start = datetime(year, month, 1, tzinfo=zone)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=zone)
    count = int((end - start) / step)
    values = [Decimal(0)] * count
    for when, kwh in readings.items():
        values[int((when.replace(tzinfo=zone) - start) / step)] = Decimal(kwh)
    return IntervalUsage(start, step, tuple(values))


def test_fpl_readme_figure_2000_kwh_in_a_month() -> None:
    # 1000 x 0.08721 = 87.21; 1000 x 0.10803 = 108.03; + 7.57 = 202.81 (README).
    quote = quote_total(urdb("urdb_example_tiered_fpl_rs1"), "2000", date(2015, 6, 1), 30)
    check(quote, {"F": "7.57", "E.1": "87.21", "E.2": "108.03"}, "202.81")
    assert quote.currency == "USD"


def test_fpl_hourly_profile_crosses_the_tier() -> None:
    # June 2015, 2 kWh every hour: 720 h x 2 = 1440 kWh. 1000 x 0.08721 = 87.21;
    # 440 x 0.10803 = 47.5332 -> 47.53; fixed 7.57.
    start = datetime(2015, 6, 1, tzinfo=NY)
    usage = IntervalUsage(start, timedelta(hours=1), (Decimal(2),) * 720)
    quote = price(urdb("urdb_example_tiered_fpl_rs1", "America/New_York"), usage)
    check(quote, {"F": "7.57", "E.1": "87.21", "E.2": "47.53"}, "142.31")


def test_fpl_below_the_tier_limit() -> None:
    # 999.5 kWh: all in tier 1, 999.5 x 0.08721 = 87.166395 -> 87.17.
    quote = quote_total(urdb("urdb_example_tiered_fpl_rs1"), "999.5", date(2015, 6, 1), 30)
    check(quote, {"F": "7.57", "E.1": "87.17"}, "94.74")


def test_sdge_readme_energy_example() -> None:
    # README: a July weekday, 100 kWh at hour 17 (p0 0.22842), 200 kWh at hour 10
    # (p1 0.14825), 50 kWh at hour 2 (p2 0.12431): 22.842 + 29.650 + 6.2155. Each period
    # is a line rounded once: 22.84 + 29.65 + 6.22 = 58.71 (the README's 58.7075).
    # Demand from the same hourly profile: the largest hour is 200 kW (hour 10), flat
    # 200 x 30.63 = 6126.00; hours 16-20 of July are d1: 100 kW x 45.61 = 4561.00.
    tuesday = datetime(2024, 7, 2, tzinfo=LA)
    usage = month_profile(2024, 7, LA, timedelta(hours=1), {
        tuesday.replace(hour=17): "100", tuesday.replace(hour=10): "200", tuesday.replace(hour=2): "50",
    })  # fmt: skip
    quote = price(urdb("urdb_example", "America/Los_Angeles"), usage)
    expected = {"F": "766.91", "E.p0": "22.84", "E.p1": "29.65", "E.p2": "6.22",
                "DF0": "6126.00", "DT1": "4561.00"}  # fmt: skip
    check(quote, expected, "11512.62")


def test_sdge_readme_demand_example_10_kw_july_peak() -> None:
    # A 15-minute profile whose only usage is 2.5 kWh at 17:00-17:15 on a July weekday:
    # 2.5 kWh / 0.25 h = 10 kW. TOU demand 10 x 45.61 = 456.10, flat 10 x 30.63 = 306.30
    # (README); energy 2.5 x 0.22842 = 0.57105 -> 0.57; fixed 766.91.
    usage = month_profile(
        2024, 7, LA, timedelta(minutes=15), {datetime(2024, 7, 2, 17, tzinfo=LA): "2.5"}
    )
    quote = price(urdb("urdb_example", "America/Los_Angeles"), usage)
    expected = {"F": "766.91", "E.p0": "0.57", "DF0": "306.30", "DT1": "456.10"}
    check(quote, expected, "1529.88")


def test_sdge_winter_weekday_weekend_and_off_season_demand() -> None:
    # January 2024: Tue 2nd 16:00 10 kWh (weekday hour 16 = p3 0.23992 -> 2.3992 = 2.40),
    # Tue 2nd 08:00 20 kWh (weekday hour 8 = p4 0.14299 -> 2.8598 = 2.86), Sat 6th 08:00
    # 30 kWh (weekend hour 8 = p5 0.11473 -> 3.4419 = 3.44). Flat demand: 30 kW x 30.63 =
    # 918.90. Hours 16-20 in January are d2: 10 kW x 32.93 = 329.30; no d1 in winter.
    usage = month_profile(2024, 1, LA, timedelta(hours=1), {
        datetime(2024, 1, 2, 16, tzinfo=LA): "10", datetime(2024, 1, 2, 8, tzinfo=LA): "20", datetime(2024, 1, 6, 8, tzinfo=LA): "30",
    })  # fmt: skip
    quote = price(urdb("urdb_example", "America/Los_Angeles"), usage)
    expected = {"F": "766.91", "E.p3": "2.40", "E.p4": "2.86", "E.p5": "3.44",
                "DF0": "918.90", "DT2": "329.30"}  # fmt: skip
    check(quote, expected, "2023.81")


def test_sdge_rounds_only_the_total_as_sam_does() -> None:
    # January 2024, 1 kWh at Tue 2nd 16:00 (p3 0.23992), Tue 2nd 08:00 (p4 0.14299) and Sat
    # 6th 08:00 (p5 0.11473): energy 0.49764 exact, shown 0.24 + 0.14 + 0.11 = 0.49. Fixed
    # 766.91, flat demand 1 kW x 30.63, d2 (16-20 h) 1 kW x 32.93. Rounded once, as URDB
    # and SAM do: 830.96764 -> 830.97, with a rounding line of +0.01; rounded line by line
    # the same bill would be 830.96.
    usage = month_profile(2024, 1, LA, timedelta(hours=1), {
        datetime(2024, 1, 2, 16, tzinfo=LA): "1", datetime(2024, 1, 2, 8, tzinfo=LA): "1",
        datetime(2024, 1, 6, 8, tzinfo=LA): "1",
    })  # fmt: skip
    record = load_json("urdb/urdb_example.json")
    expected = {"F": "766.91", "E.p3": "0.24", "E.p4": "0.14", "E.p5": "0.11",
                "DF0": "30.63", "DT2": "32.93", "ROUND": "0.01"}  # fmt: skip
    check(price(from_urdb(record, time_zone="America/Los_Angeles"), usage), expected, "830.97")
    by_line = to_document(record["items"][0], time_zone="America/Los_Angeles")
    by_line["rounding"] = {"point": "line"}
    assert price(parse_tariff(by_line), usage).total == Decimal("830.96")


def test_sdge_from_tou_registers_and_demand_registers() -> None:
    # Register reads instead of a profile: the README's July kWh per period, and maximum
    # demand 10 kW overall and in d1: same energy lines, 306.30 + 456.10.
    usage = UsageByPeriod(
        {"p0": Decimal(100), "p1": Decimal(200), "p2": Decimal(50)},
        date(2024, 7, 1), date(2024, 8, 1),
        max_demand_kw=Decimal(10), max_demand_kw_by_period={"d1": Decimal(10)},
    )  # fmt: skip
    quote = price(urdb("urdb_example"), usage)
    expected = {"F": "766.91", "E.p0": "22.84", "E.p1": "29.65", "E.p2": "6.22",
                "DF0": "306.30", "DT1": "456.10"}  # fmt: skip
    check(quote, expected, "1588.02")


def test_sdge_with_a_total_only_is_refused() -> None:
    with pytest.raises(PricingError, match="time of use"):
        quote_total(urdb("urdb_example"), "1000", date(2024, 7, 1), 31)


def test_daily_tiers_scale_with_the_days() -> None:
    # PG&E E-1 shape from the README: tiers of 10.5 and 42 kWh a day ("kWh daily").
    # 30 days: tier 1 = 315 kWh. 400 kWh: 315 x 0.40206 = 126.6489 -> 126.65;
    # 85 x 0.50323 = 42.77455 -> 42.77.
    zeros = [[0] * 24 for _ in range(12)]
    record = {
        "label": "67575942fe4f0b50f5027994",
        "energyratestructure": [[
            {"max": 10.5, "unit": "kWh daily", "rate": Decimal("0.40206")},
            {"max": 42, "unit": "kWh daily", "rate": Decimal("0.50323")},
        ]],
        "energyweekdayschedule": zeros, "energyweekendschedule": zeros,
    }  # fmt: skip
    record["energyratestructure"][0][0]["max"] = Decimal("10.5")
    quote = quote_total(from_urdb(record), "400", date(2024, 6, 1), 30)
    check(quote, {"E.1": "126.65", "E.2": "42.77"}, "169.42")


def coincident_record() -> dict[str, object]:
    """A demand-only record with a coincident charge: $12/kW in 14-18 June-September (c1)."""
    schedule = [[1 if 5 <= m <= 8 and 14 <= h < 18 else 0 for h in range(24)] for m in range(12)]
    zeros = [[0] * 24 for _ in range(12)]
    return {
        "label": "coincident-example", "energyratestructure": [[{"rate": Decimal("0.1")}]],
        "energyweekdayschedule": zeros, "energyweekendschedule": zeros,
        "coincidentratestructure": [[{"rate": Decimal("0")}], [{"rate": Decimal("12")}]],
        "coincidentrateschedule": schedule, "coincidentrateunit": "kW",
    }  # fmt: skip


def test_coincident_demand_is_the_highest_demand_in_the_system_peak_hours() -> None:
    # July 2024, hourly: 40 kWh at 09:00 on Wed 3rd (40 kW, outside 14-18) and 25 kWh at
    # 15:00 on Sat 6th (25 kW, inside: the coincident schedule holds every day alike).
    # Coincident demand 25 kW x 12 = 300.00; energy 65 x 0.10 = 6.50.
    usage = month_profile(2024, 7, LA, timedelta(hours=1), {
        datetime(2024, 7, 3, 9, tzinfo=LA): "40", datetime(2024, 7, 6, 15, tzinfo=LA): "25",
    })  # fmt: skip
    tariff = from_urdb(coincident_record(), time_zone="America/Los_Angeles")
    check(price(tariff, usage), {"E": "6.50", "DC1": "300.00"}, "306.50")
    # December has no coincident hours: no demand line at all.
    winter = month_profile(2024, 12, LA, timedelta(hours=1), {
        datetime(2024, 12, 3, 15, tzinfo=LA): "25",
    })  # fmt: skip
    check(price(tariff, winter), {"E": "2.50"}, "2.50")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (
            lambda r: r["energyratestructure"][0][0].update(unit="kWh/kW"),
            "energyratestructure[0][0].unit",
        ),
        (lambda r: r.update(lookbackpercent=Decimal("0.8")), "lookbackpercent"),
        (lambda r: r.update(flatDemandUnits="hp"), "flatDemandUnits"),
        (
            lambda r: r.update(
                coincidentratestructure=[[{"rate": Decimal("5")}]],
                coincidentrateschedule=[[0] * 24] * 11,
            ),
            "coincidentrateschedule",
        ),
        (
            lambda r: r.update(
                coincidentratestructure=[[{"rate": Decimal("5")}]],
                coincidentrateschedule=[[0] * 24] * 12,
                coincidentrateunit="kVA",
            ),
            "coincidentrateunit",
        ),
        (lambda r: r["energyweekdayschedule"][3].__setitem__(5, 9), "energyweekdayschedule[3][5]"),
        (lambda r: r.update(fixedchargeunits="$/week"), "fixedchargeunits"),
        (
            lambda r: r["energyratestructure"][0][0].update(rate=0.5),
            "energyratestructure[0][0].rate",
        ),
    ],
)
def test_unsupported_or_bad_urdb_fields_are_named(change: object, field: str) -> None:
    record = copy.deepcopy(load_json("urdb/urdb_example.json")["items"][0])
    change(record)  # type: ignore[operator]
    with pytest.raises(TariffError) as raised:
        from_urdb(record)
    assert raised.value.path == field


def test_a_holiday_from_the_utilitys_calendar_follows_the_weekend_schedule() -> None:
    # SDG&E AL-TOU: Thursday 4 July 2024 is a weekday; as a holiday it is billed on the
    # weekend schedule, so the same hourly profile costs less (no on-peak hours).
    from datetime import UTC, datetime, timedelta
    from decimal import Decimal

    from domain.pricing import price
    from domain.usage import IntervalUsage

    tariff = urdb("urdb_example")
    day = IntervalUsage(
        datetime(2024, 7, 4, tzinfo=UTC), timedelta(hours=1), tuple([Decimal(100)] * 24)
    )
    energy = lambda q: sum(line.amount for line in q.lines if line.component == "energy")  # noqa: E731
    workday, holiday = (
        price(tariff, day),
        price(tariff, day, holidays=frozenset({day.start.date()})),
    )
    assert energy(holiday) < energy(workday)
    weekend = IntervalUsage(
        datetime(2024, 7, 6, tzinfo=UTC), timedelta(hours=1), tuple([Decimal(100)] * 24)
    )
    assert energy(holiday) == energy(price(tariff, weekend))
