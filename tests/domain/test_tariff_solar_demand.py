"""Rooftop solar (net and gross metering), kVAh billing with power-factor bands, and demand
ratchets (issue #18), priced by the engine, with the arithmetic beside each case."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tariff_helpers import amounts, check, load_json

from demo.tariffs import kseb_power_factor
from domain.metering import PricingError
from domain.net_metering import net, settlement_day
from domain.pricing import price
from domain.tariff import TariffError, parse_tariff
from domain.usage import TotalUsage

JULY = (date(2024, 7, 1), date(2024, 8, 1))
MARCH = (date(2025, 3, 1), date(2025, 4, 1))
SLABS = [{"up_to": "200", "rate": "3.00"}, {"up_to": "400", "rate": "4.50"}, {"rate": "6.50"}]


def doc(**fields: Any) -> dict[str, Any]:
    base = {"format": "gridbill-tariff/1", "code": "T", "name": "Test", "currency": "INR",
            "fixed_charges": [{"code": "FC", "rate": "100"}],
            "energy_charges": [{"code": "EC", "slabs": SLABS}]}  # fmt: skip
    return base | fields


NET = doc(export={"scheme": "net_metering", "settlement_rate": "2.50"})


def test_net_metering_bills_the_net_and_banks_a_surplus() -> None:
    # import 300, export 350: nothing to bill for energy, 50 units banked; FC 100 stays.
    quote = price(parse_tariff(NET), TotalUsage(Decimal(300), *JULY, export_kwh=Decimal(350)))
    check(quote, {"FC": "100.00"}, "100.00")
    assert quote.netting is not None
    assert (quote.netting.billed, quote.netting.banked_out, quote.netting.net) == (0, 50, -50)


def test_banked_units_net_the_next_bill() -> None:
    # import 300, export 200, 50 banked: 300 − 250 = 50 units billed at 3.00 = 150.
    usage = TotalUsage(Decimal(300), *JULY, export_kwh=Decimal(200))
    quote = price(parse_tariff(NET), usage, banked_kwh=Decimal(50))
    check(quote, {"FC": "100.00", "EC.1": "150.00"}, "250.00")
    assert quote.netting is not None and quote.netting.banked_out == 0


def test_the_march_bill_settles_the_bank_at_the_settlement_rate() -> None:
    # Year April–March: the bill holding 31 March pays 120 banked + 30 surplus = 150 units
    # at 2.50 = 375.00, and the bank starts again at zero.
    usage = TotalUsage(Decimal(200), *MARCH, export_kwh=Decimal(230))
    quote = price(parse_tariff(NET), usage, banked_kwh=Decimal(120))
    check(quote, {"FC": "100.00", "SETTLE": "-375.00"}, "-275.00")
    assert quote.netting is not None
    assert (quote.netting.settled, quote.netting.banked_out) == (150, 0)


def test_a_banking_cap_lets_the_excess_lapse() -> None:
    tariff = parse_tariff(doc(export={"scheme": "net_metering", "settlement_rate": "2.50",
                                      "banking_cap_kwh": "40"}))  # fmt: skip
    quote = price(tariff, TotalUsage(Decimal(100), *JULY, export_kwh=Decimal(200)))
    assert quote.netting is not None
    assert (quote.netting.banked_out, quote.netting.lapsed) == (40, 60)


def test_gross_metering_bills_all_import_and_buys_all_export() -> None:
    # import 300: FC 100 + 600 + 450 = 1150; export 250 × 3.00 = 750 credited.
    tariff = parse_tariff(doc(export={"scheme": "gross_metering", "feed_in_rate": "3.00"}))
    quote = price(tariff, TotalUsage(Decimal(300), *JULY, export_kwh=Decimal(250)))
    check(
        quote, {"FC": "100.00", "EC.1": "600.00", "EC.2": "450.00", "EXPORT": "-750.00"}, "400.00"
    )
    with pytest.raises(PricingError, match="export register"):
        price(tariff, TotalUsage(Decimal(300), *JULY))
    # The line shows the units as people write them: 250, not 250.000 (nor 2.5E+2).
    exported = price(tariff, TotalUsage(Decimal(300), *JULY, export_kwh=Decimal("250.000")))
    assert {line.code: str(line.quantity) for line in exported.lines}["EXPORT"] == "250"


KVAH = doc(
    energy_unit="kVAh",
    energy_charges=[{"code": "EC", "rate": "8.00"}],
    power_factor={
        "base": ["EC"],
        "bands": [
            {"up_to": "0.90", "percent": "2"},
            {"above": "0.90", "up_to": "0.95", "percent": "0"},
            {"above": "0.95", "percent": "-1"},
        ],
    },
)


def test_kvah_billing_prices_apparent_energy_and_the_power_factor_band() -> None:
    # 1000 kWh, 1120 kVAh: EC 1120 × 8.00 = 8960.00 on kVAh; PF 1000/1120 = 0.893 → 0.89,
    # at or below 0.90: 2% surcharge on EC = 179.20.
    quote = price(parse_tariff(KVAH), TotalUsage(Decimal(1000), *JULY, kvah=Decimal(1120)))
    check(quote, {"FC": "100.00", "EC": "8960.00", "PF": "179.20"}, "9239.20")
    assert quote.power_factor == Decimal("0.89")
    assert {line.code: line.unit for line in quote.lines}["EC"] == "kVAh"


def test_a_per_unit_levy_on_a_kvah_tariff_is_per_kvah_and_says_so() -> None:
    # Tax on sale 0.20 a unit on 1,120 kVAh = 224.00, its line in kVAh (the unit it counts).
    levied = KVAH | {"levies": [{"code": "TOS", "description": "Tax on sale", "per_kwh": "0.20"}]}
    quote = price(parse_tariff(levied), TotalUsage(Decimal(1000), *JULY, kvah=Decimal(1120)))
    line = next(line for line in quote.lines if line.code == "TOS")
    assert (line.amount, line.quantity, line.unit) == (Decimal("224.00"), Decimal(1120), "kVAh")


def test_a_good_power_factor_earns_the_rebate() -> None:
    # 1000 kWh, 1040 kVAh: PF 0.9615 → 0.96 > 0.95: 1% rebate on 8320.00 = −83.20.
    quote = price(parse_tariff(KVAH), TotalUsage(Decimal(1000), *JULY, kvah=Decimal(1040)))
    assert amounts(quote)["PF"] == Decimal("-83.20")
    with pytest.raises(PricingError, match="kVAh register"):
        price(parse_tariff(KVAH), TotalUsage(Decimal(1000), *JULY))


def test_net_metering_is_refused_on_a_kvah_tariff() -> None:
    with pytest.raises(TariffError, match="net metering nets kWh"):
        parse_tariff(KVAH | {"export": {"scheme": "net_metering", "settlement_rate": "2"}})


RATCHET = doc(demand_charges=[{"code": "DC", "description": "Demand charge", "rate": "250",
                               "ratchet": {"percent": "75", "months": 11}}])  # fmt: skip


@pytest.mark.parametrize(
    ("recorded", "past", "billing_kw"),
    [
        ("60", ["100", "80"], "75"),  # 75% of the highest, 100 kW, is above 60
        ("90", ["100", "80"], "90"),  # the recorded demand is above the ratchet
        ("60", [], "60"),  # no history yet
    ],
)
def test_a_demand_ratchet_raises_billing_demand(
    recorded: str, past: list[str], billing_kw: str
) -> None:
    usage = TotalUsage(Decimal(0), *JULY, max_demand_kw=Decimal(recorded))
    quote = price(parse_tariff(RATCHET), usage, past_demands_kw=[Decimal(p) for p in past])
    assert amounts(quote)["DC"] == Decimal(billing_kw) * 250


def test_the_ratchet_looks_back_only_its_months() -> None:
    # 11 months: a 200 kW demand 12 bills ago no longer counts; 75% of 80 = 60 < 70.
    usage = TotalUsage(Decimal(0), *JULY, max_demand_kw=Decimal(70))
    past = [Decimal(80)] * 11 + [Decimal(200)]
    assert amounts(price(parse_tariff(RATCHET), usage, past_demands_kw=past))["DC"] == Decimal(
        17500
    )


units = st.decimals(min_value=0, max_value=100_000, places=3, allow_nan=False, allow_infinity=False)


@given(units, units, units, st.booleans(), st.none() | units)
def test_netting_conserves_units(
    imported: Decimal, exported: Decimal, banked: Decimal, settles: bool, cap: Decimal | None
) -> None:
    n = net(imported, exported, banked, settles=settles, banking_cap=cap)
    assert n.billed - (imported - exported - banked) == n.surplus
    assert n.surplus == n.lapsed + n.settled + n.banked_out
    assert min(n.billed, n.surplus) == 0  # a bill either owes units or has a surplus
    assert n.settled == 0 or n.banked_out == 0


def test_the_settlement_day_is_the_last_of_the_settlement_month_inside_the_period() -> None:
    assert settlement_day(date(2025, 3, 15), date(2025, 4, 15), 3) == date(2025, 3, 31)
    assert settlement_day(date(2025, 3, 1), date(2025, 3, 31), 3) is None  # 31st not inside
    assert settlement_day(date(2024, 12, 20), date(2025, 1, 20), 12) == date(2024, 12, 31)


def test_demand_over_a_window_averages_clock_aligned_intervals() -> None:
    # 15-minute data; a 30-minute window pairs :00+:15 and :30+:45. The single 15-minute
    # spike of 40 kW (10 kWh) sits with a 20 kW quarter (5 kWh): 15 kWh over half an hour
    # is 30 kW, not the 40 kW the spike alone would bill. One day of July pays 1/31 of a
    # month: 40 × 250 ÷ 31 = 322.58 without the window, 30 × 250 ÷ 31 = 241.94 with it.
    from datetime import UTC, datetime, timedelta

    from domain.usage import IntervalUsage

    def tariff(window: int | None) -> Any:
        charge = {"code": "DC", "rate": "250"} | ({"window_minutes": window} if window else {})
        return parse_tariff(doc(time_zone="UTC", demand_charges=[charge]))

    quarters = [Decimal("1")] * 96
    quarters[40], quarters[41] = Decimal("10"), Decimal("5")  # 10:00 and 10:15
    day = IntervalUsage(datetime(2024, 7, 1, tzinfo=UTC), timedelta(minutes=15), tuple(quarters))
    assert amounts(price(tariff(None), day))["DC"] == Decimal("322.58")  # 40 kW
    assert amounts(price(tariff(30), day))["DC"] == Decimal("241.94")  # 30 kW
    with pytest.raises(PricingError, match="interval divides it"):
        hourly = IntervalUsage(
            datetime(2024, 7, 1, tzinfo=UTC), timedelta(hours=1), tuple(quarters[:24])
        )
        price(tariff(30), hourly)


# --- docs/tariffs.md's worked examples, on the published rates they cite --------------

KSEB_NET = load_json("tariffs/kserc_2019_lt1_domestic.json") | {
    "export": {"scheme": "net_metering", "settlement_month": 3, "settlement_rate": "2.97"}
}


def test_kseb_net_metering_worked_example() -> None:
    # KSEB LT-I domestic (KSERC, 8 July 2019), 30-day months; APPC 2019-20 Rs 2.97.
    tariff = parse_tariff(KSEB_NET)
    jan = TotalUsage(Decimal(300), date(2020, 1, 1), date(2020, 2, 1), export_kwh=Decimal(350))
    check(price(tariff, jan), {"FC": "36.17"}, "36.17")  # 35 × 31/30, 50 banked
    feb = TotalUsage(Decimal(290), date(2020, 2, 1), date(2020, 3, 1), export_kwh=Decimal(200))
    # 290 − 200 − 50 = 40 billed: FC 35 × 29/30 = 33.83, 40 × 3.15 = 126.00
    check(price(tariff, feb, banked_kwh=Decimal(50)), {"FC": "33.83", "EC.1": "126.00"}, "159.83")
    mar = TotalUsage(Decimal(200), date(2020, 3, 1), date(2020, 4, 1), export_kwh=Decimal(210))
    quote = price(tariff, mar)  # holds 31 March: 10 surplus paid at 2.97 = 29.70
    check(quote, {"FC": "36.17", "SETTLE": "-29.70"}, "6.47")
    assert quote.netting is not None and quote.netting.settled == 10


def test_kerc_gross_metering_worked_example() -> None:
    # Export bought at KERC's Rs 3.56 (order of 18 May 2018); import FC 100, EC 5.00.
    tariff = parse_tariff(doc(energy_charges=[{"code": "EC", "rate": "5.00"}],
                              export={"scheme": "gross_metering", "feed_in_rate": "3.56"}))  # fmt: skip
    quote = price(tariff, TotalUsage(Decimal(300), *JULY, export_kwh=Decimal(250)))
    check(quote, {"FC": "100.00", "EC": "1500.00", "EXPORT": "-890.00"}, "710.00")


MSEDCL_HT_IA = {
    "format": "gridbill-tariff/1", "code": "MSEDCL-HT-IA", "name": "HT I(A)", "currency": "INR",
    "energy_unit": "kVAh",
    "energy_charges": [{"code": "EC", "rate": "6.73"}, {"code": "WC", "rate": "0.53"}],
}  # fmt: skip


def test_msedcl_kvah_worked_example() -> None:
    # HT I(A) FY 2024-25: 1120 kVAh × 6.73 = 7537.60, × 0.53 = 593.60 (1000 kWh, PF 0.89).
    quote = price(parse_tariff(MSEDCL_HT_IA), TotalUsage(Decimal(1000), *JULY, kvah=Decimal(1120)))
    check(quote, {"EC": "7537.60", "WC": "593.60"}, "8131.20")
    assert {line.code: line.unit for line in quote.lines}["EC"] == "kVAh"


@pytest.mark.parametrize(
    ("kvah", "pf", "pf_amount"),
    [
        ("1080", "0.93", "50.00"),  # 0.02 below 0.95: 1% penalty
        ("1030", "0.97", "-50.00"),  # 0.02 above 0.95: 1% incentive
        ("1053", "0.95", None),  # 0.950: neither
        ("1124", "0.89", "175.00"),  # 2.5% to 0.90, then 1% for 0.01 more: 3.5%
    ],
)
def test_kseb_power_factor_worked_example(kvah: str, pf: str, pf_amount: str | None) -> None:
    # 1000 kWh at an illustrative EC 5.00 = 5000.00, KSEB's bands on EC.
    tariff = parse_tariff(doc(energy_charges=[{"code": "EC", "rate": "5.00"}],
                              power_factor=kseb_power_factor(["EC"])))  # fmt: skip
    quote = price(tariff, TotalUsage(Decimal(1000), *JULY, kvah=Decimal(kvah)))
    assert quote.power_factor == Decimal(pf)
    assert amounts(quote).get("PF") == (None if pf_amount is None else Decimal(pf_amount))
