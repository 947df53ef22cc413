"""Rules real bills use (issue #17): rounding of slab widths and where amounts round,
bases that name a slab or part of a levy, charges chosen by sanctioned-load band, and
lines that say what they applied. Each case has its arithmetic beside it.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from tariff_helpers import amounts, check

from domain.pricing import price
from domain.tariff import parse_tariff
from domain.usage import TotalUsage

# DERC's domestic slabs (Tariff Order FY 2019-20, schedule 1.1, unchanged since).
DERC_SLABS = [
    {"up_to": "200", "rate": "3.00"},
    {"up_to": "400", "rate": "4.50"},
    {"up_to": "800", "rate": "6.50"},
    {"up_to": "1200", "rate": "7.00"},
    {"rate": "8.00"},
]
JULY_30_DAYS = (date(2024, 7, 1), date(2024, 7, 31))  # 30 of July's 31 days: factor 30/31


def doc(**fields: Any) -> dict[str, Any]:
    base = {"format": "gridbill-tariff/1", "code": "T", "name": "Test", "currency": "INR"}
    return base | fields


def usage(kwh: str, start: date, end: date) -> TotalUsage:
    return TotalUsage(Decimal(kwh), start, end)


def derc(widths: str) -> Any:
    return parse_tariff(
        doc(
            proration={"slab_widths": widths},
            energy_charges=[{"code": "EC", "description": "Energy charge", "slabs": DERC_SLABS}],
        )
    )


def test_prorated_slab_widths_rounded_to_nearest_whole_unit() -> None:
    # 545 kWh over 30 days of July: each width 200 × 30/31 = 193.548 → 194 units.
    # 194 × 3.00 + 194 × 4.50 + (545 − 388) × 6.50 = 582.00 + 873.00 + 1020.50 = 2475.50
    quote = price(derc("nearest"), usage("545", *JULY_30_DAYS))
    check(quote, {"EC.1": "582.00", "EC.2": "873.00", "EC.3": "1020.50"}, "2475.50")
    assert [line.description for line in quote.lines] == [
        "Energy charge 0–194 kWh",
        "Energy charge 194–388 kWh",
        "Energy charge 388–775 kWh",  # the third width, 400 × 30/31 = 387.1, is 387
    ]


def test_prorated_slab_widths_rounded_down() -> None:
    # widths 193: 193 × 3.00 + 193 × 4.50 + 159 × 6.50 = 579.00 + 868.50 + 1033.50
    quote = price(derc("down"), usage("545", *JULY_30_DAYS))
    check(quote, {"EC.1": "579.00", "EC.2": "868.50", "EC.3": "1033.50"}, "2481.00")


def test_unrounded_widths_stay_exact_and_lines_name_the_limits_applied() -> None:
    # 6000/31 × 3.00 = 580.645… → 580.65; × 4.50 = 870.97; (545 − 12000/31) × 6.50 = 1026.37
    quote = price(derc("none"), usage("545", *JULY_30_DAYS))
    check(quote, {"EC.1": "580.65", "EC.2": "870.97", "EC.3": "1026.37"}, "2477.99")
    assert quote.lines[0].description == "Energy charge 0–193.548 kWh"


def test_a_whole_month_applies_the_printed_limits_whatever_the_width_rounding() -> None:
    # 200 × 3.00 + 200 × 4.50 + 145 × 6.50 = 600 + 900 + 942.50
    for widths in ("none", "nearest", "down"):
        quote = price(derc(widths), usage("545", date(2024, 7, 1), date(2024, 8, 1)))
        check(quote, {"EC.1": "600.00", "EC.2": "900.00", "EC.3": "942.50"}, "2442.50")
        assert quote.lines[0].description == "Energy charge 0–200 kWh"


def ppac_on_fixed(point: str) -> Any:
    return parse_tariff(
        doc(
            fixed_charges=[{"code": "FC", "rate": "150"}],
            energy_charges=[{"code": "EC", "rate": "0"}],
            levies=[{"code": "PPAC", "percent": "7.25", "base": ["FC"]}],
            rounding={"point": point},
        )
    )


def test_rounding_per_segment_rounds_each_months_part_then_adds() -> None:
    # 25 Jun – 24 Jul: June 6/30 × 150 = 30.00, July 24/31 × 150 = 116.129…
    # per segment: PPAC 7.25% of 30.00 = 2.175 → 2.18, of 116.13 = 8.419 → 8.42: 10.60
    # per line:    7.25% of 146.13 = 10.594 → 10.59
    span = (date(2024, 6, 25), date(2024, 7, 25))
    by_segment = price(ppac_on_fixed("segment"), usage("0", *span))
    by_line = price(ppac_on_fixed("line"), usage("0", *span))
    check(by_segment, {"FC": "146.13", "PPAC": "10.60"}, "156.73")
    check(by_line, {"FC": "146.13", "PPAC": "10.59"}, "156.72")


def test_rounding_only_the_total_keeps_lines_exact_and_shows_the_difference() -> None:
    # FC 8.335, EC 107 × 0.1055 = 11.2885: shown 8.34 and 11.29 (19.63), but the bill is
    # 19.6235 → 19.62, as SAM computes it; a rounding line of −0.01 makes the lines add up.
    tariff = parse_tariff(
        doc(
            currency="USD",
            fixed_charges=[{"code": "FC", "rate": "8.335"}],
            energy_charges=[{"code": "EC", "rate": "0.1055"}],
            rounding={"point": "total"},
        )
    )
    quote = price(tariff, usage("107", date(2024, 7, 1), date(2024, 8, 1)))
    check(quote, {"FC": "8.34", "EC": "11.29", "ROUND": "-0.01"}, "19.62")


def test_a_levy_base_names_one_slab_or_part_of_another_levy() -> None:
    # 300 kWh in July: EC.1 200 × 3.00 = 600, EC.2 100 × 4.50 = 450, FC 150.
    # PPAC printed per slab: 10% of EC.1 = 60.00, 10% of EC.2 = 45.00.
    # SUR 8% of FC + EC = 8% of 1200 = 96.00; its part on energy is 96 × 1050/1200 = 84.
    # ET 5% of energy and the surcharge's part on it: 5% of (1050 + 84) = 56.70.
    tariff = parse_tariff(
        doc(
            fixed_charges=[{"code": "FC", "rate": "150"}],
            energy_charges=[{"code": "EC", "slabs": DERC_SLABS}],
            levies=[
                {"code": "PPAC1", "percent": "10", "base": ["EC.1"]},
                {"code": "PPAC2", "percent": "10", "base": ["EC.2"]},
                {"code": "SUR", "percent": "8", "base": ["FC", "EC"]},
                {"code": "ET", "percent": "5", "base": ["EC", {"code": "SUR", "on": ["EC"]}]},
            ],
        )
    )
    quote = price(tariff, usage("300", date(2024, 7, 1), date(2024, 8, 1)))
    check(
        quote,
        {
            "FC": "150.00",
            "EC.1": "600.00",
            "EC.2": "450.00",
            "PPAC1": "60.00",
            "PPAC2": "45.00",
            "SUR": "96.00",
            "ET": "56.70",
        },
        "1457.70",
    )
    assert {line.code: line.quantity for line in quote.lines}["ET"] == Decimal("1134")


BAND_FIXED = {"code": "FC", "description": "Fixed charge", "basis": "per_bill",
              "load_slabs": {"slabs": [{"up_to": "2", "rate": "40"}, {"rate": "100"}]}}  # fmt: skip


# DERC, TPDDL Tariff Order FY 2015-16, Tariff Schedule 1.1 Domestic, individual
# connections: fixed charge Rs 40/month up to 2 kW sanctioned load, Rs 100/month between
# 2 and 5 kW; energy 400 / 595 / 730 / 810 / 875 paise at 200 / 400 / 800 / 1200 units.
TPDDL_2015_16_EC = {"code": "EC", "description": "Energy charge", "slabs": [
    {"up_to": "200", "rate": "4.00"}, {"up_to": "400", "rate": "5.95"},
    {"up_to": "800", "rate": "7.30"}, {"up_to": "1200", "rate": "8.10"}, {"rate": "8.75"}]}  # fmt: skip


@pytest.mark.parametrize(
    ("load_kw", "kwh", "fixed", "total"),
    [
        ("1", "150", "40.00", "640.00"),  # 40 + 150 × 4.00
        ("2", "150", "40.00", "640.00"),  # 2 kW is "up to 2 kW"
        ("3", "350", "100.00", "1792.50"),  # 100 + 200 × 4.00 + 150 × 5.95
    ],
)
def test_a_per_connection_fixed_charge_chosen_by_sanctioned_load_band(
    load_kw: str, kwh: str, fixed: str, total: str
) -> None:
    tariff = parse_tariff(doc(fixed_charges=[BAND_FIXED], energy_charges=[TPDDL_2015_16_EC]))
    july = usage(kwh, date(2024, 7, 1), date(2024, 8, 1))
    quote = price(tariff, july, sanctioned_load_kw=Decimal(load_kw))
    assert amounts(quote)["FC"] == Decimal(fixed) and quote.total == Decimal(total)
    assert quote.lines[0].description == f"Fixed charge ({load_kw} kW sanctioned)"


def test_a_per_connection_band_charge_is_prorated_and_needs_the_load() -> None:
    tariff = parse_tariff(
        doc(fixed_charges=[BAND_FIXED], energy_charges=[{"code": "EC", "rate": "5"}])
    )
    half = usage("0", date(2024, 6, 1), date(2024, 6, 16))  # 15/30 × 100 = 50.00
    assert amounts(price(tariff, half, sanctioned_load_kw=Decimal("3"))) == {"FC": Decimal("50.00")}
    with pytest.raises(ValueError, match="give the sanctioned load"):
        price(tariff, half)


# HERC tariff for FY 2013-14 (from 1 July 2013), Domestic Supply Category I: energy 298
# paise a unit up to 40 units a month; monthly minimum charge (MMC) Rs 100/kW of connected
# load up to 2 kW and Rs 60/kW above 2 kW (read here as the whole load at its band's rate).
@pytest.mark.parametrize(
    ("mode", "load_kw", "kwh", "shortfall", "total"),
    [
        ("whole_load", "1", "20", "40.40", "100.00"),  # 1 × 100 = 100 − 20 × 2.98 = 59.60
        ("whole_load", "2", "40", "80.80", "200.00"),  # 2 × 100 = 200 − 119.20
        ("whole_load", "3", "30", "90.60", "180.00"),  # 3 × 60 = 180 − 89.40
        ("telescopic", "3", "30", "170.60", "260.00"),  # 2 × 100 + 1 × 60 = 260 − 89.40
    ],
)
def test_a_minimum_charge_by_load_band(
    mode: str, load_kw: str, kwh: str, shortfall: str, total: str
) -> None:
    tariff = parse_tariff(
        doc(
            energy_charges=[{"code": "EC", "slabs": [{"up_to": "40", "rate": "2.98"},
                                                     {"up_to": "100", "rate": "4.75"}, {"rate": "5.25"}]}],
            minimum_charge={
                "basis": "per_kw",
                "load_slabs": {
                    "mode": mode,
                    "slabs": [{"up_to": "2", "rate": "100"}, {"rate": "60"}],
                },
            },
        )
    )  # fmt: skip
    july = usage(kwh, date(2024, 7, 1), date(2024, 8, 1))
    quote = price(tariff, july, sanctioned_load_kw=Decimal(load_kw))
    assert amounts(quote)["MIN"] == Decimal(shortfall)
    assert quote.total == Decimal(total)


def test_a_levy_whose_rate_changes_in_the_period_says_which_rate_held_when() -> None:
    # 16 Jun – 15 Jul, 300 kWh at ₹5; duty 5% in June, 6% from July.
    tariff = parse_tariff(
        doc(
            energy_charges=[{"code": "EC", "rate": "5"}],
            levies=[
                {
                    "code": "ED",
                    "description": "Electricity duty",
                    "base": ["EC"],
                    "percent": [
                        {"from": "2024-06-01", "to": "2024-07-01", "rate": "5"},
                        {"from": "2024-07-01", "rate": "6"},
                    ],
                }
            ],
        )
    )
    quote = price(tariff, usage("300", date(2024, 6, 16), date(2024, 7, 16)))
    duty = next(line for line in quote.lines if line.code == "ED")
    assert duty.description == "Electricity duty (5% 16–30 Jun, 6% 1–15 Jul)"
    assert duty.rate is None
    # Factors 15/30 and 15/31 share EC 1500.00 as 31:30: 762.295 × 5% + 737.705 × 6%
    # = 38.115 + 44.262 = 82.377 → 82.38
    assert duty.amount == Decimal("82.38")


def test_time_of_use_tiers_on_the_months_total_energy() -> None:
    # 300 kWh peak + 300 off-peak, tiers at 400 kWh counted on the total 600: tier 1 is
    # 400 kWh shared 200/200, tier 2 the other 200 shared 100/100.
    # peak 200 × 5 + 100 × 7 = 1700; off-peak 200 × 3 + 100 × 4 = 1000.
    from domain.usage import UsageByPeriod

    tiers = lambda low, high: {"slabs": [{"up_to": "400", "rate": low}, {"rate": high}]}  # noqa: E731
    tariff = parse_tariff(doc(
        calendars={"tod": {"periods": ["peak", "off"], "default_period": "off",
                           "rules": [{"period": "peak", "hours": ["18-22"]}]}},
        energy_charges=[{"code": "EC", "calendar": "tod", "tiers_on": "total_energy",
                         "periods": {"peak": tiers("5", "7"), "off": tiers("3", "4")}}],
    ))  # fmt: skip
    usage = UsageByPeriod(
        {"peak": Decimal(300), "off": Decimal(300)}, date(2024, 7, 1), date(2024, 8, 1)
    )
    check(price(tariff, usage), {"EC.peak.1": "1000.00", "EC.peak.2": "700.00",
                                 "EC.off.1": "600.00", "EC.off.2": "400.00"}, "2700.00")  # fmt: skip


def test_tiers_on_the_total_need_the_same_limits_in_every_period() -> None:
    from domain.tariff import TariffError

    with pytest.raises(TariffError, match="same limits in every period"):
        parse_tariff(doc(
            calendars={"tod": {"periods": ["a", "b"], "default_period": "a", "rules": []}},
            energy_charges=[{"code": "EC", "calendar": "tod", "tiers_on": "total_energy", "periods": {
                "a": {"slabs": [{"up_to": "400", "rate": "1"}, {"rate": "2"}]},
                "b": {"slabs": [{"up_to": "300", "rate": "1"}, {"rate": "2"}]}}}],
        ))  # fmt: skip
