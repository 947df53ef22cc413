"""Rooftop solar (net and gross metering), kVAh with a power-factor band, and a demand
ratchet, billed end to end: bill run, issue, PDF (issue #18), on both databases.

The figures are docs/billing.md's worked examples ("Solar, kVAh and demand in bill runs").
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pypdf import PdfReader

from gridbill.settings import Settings
from services.billing.corrections import rebill
from services.billing.documents import render_bill
from services.viewer import acting_as
from store.models import Bill, BillRead
from tests.billing.billing_factories import Utility, issue, paise, run
from tests.factories import ZONE

BASE: dict[str, Any] = {
    "format": "gridbill-tariff/1",
    "currency": "INR",
    "fixed_charges": [{"code": "FC", "description": "Fixed charge", "rate": "100"}],
    "energy_charges": [{"code": "EC", "description": "Energy charge", "rate": "5.00"}],
}
NET = BASE | {
    "code": "SOLAR-NET",
    "name": "Net-metered rooftop solar",
    "export": {"scheme": "net_metering", "settlement_rate": "2.50"},
}
GROSS = BASE | {
    "code": "SOLAR-GROSS",
    "name": "Gross-metered rooftop solar",
    "export": {"scheme": "gross_metering", "feed_in_rate": "3.00"},
}
KVAH = BASE | {
    "code": "HT-KVAH",
    "name": "kVAh billed",
    "energy_unit": "kVAh",
    "energy_charges": [{"code": "EC", "description": "Energy charge", "rate": "8.00"}],
    "power_factor": {
        "base": ["EC"],
        "bands": [
            {"up_to": "0.90", "percent": "2"},
            {"above": "0.90", "up_to": "0.95", "percent": "0"},
            {"above": "0.95", "percent": "-1"},
        ],
    },
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
    utility = await Utility.create(NET, read_day=1)
    site = await utility.account(obis=("1.8.0", "2.8.0"))
    for day, imported, exported in (
        (date(2026, 1, 1), "1000", "500"),
        (date(2026, 2, 1), "1300", "850"),  # 300 in, 350 out: 50 banked
        (date(2026, 3, 1), "1600", "1050"),  # 300 in, 200 out + 50 banked: 50 billed
        (date(2026, 4, 1), "1800", "1280"),  # holds 31 March: 30 surplus settled at 2.50
    ):
        await site.read("1.8.0", imported, day)
        await site.read("2.8.0", exported, day)
    await month("2026-02", date(2026, 2, 4))
    await month("2026-03", date(2026, 3, 4))
    await month("2026-04", date(2026, 4, 4))
    feb, mar, apr = [
        await bill_of(site.account.id, d)
        for d in (date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31))
    ]
    assert feb.total_paise == paise("100.00")
    assert feb.snapshot["solar"] == {
        "scheme": "net", "import_wh": 300_000, "export_wh": 350_000, "net_wh": -50_000,
        "banked_in_wh": 0, "billed_wh": 0, "settled_wh": 0, "lapsed_wh": 0,
        "banked_out_wh": 50_000,
    }  # fmt: skip
    assert mar.total_paise == paise("350.00")  # 100 + 50 kWh × 5.00
    assert (mar.snapshot["solar"]["banked_in_wh"], mar.snapshot["solar"]["banked_out_wh"]) == (
        50_000,
        0,
    )
    assert apr.total_paise == paise("25.00")  # 100 − 30 kWh × 2.50
    assert apr.snapshot["solar"]["settled_wh"] == 30_000
    assert {r.register_id for r in await BillRead.filter(bill_id=apr.id)} == {
        site.registers["1.8.0"].id,
        site.registers["2.8.0"].id,
    }
    text = pdf_text(await render_bill(feb.id, settings))
    assert "Rooftop solar (net metering): imported 300 kWh, exported 350 kWh, net -50 kWh" in text
    assert "banked to the next bill 50 kWh" in text
    text = pdf_text(await render_bill(apr.id, settings))
    assert "settled 30 kWh" in text and "Banked solar units settled" in text
    # A rebill of March banks from February's snapshot again: the same units, the same total.
    again = await Bill.get(
        id=await rebill(acting_as("test"), mar.id, reason="check", on=date(2026, 4, 20), zone=ZONE)
    )
    assert (again.snapshot["solar"], again.total_paise) == (mar.snapshot["solar"], mar.total_paise)


async def test_a_net_metered_meter_without_an_export_read_is_not_billed_on_import_alone(
    db: Any,
) -> None:
    utility = await Utility.create(NET, read_day=1)
    site = await utility.account(obis=("1.8.0", "2.8.0"))
    await site.read("1.8.0", "1000", date(2026, 1, 1))
    await site.read("1.8.0", "1300", date(2026, 2, 1))
    summary = await run("2026-02")
    assert summary.bills == 0 and summary.skipped == {"cannot price": 1}


async def test_gross_metering_buys_every_exported_unit(db: Any, settings: Settings) -> None:
    utility = await Utility.create(GROSS, read_day=1)
    site = await utility.account(obis=("1.8.0", "2.8.0"))
    await site.read("1.8.0", "1000", date(2026, 1, 1))
    await site.read("2.8.0", "0", date(2026, 1, 1))
    await site.read("1.8.0", "1300", date(2026, 2, 1))
    await site.read("2.8.0", "250", date(2026, 2, 1))
    await month("2026-02", date(2026, 2, 4))
    bill = await bill_of(site.account.id, date(2026, 1, 31))
    assert bill.total_paise == paise("850.00")  # 100 + 300 × 5.00 − 250 × 3.00
    text = pdf_text(await render_bill(bill.id, settings))
    assert "Rooftop solar (gross metering): imported 300 kWh, exported 250 kWh, net 50 kWh" in text


async def test_kvah_billing_prices_apparent_energy_with_the_power_factor_band(
    db: Any, settings: Settings
) -> None:
    utility = await Utility.create(KVAH, read_day=1)
    site = await utility.account(category="industrial", obis=("1.8.0", "9.8.0"), ct=(100, 5))
    await site.read("1.8.0", "1000", date(2026, 1, 1))
    await site.read("9.8.0", "2000", date(2026, 1, 1))
    await site.read("1.8.0", "1050", date(2026, 2, 1))  # 50 × CT 20 = 1000 kWh
    await site.read("9.8.0", "2056", date(2026, 2, 1))  # 56 × 20 = 1120 kVAh
    await month("2026-02", date(2026, 2, 4))
    bill = await bill_of(site.account.id, date(2026, 1, 31))
    # EC 1120 × 8.00 = 8960.00; PF 1000/1120 = 0.893 → 0.89: 2% surcharge = 179.20
    assert bill.total_paise == paise("9239.20")
    assert bill.snapshot["usage"]["kvah_vah"] == 1_120_000
    assert bill.snapshot["usage"]["power_factor"] == "0.89"
    text = pdf_text(await render_bill(bill.id, settings))
    assert "Apparent energy: 1,120 kVAh, average power factor 0.89" in text


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
