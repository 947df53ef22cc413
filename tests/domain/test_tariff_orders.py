"""Bills under real Indian tariff orders, checked to the paisa against hand arithmetic.

Each case writes out the arithmetic. The tariff documents in tests/fixtures/tariffs/
cite their orders in ``source``; the docs (docs/tariffs.md) reuse them as examples.

* DERC, Tariff Order FY 2019-20 (31 July 2019), Tariff Schedule category 1.1 Domestic:
  fixed charge per kW of sanctioned load by load slab (Rs 20/kW up to 2 kW, 50 for
  2-5 kW, 100 for 5-15 kW, 200 for 15-25 kW, 250 above), telescopic energy slabs
  0-200 Rs 3.00, 201-400 Rs 4.50, 401-800 Rs 6.50, 801-1200 Rs 7.00, above Rs 8.00.
* KSERC, Order in OA No. 15/2018 dated 8 July 2019, Tariff Schedule LT-I Domestic:
  telescopic up to 250 units a month (fixed charge by the slab reached), non-telescopic
  above 250 units.
* MERC, Order in Case No. 322 of 2019 dated 30 March 2020 (MSEDCL, FY 2020-21),
  LT-I(B) Residential as shown in an MSEDCL billing worksheet: energy slabs, wheeling
  charge per kWh, FAC by slab and 16% electricity duty on fixed + energy + wheeling + FAC.
"""

from __future__ import annotations

from datetime import date

import pytest
from tariff_helpers import check, quote_total, tariff

JULY = date(2024, 7, 1)  # 31 days: with calendar-month proration, factor exactly 1
JUNE = date(2024, 6, 1)  # 30 days: with 30-day proration, factor exactly 1


# --- DERC (Delhi), FY 2019-20, domestic ---------------------------------------------


@pytest.mark.parametrize(
    ("kwh", "load_kw", "expected", "total"),
    [
        # 1 kW x Rs 20 = 20.00; 150 x 3.00 = 450.00
        ("150", "1", {"FC": "20.00", "EC.1": "450.00"}, "470.00"),
        # slab boundary: 200 kWh all in the first slab; 2 kW is still "up to 2 kW": 2 x 20
        ("200", "2", {"FC": "40.00", "EC.1": "600.00"}, "640.00"),
        # one unit over: 200 x 3.00 + 1 x 4.50; 2.5 kW is in 2-5 kW, whole load at 50: 125.00
        ("201", "2.5", {"FC": "125.00", "EC.1": "600.00", "EC.2": "4.50"}, "729.50"),
        # 400 = 200 x 3.00 + 200 x 4.50 = 600 + 900; 5 kW x 50 = 250
        ("400", "5", {"FC": "250.00", "EC.1": "600.00", "EC.2": "900.00"}, "1750.00"),
        # 1200: 600 + 900 + 400 x 6.50 (2600) + 400 x 7.00 (2800); 16 kW x 200 = 3200
        (
            "1200", "16",
            {"FC": "3200.00", "EC.1": "600.00", "EC.2": "900.00", "EC.3": "2600.00", "EC.4": "2800.00"},
            "10100.00",
        ),
        # 1767 kWh, 20 kW: ... + 567 x 8.00 = 4536; 20 x 200 = 4000
        (
            "1767", "20",
            {"FC": "4000.00", "EC.1": "600.00", "EC.2": "900.00", "EC.3": "2600.00",
             "EC.4": "2800.00", "EC.5": "4536.00"},
            "15436.00",
        ),
    ],
)  # fmt: skip
def test_derc_domestic_full_month(
    kwh: str, load_kw: str, expected: dict[str, str], total: str
) -> None:
    check(quote_total(tariff("derc_2019_20_domestic"), kwh, JULY, 31, load_kw), expected, total)


def test_derc_partial_month_prorates_slabs_and_fixed_charge_exactly() -> None:
    # 10 days of July (31): factor 10/31. First slab limit 200 x 10/31 = 2000/31 kWh, kept
    # exact. 100 kWh: 2000/31 x 3.00 = 193.548.. -> 193.55; (100 - 2000/31) = 1100/31 kWh
    # x 4.50 = 159.677.. -> 159.68; fixed 3 kW x 50 x 10/31 = 48.387.. -> 48.39.
    quote = quote_total(tariff("derc_2019_20_domestic"), "100", JULY, 10, "3")
    check(quote, {"FC": "48.39", "EC.1": "193.55", "EC.2": "159.68"}, "401.62")
    shown = {line.code: line.quantity for line in quote.lines}
    assert str(shown["EC.1"]) == "64.516"  # 2000/31 shown to 3 decimals, priced exactly


# --- KSERC (Kerala), 8 July 2019, LT-I domestic single phase -------------------------


@pytest.mark.parametrize(
    ("kwh", "expected", "total"),
    [
        # boundary of the first slab: 50 x 3.15 = 157.50, fixed charge of 0-50: 35
        ("50", {"FC": "35.00", "EC.1": "157.50"}, "192.50"),
        # one unit into 51-100: + 1 x 3.70, fixed charge of 51-100: 45
        ("51", {"FC": "45.00", "EC.1": "157.50", "EC.2": "3.70"}, "206.20"),
        # 120: 157.50 + 50 x 3.70 (185.00) + 20 x 4.80 (96.00); fixed 55
        ("120", {"FC": "55.00", "EC.1": "157.50", "EC.2": "185.00", "EC.3": "96.00"}, "493.50"),
        # 250, the last telescopic total: ... + 50 x 4.80 + 50 x 6.40 + 50 x 7.60; fixed 80
        (
            "250",
            {"FC": "80.00", "EC.1": "157.50", "EC.2": "185.00", "EC.3": "240.00",
             "EC.4": "320.00", "EC.5": "380.00"},
            "1362.50",
        ),
        # 251 is non-telescopic: all 251 units at 5.80 = 1455.80; fixed of 0-300: 100
        ("251", {"FC": "100.00", "EC.1": "1455.80"}, "1555.80"),
        # 300 still in 0-300: 300 x 5.80 = 1740.00
        ("300", {"FC": "100.00", "EC.1": "1740.00"}, "1840.00"),
        # 301 in 0-350: 301 x 6.60 = 1986.60; fixed 110
        ("301", {"FC": "110.00", "EC.2": "1986.60"}, "2096.60"),
        # 600 above 500: 600 x 7.90 = 4740.00; fixed 150
        ("600", {"FC": "150.00", "EC.5": "4740.00"}, "4890.00"),
    ],
)  # fmt: skip
def test_kserc_lt1_domestic_month(kwh: str, expected: dict[str, str], total: str) -> None:
    check(quote_total(tariff("kserc_2019_lt1_domestic"), kwh, JUNE, 30), expected, total)


def test_kserc_two_month_bill_doubles_the_monthly_slabs() -> None:
    # 1 June - 31 July 2024 is 30 + 30 days = 2 months of 30 days. 480 kWh is 240 a
    # month: telescopic, fixed 80 a month. Per month 157.50 + 185.00 + 240.00 + 320.00
    # + 40 x 7.60 (304.00); the two months merged: 315.00, 370.00, 480.00, 640.00, 608.00.
    quote = quote_total(tariff("kserc_2019_lt1_domestic"), "480", JUNE, 60)
    expected = {"FC": "160.00", "EC.1": "315.00", "EC.2": "370.00", "EC.3": "480.00",
                "EC.4": "640.00", "EC.5": "608.00"}  # fmt: skip
    check(quote, expected, "2573.00")


# --- MERC (Maharashtra), MSEDCL FY 2020-21, LT-I(B) residential ------------------------


def test_msedcl_100_units() -> None:
    # FC 100; EC 100 x 3.46 = 346.00; WC 100 x 1.45 = 145.00; FAC 100 x 0.50 = 50.00.
    # Duty 16% of (100 + 346 + 145 + 50 = 641.00) = 102.56.
    quote = quote_total(tariff("msedcl_2020_21_lt1b_residential"), "100", JUNE, 30)
    expected = {"FC": "100.00", "EC.1": "346.00", "WC": "145.00", "FAC.1": "50.00", "ED": "102.56"}
    check(quote, expected, "743.56")


def test_msedcl_221_units() -> None:
    # EC 346.00 + 121 x 7.43 = 899.03; WC 221 x 1.45 = 320.45; FAC 50.00 + 121 x 0.84 =
    # 101.64; base 100 + 346 + 899.03 + 320.45 + 50 + 101.64 = 1817.12; duty 16% =
    # 290.7392 -> 290.74.
    quote = quote_total(tariff("msedcl_2020_21_lt1b_residential"), "221", JUNE, 30)
    expected = {"FC": "100.00", "EC.1": "346.00", "EC.2": "899.03", "WC": "320.45",
                "FAC.1": "50.00", "FAC.2": "101.64", "ED": "290.74"}  # fmt: skip
    check(quote, expected, "2107.86")


def test_msedcl_500_units_slab_boundary() -> None:
    # EC 346 + 200 x 7.43 (1486) + 200 x 10.32 (2064); WC 500 x 1.45 = 725;
    # FAC 50 + 200 x 0.84 (168) + 200 x 1.07 (214); base 100 + 3896 + 725 + 432 = 5153;
    # duty 16% = 824.48.
    quote = quote_total(tariff("msedcl_2020_21_lt1b_residential"), "500", JUNE, 30)
    expected = {"FC": "100.00", "EC.1": "346.00", "EC.2": "1486.00", "EC.3": "2064.00",
                "WC": "725.00", "FAC.1": "50.00", "FAC.2": "168.00", "FAC.3": "214.00",
                "ED": "824.48"}  # fmt: skip
    check(quote, expected, "5977.48")


def test_msedcl_31_day_bill_is_1_03_months() -> None:
    # 31 days on a 30-day month: factor 31/30, first slab 100 x 31/30 = 310/3 kWh.
    # FC 100 x 31/30 = 103.33; EC.1 310/3 x 3.46 = 357.533 -> 357.53; EC.2 (221 - 310/3)
    # = 353/3 x 7.43 = 874.263 -> 874.26; WC 320.45; FAC.1 310/3 x 0.50 = 51.667 -> 51.67;
    # FAC.2 353/3 x 0.84 = 98.84; base 1806.08; duty 16% = 288.9728 -> 288.97.
    quote = quote_total(tariff("msedcl_2020_21_lt1b_residential"), "221", JULY, 31)
    expected = {"FC": "103.33", "EC.1": "357.53", "EC.2": "874.26", "WC": "320.45",
                "FAC.1": "51.67", "FAC.2": "98.84", "ED": "288.97"}  # fmt: skip
    check(quote, expected, "2095.05")
