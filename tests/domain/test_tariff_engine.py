"""The engine's rules one at a time, on small tariffs written here, with the arithmetic.

Rates are round so the arithmetic is easy to follow; the real tariffs are in
test_tariff_orders.py and test_tariff_urdb.py.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from tariff_helpers import check, tariff

from domain.billing import BillLineData, prompt_rebate
from domain.ledger import late_fee
from domain.money import round_paise
from domain.pricing import Effective, PricingError, price
from domain.tariff import parse_tariff
from domain.usage import IntervalUsage, TotalUsage, UsageByPeriod

IST = ZoneInfo("Asia/Kolkata")
JULY = (date(2024, 7, 1), date(2024, 8, 1))


def doc(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "format": "gridbill-tariff/1",
        "code": "T",
        "name": "Test tariff",
        "currency": "INR",
        "energy_charges": [{"code": "EC", "rate": "5"}],
    }
    return base | fields


def total_usage(kwh: str, span: tuple[date, date] = JULY, **kw: Any) -> TotalUsage:
    return TotalUsage(Decimal(kwh), span[0], span[1], **kw)


# --- money ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "paise"),
    [("2.345", "2.35"), ("2.344999", "2.34"), ("729.50", "729.50"), ("-2.345", "-2.35"),
     ("0.005", "0.01"), ("1234.499", "1234.50")],
)  # fmt: skip
def test_half_up_rounding(value: str, paise: str) -> None:
    assert round_paise(Decimal(value)) == Decimal(paise)


def test_floats_are_refused() -> None:
    with pytest.raises(TypeError):
        round_paise(0.1)  # type: ignore[arg-type]


# --- time of use ----------------------------------------------------------------------

TOD = {
    "day": {
        "periods": ["peak", "night", "normal"],
        "default_period": "normal",
        "weekend": ["sunday"],
        "holidays": "weekend",
        "rules": [
            {"period": "night", "hours": ["22-06"]},
            {"period": "peak", "days": ["weekday"], "months": [4, 5, 6, 7], "hours": ["18-22"]},
        ],
    }
}
TOD_ENERGY = [{
    "code": "EC", "calendar": "day",
    "periods": {"peak": {"rate": "8"}, "night": {"rate": "4"},
                "normal": {"slabs": [{"up_to": "10", "rate": "5"}, {"rate": "6"}]}},
}]  # fmt: skip


def profile(readings: dict[datetime, str], days: int = 31) -> IntervalUsage:
    """15-minute data for July 2024 in IST, zero except the given starts."""
    start = datetime(2024, 7, 1, tzinfo=IST)
    step = timedelta(minutes=15)
    values = [Decimal(0)] * (days * 96)
    for when, kwh in readings.items():
        values[int((when.replace(tzinfo=IST) - start) / step)] = Decimal(kwh)
    return IntervalUsage(start, step, tuple(values))


def test_time_of_day_periods_holidays_and_tiers_within_a_period() -> None:
    # Mon 1 July 18:00 (peak) 2 kWh -> 2 x 8 = 16.00; Mon 1 July 23:45 and Tue 2 July
    # 05:45 (night, wrapping midnight) 1 + 1 kWh -> 2 x 4 = 8.00; Sun 7 July 18:00 (no
    # peak on the weekend: normal) 6 kWh; Wed 17 July 19:00, a holiday, counts as weekend:
    # normal, 6 kWh. Normal 12 kWh: tier 10 x 5 = 50.00, 2 x 6 = 12.00.
    usage = profile({
        datetime(2024, 7, 1, 18, tzinfo=IST): "2", datetime(2024, 7, 1, 23, 45, tzinfo=IST): "1",
        datetime(2024, 7, 2, 5, 45, tzinfo=IST): "1", datetime(2024, 7, 7, 18, tzinfo=IST): "6",
        datetime(2024, 7, 17, 19, tzinfo=IST): "6",
    })  # fmt: skip
    t = parse_tariff(doc(calendars=TOD, energy_charges=TOD_ENERGY))
    quote = price(t, usage, holidays=frozenset({date(2024, 7, 17)}))
    check(quote, {"EC.peak": "16.00", "EC.night": "8.00", "EC.normal.1": "50.00",
                  "EC.normal.2": "12.00"}, "86.00")  # fmt: skip
    assert {ln.code: ln.tou_period for ln in quote.lines}["EC.peak"] == "peak"


def test_time_of_day_from_tou_registers() -> None:
    # 1.8.1 / 1.8.2 / 1.8.3 style reads: peak 10 x 8 + night 20 x 4 + normal 30 kWh
    # (10 x 5 + 20 x 6) = 80 + 80 + 170.
    usage = UsageByPeriod({"peak": Decimal(10), "night": Decimal(20), "normal": Decimal(30)}, *JULY)
    quote = price(parse_tariff(doc(calendars=TOD, energy_charges=TOD_ENERGY)), usage)
    assert quote.total == Decimal("330.00")


def test_time_of_day_tariff_with_only_a_total_is_refused() -> None:
    t = parse_tariff(doc(calendars=TOD, energy_charges=TOD_ENERGY))
    with pytest.raises(PricingError, match="time of use"):
        price(t, total_usage("100"))


# --- demand ---------------------------------------------------------------------------

DEMAND = [{"code": "DC", "rate": "300", "floor": {"percent": "75", "of": "sanctioned_load"}}]


def test_demand_from_interval_data_is_the_largest_interval_average() -> None:
    # 1.5 kWh in 15 minutes = 6 kW; floor 75% of 4 kW = 3 kW; 6 x 300 = 1800.00.
    # Energy 1.5 x 5 = 7.50.
    usage = profile({datetime(2024, 7, 9, 11, 15, tzinfo=IST): "1.5"})
    quote = price(parse_tariff(doc(demand_charges=DEMAND)), usage, sanctioned_load_kw=Decimal(4))
    check(quote, {"EC": "7.50", "DC": "1800.00"}, "1807.50")


def test_demand_floor_on_sanctioned_load_and_register() -> None:
    # Register 1.6.0 reads 2 kW; floor 75% of 8 kW = 6 kW: 6 x 300 = 1800.00; 100 x 5 = 500.
    quote = price(
        parse_tariff(doc(demand_charges=DEMAND)),
        total_usage("100", max_demand_kw=Decimal(2)),
        sanctioned_load_kw=Decimal(8),
    )
    check(quote, {"EC": "500.00", "DC": "1800.00"}, "2300.00")


def test_demand_tariff_without_demand_data_is_refused() -> None:
    with pytest.raises(PricingError, match="maximum demand"):
        price(
            parse_tariff(doc(demand_charges=DEMAND)),
            total_usage("100"),
            sanctioned_load_kw=Decimal(8),
        )


def test_kva_demand_on_contract_demand_floor() -> None:
    # 80% of 100 kVA contract = 80 kVA > register 50: 80 x 250 = 20000.00; 1000 x 5.
    kva = [
        {
            "code": "DC",
            "unit": "kVA",
            "rate": "250",
            "floor": {"percent": "80", "of": "contract_demand"},
        }
    ]
    quote = price(
        parse_tariff(doc(demand_charges=kva)),
        total_usage("1000", max_demand_kw=Decimal(50)),
        contract_demand_kva=Decimal(100),
    )
    check(quote, {"EC": "5000.00", "DC": "20000.00"}, "25000.00")


# --- fixed charges --------------------------------------------------------------------


def test_fixed_charge_telescopic_load_slabs_part_thereof_per_day_and_per_year() -> None:
    # 3.2 kW "or part thereof" = 4 kW: first 1 kW at 110, the next 3 at 120 = 360.
    # Meter rent 2/day x 31 = 62.00; licence 120/year x 1/12 = 10.00. Energy 10 x 5.
    fixed = [
        {"code": "FC", "basis": "per_kw", "load_rounding": "up", "load_slabs": {
            "mode": "telescopic", "slabs": [{"up_to": "1", "rate": "110"}, {"rate": "120"}]}},
        {"code": "MR", "per": "day", "rate": "2"},
        {"code": "LIC", "per": "year", "rate": "120"},
    ]  # fmt: skip
    quote = price(
        parse_tariff(doc(fixed_charges=fixed)), total_usage("10"), sanctioned_load_kw=Decimal("3.2")
    )
    check(quote, {"FC.1": "110.00", "FC.2": "360.00", "MR": "62.00", "LIC": "10.00",
                  "EC": "50.00"}, "592.00")  # fmt: skip


def test_per_kw_charge_without_a_load_is_refused() -> None:
    fixed = [{"code": "FC", "basis": "per_kw", "rate": "20"}]
    with pytest.raises(PricingError, match="sanctioned load"):
        price(parse_tariff(doc(fixed_charges=fixed)), total_usage("10"))


# --- minimum charge, levies, credits, rounding ----------------------------------------


def test_minimum_charge_tops_up() -> None:
    # 10 kWh x 5 = 50.00 + fixed 20 = 70.00 < minimum 100: shortfall 30.00.
    t = parse_tariff(
        doc(fixed_charges=[{"code": "FC", "rate": "20"}], minimum_charge={"rate": "100"})
    )
    check(price(t, total_usage("10")), {"FC": "20.00", "EC": "50.00", "MIN": "30.00"}, "100.00")
    check(price(t, total_usage("20")), {"FC": "20.00", "EC": "100.00"}, "120.00")


def test_levy_on_rounded_lines_and_on_another_levy() -> None:
    # EC 3.333 kWh x 3 = 9.999 -> 10.00; FC 10.00. Duty 16% of 20.00 = 3.20;
    # cess 0.10/kWh x 3.333 = 0.3333 -> 0.33; tax 5% of (EC 10.00 + duty 3.20) = 0.66.
    t = parse_tariff(doc(
        fixed_charges=[{"code": "FC", "rate": "10"}],
        energy_charges=[{"code": "EC", "rate": "3"}],
        levies=[
            {"code": "TAX", "percent": "5", "base": ["EC", "ED"]},
            {"code": "ED", "percent": "16", "base": ["FC", "EC"]},
            {"code": "CESS", "per_kwh": "0.10"},
        ],
    ))  # fmt: skip
    quote = price(t, total_usage("3.333"))
    check(
        quote, {"FC": "10.00", "EC": "10.00", "ED": "3.20", "TAX": "0.66", "CESS": "0.33"}, "24.19"
    )
    assert [ln.code for ln in quote.lines][-3:] == ["ED", "TAX", "CESS"]


def test_quarterly_fuel_adjustment_splits_the_period() -> None:
    # 16 June - 16 July 2024: 15 June days (factor 15/30) + 15 July days (15/31). 200 kWh
    # shared by month factor: June 200 x (1/2)/(1/2 + 15/31) = 6200/61, July 6000/61.
    # EC = 200 x 5 = 1000.00 either way. FAC 2% until 1 July, 3% from then, on each
    # part's share of the rounded base: 2% x 6200/61 x 5 + 3% x 6000/61 x 5
    # = (620 + 900)/61 = 24.918.. -> 24.92.
    t = parse_tariff(doc(levies=[{"code": "FAC", "base": ["EC"], "percent": [
        {"from": "2024-04-01", "to": "2024-07-01", "rate": "2"},
        {"from": "2024-07-01", "to": "2024-10-01", "rate": "3"},
    ]}]))  # fmt: skip
    quote = price(t, total_usage("200", (date(2024, 6, 16), date(2024, 7, 16))))
    check(quote, {"EC": "1000.00", "FAC": "24.92"}, "1024.92")
    assert {ln.code: ln.rate for ln in quote.lines}["FAC"] is None  # two rates: none shown


def test_levy_without_a_rate_for_the_date_is_refused() -> None:
    t = parse_tariff(doc(levies=[{"code": "FAC", "base": ["EC"], "percent": [
        {"from": "2024-04-01", "to": "2024-07-01", "rate": "2"}]}]))  # fmt: skip
    with pytest.raises(PricingError, match="FAC"):
        price(t, total_usage("10"))


def test_free_units_and_a_capped_subsidy_in_a_band() -> None:
    # Telescopic 0-100 at 3, above at 6. 300 kWh: 300 + 1200 = 1500.00. Free 50 units
    # a month: 50 x 3 = -150.00. Subsidy 50% of EC when 201-400 kWh, capped at 500 a
    # month: 50% of 1500 = 750 -> -500.00.
    t = parse_tariff(doc(
        energy_charges=[{"code": "EC", "slabs": [{"up_to": "100", "rate": "3"}, {"rate": "6"}]}],
        credits=[
            {"code": "FREE", "free_units": "50", "charge": "EC"},
            {"code": "SUB", "percent": "50", "base": ["EC"], "cap_per_month": "500",
             "when_kwh": {"above": "200", "up_to": "400"}},
        ],
    ))  # fmt: skip
    check(price(t, total_usage("300")), {"EC.1": "300.00", "EC.2": "1200.00", "FREE": "-150.00",
                                         "SUB": "-500.00"}, "850.00")  # fmt: skip
    # 150 kWh is outside the band: 300 + 300 - 150 free = 450.00, no subsidy line.
    check(
        price(t, total_usage("150")),
        {"EC.1": "300.00", "EC.2": "300.00", "FREE": "-150.00"},
        "450.00",
    )


def test_total_rounded_to_the_rupee_only_where_the_tariff_says_so() -> None:
    # DERC 201 kWh at 2.5 kW is 729.50 (see test_tariff_orders); with whole-rupee
    # rounding (as KERC's tariffs prescribe: 50 paise and above up) it is 730 with +0.50.
    document = dict(tariff_doc("derc_2019_20_domestic"), rounding={"total": "1"})
    quote = price(parse_tariff(document), total_usage("201"), sanctioned_load_kw=Decimal("2.5"))
    assert quote.total == Decimal("730.00")
    assert quote.lines[-1].code == "ROUND" and quote.lines[-1].amount == Decimal("0.50")
    plain = price(
        tariff("derc_2019_20_domestic"), total_usage("201"), sanctioned_load_kw=Decimal("2.5")
    )
    assert plain.total == Decimal("729.50") and "ROUND" not in {ln.code for ln in plain.lines}


def tariff_doc(name: str) -> dict[str, Any]:
    from tariff_helpers import load_json

    return dict(load_json(f"tariffs/{name}.json"))


# --- tariff changes -------------------------------------------------------------------


def test_tariff_change_mid_period_prices_each_part_with_its_rates() -> None:
    # 1-31 July, rate 5 until 11 July, 6 from then: 310 kWh shared by days, 10 and 21:
    # EC at 5: 100 kWh = 500; at 6: 210 kWh = 1260; merged into one EC line: 1760.00,
    # quantity 310, no single rate. Fixed 31/month: 10 + 21 = 31.00.
    old = parse_tariff(doc(fixed_charges=[{"code": "FC", "rate": "31"}]))
    new = parse_tariff(doc(fixed_charges=[{"code": "FC", "rate": "31"}],
                           energy_charges=[{"code": "EC", "rate": "6"}]))  # fmt: skip
    change = date(2024, 7, 11)
    quote = price(
        [Effective(old, date(2024, 4, 1), change), Effective(new, change)], total_usage("310")
    )
    check(quote, {"FC": "31.00", "EC": "1760.00"}, "1791.00")
    energy = next(ln for ln in quote.lines if ln.code == "EC")
    assert energy.rate is None and energy.quantity == Decimal(310)


def test_a_gap_between_versions_is_refused() -> None:
    t = parse_tariff(doc())
    with pytest.raises(PricingError, match="2024-07-11"):
        price([Effective(t, date(2024, 1, 1), date(2024, 7, 11))], total_usage("10"))


# --- payment terms --------------------------------------------------------------------


def test_late_payment_surcharge_and_prompt_payment_rebate() -> None:
    """The tariff's payment terms as bills apply them (domain.ledger, domain.billing)."""
    t = parse_tariff(doc(
        late_payment={"percent_per_month": "1.5", "grace_days": 5, "accrual": "per_month_or_part"},
        prompt_payment={"percent": "1", "within_days": 7, "base": ["EC"]},
    ))  # fmt: skip
    assert t.late_payment is not None and t.prompt_payment is not None
    due = date(2024, 7, 15)
    # 40 days late: two months or part, 1000.00 x 1.5% x 2 = 30.00; within grace: nothing.
    assert late_fee(t.late_payment, 100_000, due, [], due + timedelta(days=40)) == 3_000
    assert late_fee(t.late_payment, 100_000, due, [], due + timedelta(days=5)) == 0
    daily = parse_tariff(doc(late_payment={"percent_per_month": "1.5"})).late_payment
    assert daily is not None  # 1000.00 x 1.5% x 10/30 = 5.00
    assert late_fee(daily, 100_000, due, [], due + timedelta(days=10)) == 500
    quote = price(t, total_usage("123"))  # EC 615.00: rebate 1% = 6.15
    lines = [BillLineData(line.component, line.code, line.description, "", "", "",
                          int(line.amount * 100)) for line in quote.lines]  # fmt: skip
    assert prompt_rebate(t.prompt_payment, lines) == 615


def test_time_of_day_rebate_is_a_negative_period_rate() -> None:
    # MSEDCL-style TOD on top of the energy charge: +0.80/kWh at peak, -1.50/kWh at
    # night. Registers: peak 10, night 20, normal 30 kWh. EC 60 x 5 = 300.00;
    # TOD peak 10 x 0.80 = 8.00, night 20 x -1.50 = -30.00, normal 0 -> no amount.
    tod = {"code": "TOD", "description": "Time-of-day charge", "calendar": "day",
           "periods": {"peak": {"rate": "0.80"}, "night": {"rate": "-1.50"}, "normal": {"rate": "0"}}}  # fmt: skip
    t = parse_tariff(doc(calendars=TOD, energy_charges=[{"code": "EC", "rate": "5"}, tod]))
    usage = UsageByPeriod({"peak": Decimal(10), "night": Decimal(20), "normal": Decimal(30)}, *JULY)
    check(price(t, usage), {"EC": "300.00", "TOD.peak": "8.00", "TOD.night": "-30.00",
                            "TOD.normal": "0.00"}, "278.00")  # fmt: skip
