"""Rooftop solar (net and gross metering), kVAh with a power-factor band, and a demand
ratchet, billed end to end: bill run, issue, PDF (issue #18), on both databases.

The figures are docs/billing.md's worked examples ("Solar, kVAh and demand in bill runs"),
on the published rates that section cites: KSEB's LT-I domestic tariff (KSERC, 8 July 2019)
netted and settled at KSERC's APPC for 2019-20, KERC's rooftop feed-in tariff, MSEDCL's
HT I(A) kVAh rates for 2024-25 (MERC Case No. 226 of 2022).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from pypdf import PdfReader

from demo.tariffs import kseb_power_factor
from gridbill.settings import Settings
from services.billing.corrections import rebill
from services.billing.documents import render_bill
from services.viewer import acting_as
from store.models import Bill, BillLine, BillRead
from tests.billing.billing_factories import Utility, issue, paise, run
from tests.factories import ZONE

BASE: dict[str, Any] = {
    "format": "gridbill-tariff/1",
    "currency": "INR",
    "fixed_charges": [{"code": "FC", "description": "Fixed charge", "rate": "100"}],
    "energy_charges": [{"code": "EC", "description": "Energy charge", "rate": "5.00"}],
}
TARIFFS = Path(__file__).resolve().parent.parent / "fixtures" / "tariffs"
# KSEB LT-I domestic (KSERC order of 8 July 2019), its surplus settled at KSERC's APPC for
# 2019-20, Rs 2.97 a unit, at the end of an April–March year.
NET = json.loads((TARIFFS / "kserc_2019_lt1_domestic.json").read_text(encoding="utf-8")) | {
    "export": {"scheme": "net_metering", "settlement_month": 3, "settlement_rate": "2.97"},
}
# Export bought at KERC's rooftop tariff of Rs 3.56 a unit (order of 18 May 2018); the
# import side (FC 100, EC 5.00) is illustrative.
GROSS = BASE | {
    "code": "SOLAR-GROSS",
    "name": "Gross-metered rooftop solar",
    "export": {"scheme": "gross_metering", "feed_in_rate": "3.56"},
}
# MSEDCL HT I(A) industry, FY 2024-25 (MERC Case No. 226 of 2022, table 8-25): energy
# Rs 6.73 and wheeling Rs 0.53 a kVAh; the demand charge (Rs 472/kVA/month) is added in
# the kVA test below.
KVAH = {
    "format": "gridbill-tariff/1",
    "currency": "INR",
    "code": "MSEDCL-HT-IA",
    "name": "HT I(A) Industry, kVAh billed",
    "energy_unit": "kVAh",
    "energy_charges": [
        {"code": "EC", "description": "Energy charge", "rate": "6.73"},
        {"code": "WC", "description": "Wheeling charge", "rate": "0.53"},
    ],
}
# KSEB's power-factor incentive and penalty bands on a kWh tariff (FC and EC illustrative).
POWER_FACTOR = BASE | {
    "code": "LT-IND-PF",
    "name": "kWh billed, power-factor bands",
    "power_factor": kseb_power_factor(["EC"]),
}
RATCHET = BASE | {
    "code": "HT-DEMAND",
    "name": "Demand with a ratchet",
    "energy_charges": [{"code": "EC", "description": "Energy charge", "rate": "5.00"}],
    "demand_charges": [
        {"code": "DC", "description": "Demand charge", "rate": "250",
         "ratchet": {"percent": "75", "months": 11}},
    ],
}  # fmt: skip


async def bill_of(account_id: int, period_end: date) -> Bill:
    return await Bill.get(account_id=account_id, period_end=period_end, active_period__isnull=False)


async def month(period: str, issued: date) -> None:
    await run(period)
    await issue(period, issued)


def pdf_text(path: Any) -> str:
    return " ".join(PdfReader(path).pages[0].extract_text().split())


async def test_net_metering_banks_carries_and_settles_across_bill_runs(
    db: Any, settings: Settings
) -> None:
    utility = await Utility.create(NET, effective_from=date(2019, 7, 8), read_day=1)
    site = await utility.account(obis=("1.8.0", "2.8.0"))
    for day, imported, exported in (
        (date(2020, 1, 1), "1000", "500"),
        (date(2020, 2, 1), "1300", "850"),  # 300 in, 350 out: 50 banked
        (date(2020, 3, 1), "1590", "1050"),  # 290 in, 200 out + 50 banked: 40 billed
        (date(2020, 4, 1), "1790", "1260"),  # holds 31 March: 10 surplus settled at 2.97
    ):
        await site.read("1.8.0", imported, day)
        await site.read("2.8.0", exported, day)
    await month("2020-02", date(2020, 2, 4))
    await month("2020-03", date(2020, 3, 4))
    await month("2020-04", date(2020, 4, 4))
    jan, feb, mar = [
        await bill_of(site.account.id, d)
        for d in (date(2020, 1, 31), date(2020, 2, 29), date(2020, 3, 31))
    ]
    # 0 units billed: the fixed charge of the first slab, Rs 35 × 31/30 (30-day months)
    assert jan.total_paise == paise("36.17")
    assert jan.snapshot["solar"] == {
        "scheme": "net", "import_wh": 300_000, "export_wh": 350_000, "net_wh": -50_000,
        "banked_in_wh": 0, "billed_wh": 0, "settled_wh": 0, "lapsed_wh": 0,
        "banked_out_wh": 50_000,
    }  # fmt: skip
    # 40 kWh billed: FC 35 × 29/30 = 33.83, EC 40 × 3.15 = 126.00
    assert feb.total_paise == paise("159.83")
    assert (feb.snapshot["solar"]["banked_in_wh"], feb.snapshot["solar"]["banked_out_wh"]) == (
        50_000,
        0,
    )
    assert mar.total_paise == paise("6.47")  # 36.17 − 10 kWh × 2.97
    assert mar.snapshot["solar"]["settled_wh"] == 10_000
    assert {r.register_id for r in await BillRead.filter(bill_id=mar.id)} == {
        site.registers["1.8.0"].id,
        site.registers["2.8.0"].id,
    }
    text = pdf_text(await render_bill(jan.id, settings))
    assert "Rooftop solar (net metering): imported 300 kWh, exported 350 kWh, net -50 kWh" in text
    assert "banked to the next bill 50 kWh" in text
    text = pdf_text(await render_bill(mar.id, settings))
    assert "settled 10 kWh" in text and "Banked solar units settled" in text
    # A rebill of February banks from January's snapshot again: the same units, the same total.
    again = await Bill.get(
        id=await rebill(acting_as("test"), feb.id, reason="check", on=date(2020, 4, 20), zone=ZONE)
    )
    assert (again.snapshot["solar"], again.total_paise) == (feb.snapshot["solar"], feb.total_paise)


async def test_a_net_metered_meter_without_an_export_read_is_not_billed_on_import_alone(
    db: Any,
) -> None:
    utility = await Utility.create(NET, effective_from=date(2019, 7, 8), read_day=1)
    site = await utility.account(obis=("1.8.0", "2.8.0"))
    await site.read("1.8.0", "1000", date(2020, 1, 1))
    await site.read("1.8.0", "1300", date(2020, 2, 1))
    summary = await run("2020-02")
    assert summary.bills == 0 and summary.skipped == {"cannot price": 1}


async def test_gross_metering_buys_every_exported_unit(db: Any, settings: Settings) -> None:
    utility = await Utility.create(GROSS, read_day=1)
    site = await utility.account(obis=("1.8.0", "2.8.0"))
    sunny = await utility.account(obis=("1.8.0", "2.8.0"))  # exports more than it pays for
    for meter, imported, exported in ((site, "1300", "250"), (sunny, "1100", "250")):
        await meter.read("1.8.0", "1000", date(2026, 1, 1))
        await meter.read("2.8.0", "0", date(2026, 1, 1))
        await meter.read("1.8.0", imported, date(2026, 2, 1))
        await meter.read("2.8.0", exported, date(2026, 2, 1))
    await month("2026-02", date(2026, 2, 4))
    bill = await bill_of(site.account.id, date(2026, 1, 31))
    assert bill.total_paise == paise("710.00")  # 100 + 300 × 5.00 − 250 × 3.56
    text = pdf_text(await render_bill(bill.id, settings))
    assert "Rooftop solar (gross metering): imported 300 kWh, exported 250 kWh, net 50 kWh" in text
    assert "Scan to pay ₹710.00 by UPI" in text
    credit = await bill_of(sunny.account.id, date(2026, 1, 31))
    assert credit.total_paise == paise("-290.00")  # 100 + 100 × 5.00 − 890.00
    text = pdf_text(await render_bill(credit.id, settings))
    assert "Nothing to pay: the credit of ₹290.00 is carried to your next bill." in text
    assert "Scan to pay" not in text and "Prompt payment rebate" not in text


async def test_kvah_billing_prices_apparent_energy_and_shows_the_power_factor(
    db: Any, settings: Settings
) -> None:
    utility = await Utility.create(KVAH, effective_from=date(2024, 4, 1), read_day=1)
    site = await utility.account(category="industrial", obis=("1.8.0", "9.8.0"), ct=(100, 5))
    await site.read("1.8.0", "1000", date(2025, 1, 1))
    await site.read("9.8.0", "2000", date(2025, 1, 1))
    await site.read("1.8.0", "1050", date(2025, 2, 1))  # 50 × CT 20 = 1000 kWh
    await site.read("9.8.0", "2056", date(2025, 2, 1))  # 56 × 20 = 1120 kVAh
    await month("2025-02", date(2025, 2, 4))
    bill = await bill_of(site.account.id, date(2025, 1, 31))
    # EC 1120 kVAh × 6.73 = 7537.60; WC 1120 × 0.53 = 593.60
    assert bill.total_paise == paise("8131.20")
    assert bill.snapshot["usage"]["kvah_vah"] == 1_120_000
    text = pdf_text(await render_bill(bill.id, settings))
    assert "Apparent energy: 1,120 kVAh" in text


async def test_a_kva_demand_charge_bills_the_apparent_demand_register(
    db: Any, settings: Settings
) -> None:
    demand = [{"code": "DC", "description": "Demand charge", "unit": "kVA", "rate": "472",
               "ratchet": {"percent": "75", "months": 11}}]  # fmt: skip
    utility = await Utility.create(KVAH | {"demand_charges": demand}, read_day=1)
    obis = ("1.8.0", "9.8.0", "1.6.0", "9.6.0")
    site = await utility.account(category="industrial", obis=obis)
    for register, start, end in (("1.8.0", "10000", "11000"), ("9.8.0", "20000", "21120"),
                                 ("1.6.0", "0", "180"), ("9.6.0", "0", "200")):  # fmt: skip
        await site.read(register, start, date(2026, 1, 1))
        await site.read(register, end, date(2026, 2, 1))
    await site.read("1.8.0", "11900", date(2026, 3, 1))
    await site.read("9.8.0", "22100", date(2026, 3, 1))  # 980 kVAh
    await site.read("1.6.0", "90", date(2026, 3, 1))
    await site.read("9.6.0", "100", date(2026, 3, 1))  # 100 kVA: the ratchet bills 150
    await month("2026-02", date(2026, 2, 4))
    await month("2026-03", date(2026, 3, 4))
    feb = await bill_of(site.account.id, date(2026, 1, 31))
    mar = await bill_of(site.account.id, date(2026, 2, 28))
    # Feb: EC 1120 × 6.73 = 7537.60, WC 1120 × 0.53 = 593.60, DC 200 kVA (not the 180 kW)
    # × 472 = 94400.00. Mar: 980 kVAh × 7.26 = 7114.80; DC 75% of 200 = 150 kVA × 472.
    assert feb.total_paise == paise("102531.20") and feb.max_demand_w == 200_000
    assert mar.total_paise == paise("77914.80")
    dc = await BillLine.get(bill_id=mar.id, code="DC")
    assert (dc.quantity, dc.unit) == ("150", "kVA·month")
    text = pdf_text(await render_bill(mar.id, settings))
    assert "maximum demand 100 kVA" in text and "earlier bills, latest first: 200 kVA." in text


async def test_a_power_factor_band_surcharges_a_kwh_bill(db: Any, settings: Settings) -> None:
    utility = await Utility.create(POWER_FACTOR, read_day=1)
    site = await utility.account(category="industrial", obis=("1.8.0", "9.8.0"), ct=(100, 5))
    await site.read("1.8.0", "1000", date(2026, 1, 1))
    await site.read("9.8.0", "2000", date(2026, 1, 1))
    await site.read("1.8.0", "1050", date(2026, 2, 1))  # 1000 kWh
    await site.read("9.8.0", "2054", date(2026, 2, 1))  # 1080 kVAh
    await month("2026-02", date(2026, 2, 4))
    bill = await bill_of(site.account.id, date(2026, 1, 31))
    # PF 1000/1080 = 0.926 → 0.93, 0.02 below 0.95: 2 × 0.5% = 1% of EC 5000.00 = 50.00
    assert bill.total_paise == paise("5150.00")
    assert bill.snapshot["usage"]["power_factor"] == "0.93"
    text = pdf_text(await render_bill(bill.id, settings))
    assert "Apparent energy: 1,080 kVAh, average power factor 0.93" in text


async def test_a_demand_ratchet_bills_on_the_earlier_bills_demand(
    db: Any, settings: Settings
) -> None:
    utility = await Utility.create(RATCHET, read_day=1)
    site = await utility.account(category="industrial", obis=("1.8.0", "1.6.0"))
    await site.read("1.8.0", "1000", date(2026, 1, 1))
    await site.read("1.6.0", "0", date(2026, 1, 1))
    await site.read("1.8.0", "1100", date(2026, 2, 1))
    await site.read("1.6.0", "100", date(2026, 2, 1))  # 100 kW recorded
    await site.read("1.8.0", "1200", date(2026, 3, 1))
    await site.read("1.6.0", "60", date(2026, 3, 1))  # 60 kW: billed on 75% of 100
    await month("2026-02", date(2026, 2, 4))
    await month("2026-03", date(2026, 3, 4))
    feb = await bill_of(site.account.id, date(2026, 1, 31))
    mar = await bill_of(site.account.id, date(2026, 2, 28))
    assert feb.total_paise == paise("25600.00")  # 100 + 500 + 100 kW × 250
    assert mar.total_paise == paise("19350.00")  # 100 + 500 + 75 kW × 250
    assert mar.max_demand_w == 60_000 and mar.snapshot["usage"]["past_demands_w"] == [100_000]
    text = pdf_text(await render_bill(mar.id, settings))
    assert "Maximum demand on earlier bills, latest first: 100 kW." in text


TOU_DEMAND = BASE | {
    "code": "HT-TOD",
    "name": "Time-of-day energy and peak demand",
    "calendars": {"tod": {
        "periods": ["peak", "off_peak", "normal"], "default_period": "normal", "weekend": [],
        "holidays": "weekday",
        "rules": [{"period": "off_peak", "hours": ["22-06"]},
                  {"period": "peak", "hours": ["09-12", "18-22"]}],
    }},
    "energy_charges": [
        {"code": "EC", "description": "Energy charge", "rate": "5.00"},
        {"code": "TOD", "description": "Time-of-day charge", "calendar": "tod", "periods": {
            "peak": {"rate": "1.00"}, "off_peak": {"rate": "-1.00"}, "normal": {"rate": "0"}}},
    ],
    "demand_charges": [
        {"code": "DC", "description": "Demand charge", "rate": "200"},
        {"code": "DCP", "description": "Peak-hours demand charge", "rate": "100",
         "calendar": "tod", "period": "peak"},
    ],
}  # fmt: skip


async def test_time_of_day_maximum_demand_comes_from_its_register(db: Any) -> None:
    utility = await Utility.create(TOU_DEMAND, read_day=1)
    registers = ("1.8.0", "1.8.1", "1.8.2", "1.6.0", "1.6.1")
    site = await utility.account(category="industrial", obis=registers)
    for obis, opening, closing in (("1.8.0", "1000", "1600"), ("1.8.1", "100", "250"),
                                   ("1.8.2", "200", "400"), ("1.6.0", "0", "80"),
                                   ("1.6.1", "0", "50")):  # fmt: skip
        await site.read(obis, opening, date(2026, 1, 1))
        await site.read(obis, closing, date(2026, 2, 1))
    await run("2026-02")
    bill = await bill_of(site.account.id, date(2026, 1, 31))
    # 100 + 600 × 5.00 + (150 − 200) × 1.00 + 80 kW × 200 + 50 kW (peak hours) × 100
    assert bill.total_paise == paise("24050.00")
    assert bill.snapshot["usage"]["max_demand_w_by_period"] == {"peak": 50_000}
