"""The demo utility's three tariffs, as MSEDCL-like documents in gridbill's tariff format.

The documents are "gridbill-tariff/1" (docs/tariffs.md) and are validated by
:func:`domain.tariff.parse_tariff` like any tariff an analyst enters. The numbers are of
the order of the Maharashtra regulator's orders for MSEDCL (MERC Case No. 322 of 2019 and
its successors), for illustration only, not a copy of any real order:

* LT-1A residential: fixed charge, telescopic energy slabs, wheeling, 16% duty and the tax
  on sale of electricity, rounded to the rupee;
* LT-2 commercial: the same shape with time-of-day (peak adder, night rebate, billed from
  the TOU registers 1.8.1/1.8.2 or interval data) and a demand charge on the
  maximum-demand register 1.6.0;
* HT-1 industrial: a demand charge with a floor of 75% of the sanctioned load and a
  ratchet of 75% of the highest demand on the last 11 bills, flat energy, time-of-day
  and 7.5% duty.

Slabs and monthly charges are prorated on 30-day months, as MSEDCL bills a 31-day period
as 1.03 months. The rooftop-solar homes are on LT-1A net-metered (LT-1A-NM): their export
(2.8.0) nets their import, a surplus is banked and what is banked at the end of March is
paid at a settlement rate (an illustrative figure, as the other rates are). A few homes
are gross-metered instead (LT-1A-GM): every exported unit is bought at KERC's rooftop
tariff, Rs 3.56/kWh; some factories are billed on apparent energy (HT-1-KVAH: energy and
wheeling at MSEDCL's HT I(A) kVAh rates for 2024-25, Rs 6.73 and 0.53) with KSEB's
power-factor incentive and penalty bands.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from domain.enums import AccountCategory
from domain.tariff import FORMAT

# Time-of-day windows in local time, by the TOU register each one accumulates in.
PEAK_WINDOWS: tuple[tuple[str, str], ...] = (("09:00", "12:00"), ("18:00", "22:00"))
OFF_PEAK_WINDOWS: tuple[tuple[str, str], ...] = (("22:00", "06:00"),)
# The TOU registers' period names (Register.tou_period) are the calendar's period names.
TOU_REGISTERS = {"1.8.1": "peak", "1.8.2": "off_peak"}


@dataclass(frozen=True, slots=True)
class DemoTariff:
    code: str
    name: str
    category: AccountCategory
    source_reference: str
    document: dict[str, Any]


def _hours(windows: tuple[tuple[str, str], ...]) -> list[str]:
    return [f"{start[:2]}-{end[:2]}" for start, end in windows]


def _tod_calendar() -> dict[str, Any]:
    """Every day alike (MSEDCL's time of day has no weekend), holidays included."""
    return {
        "periods": ["peak", "off_peak", "normal"],
        "default_period": "normal",
        "weekend": [],
        "holidays": "weekday",
        "rules": [
            {"period": "off_peak", "hours": _hours(OFF_PEAK_WINDOWS)},
            {"period": "peak", "hours": _hours(PEAK_WINDOWS)},
        ],
    }


def _tod_charge(peak_adder: str, night_rebate: str) -> dict[str, Any]:
    return {
        "code": "TOD",
        "description": "Time-of-day charge",
        "calendar": "tod",
        "periods": {
            "peak": {"rate": peak_adder},
            "off_peak": {"rate": night_rebate},
            "normal": {"rate": "0"},
        },
    }


def _common(code: str, name: str, source: str) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "code": code,
        "name": name,
        "currency": "INR",
        "time_zone": "Asia/Kolkata",
        "source": source,
        "proration": {"basis": "fixed_days", "days": 30},
        "rounding": {"total": "1"},
        "late_payment": {
            "percent_per_month": "1.25",
            "grace_days": 0,
            "accrual": "per_month_or_part",
        },
    }


def _levies(duty_percent: str, base: list[str]) -> list[dict[str, Any]]:
    return [
        {"code": "ED", "description": "Electricity duty", "percent": duty_percent, "base": base},
        {"code": "TOSE", "description": "Tax on sale of electricity", "per_kwh": "0.26"},
    ]


def _domestic() -> dict[str, Any]:
    return {
        **_common("LT-1A", "LT-1A Residential", "demo order, residential (MSEDCL-like)"),
        "fixed_charges": [{"code": "FC", "description": "Fixed charge", "rate": "128"}],
        "energy_charges": [
            {
                "code": "EC",
                "description": "Energy charge",
                "slabs": [
                    {"up_to": "100", "rate": "3.46"},
                    {"up_to": "300", "rate": "7.43"},
                    {"up_to": "500", "rate": "10.32"},
                    {"rate": "11.71"},
                ],
            },
            {"code": "WC", "description": "Wheeling charge", "rate": "1.38"},
        ],
        "levies": _levies("16", ["FC", "EC", "WC"]),
        "prompt_payment": {"percent": "1", "within_days": 7, "base": ["FC", "EC"]},
    }


def _commercial() -> dict[str, Any]:
    return {
        **_common("LT-2", "LT-2 Commercial", "demo order, commercial (MSEDCL-like)"),
        "calendars": {"tod": _tod_calendar()},
        "fixed_charges": [{"code": "FC", "description": "Fixed charge", "rate": "470"}],
        "energy_charges": [
            {
                "code": "EC",
                "description": "Energy charge",
                "slabs": [{"up_to": "200", "rate": "8.10"}, {"rate": "10.90"}],
            },
            {"code": "WC", "description": "Wheeling charge", "rate": "1.38"},
            _tod_charge("1.10", "-1.50"),
        ],
        "demand_charges": [
            {"code": "DC", "description": "Demand charge", "unit": "kW", "rate": "110"}
        ],
        "levies": _levies("21", ["FC", "EC", "WC", "TOD", "DC"]),
        "prompt_payment": {"percent": "1", "within_days": 7, "base": ["FC", "EC"]},
    }


def _industrial() -> dict[str, Any]:
    return {
        **_common("HT-1", "HT-1 Industrial", "demo order, industrial (MSEDCL-like)"),
        "calendars": {"tod": _tod_calendar()},
        "demand_charges": [
            {
                "code": "DC",
                "description": "Demand charge",
                "unit": "kW",
                "rate": "469",
                "floor": {"percent": "75", "of": "sanctioned_load"},
                "ratchet": {"percent": "75", "months": 11},
            }
        ],
        "energy_charges": [
            {"code": "EC", "description": "Energy charge", "rate": "7.63"},
            {"code": "WC", "description": "Wheeling charge", "rate": "0.66"},
            _tod_charge("1.10", "-1.50"),
        ],
        "levies": _levies("7.5", ["DC", "EC", "WC", "TOD"]),
        "prompt_payment": {"percent": "1", "within_days": 7, "base": ["EC"]},
    }


def kseb_power_factor(base: list[str]) -> dict[str, Any]:
    """KSEB's power-factor incentive and penalty as gridbill bands, one per 0.01 of the
    power factor (rounded to two places), on the energy charge lines ``base``.

    The rule, as pgea.in's summary of the KSERC tariff schedule gives it (a secondary
    source): above 0.95 an incentive of 0.5% of the energy charge for each 0.01 above
    0.95; from 0.90 to 0.95 a penalty of 0.5% for each 0.01 below 0.95; below 0.90 1% for
    each 0.01 below 0.90, which we read as added to the 2.5% already due at 0.90.
    """
    bands = []
    for n in range(1, 101):  # the power factor in hundredths
        if n > 95:
            percent = Decimal("-0.5") * (n - 95)
        elif n >= 90:
            percent = Decimal("0.5") * (95 - n)
        else:
            percent = Decimal("2.5") + (90 - n)
        band: dict[str, str] = {"up_to": f"{Decimal(n) / 100:.2f}", "percent": f"{percent:f}"}
        if n > 1:
            band = {"above": f"{Decimal(n - 1) / 100:.2f}"} | band
        bands.append(band)
    return {"base": base, "decimals": 2, "bands": bands}


def _domestic_net_metered() -> dict[str, Any]:
    return {
        **_domestic(),
        "code": "LT-1A-NM",
        "name": "LT-1A Residential, net-metered rooftop solar",
        "source": "demo order, residential with rooftop solar (MSEDCL-like)",
        "export": {"scheme": "net_metering", "settlement_month": 3, "settlement_rate": "3.05"},
    }


def _domestic_gross_metered() -> dict[str, Any]:
    return {
        **_domestic(),
        "code": "LT-1A-GM",
        "name": "LT-1A Residential, gross-metered rooftop solar",
        "source": "demo order, residential with rooftop solar on gross metering; the feed-in"
        " rate is KERC's generic rooftop solar tariff, Rs 3.56/kWh (order of 18 May 2018)",
        "export": {"scheme": "gross_metering", "feed_in_rate": "3.56"},
    }


def _industrial_kvah() -> dict[str, Any]:
    """HT-1 billed on apparent energy (kVAh) with KSEB's power-factor bands, and without
    the time-of-day charge: its TOU registers count kWh, not kVAh."""
    document = _industrial()
    del document["calendars"]
    return {
        **document,
        "code": "HT-1-KVAH",
        "name": "HT-1 Industrial, kVAh billed",
        "source": "demo order, industrial billed in kVAh (MSEDCL-like), power-factor bands as"
        " KSEB's incentive and penalty",
        "energy_unit": "kVAh",
        "energy_charges": [
            {"code": "EC", "description": "Energy charge", "rate": "6.73"},
            {"code": "WC", "description": "Wheeling charge", "rate": "0.53"},
        ],
        "power_factor": kseb_power_factor(["EC"]),
        # Electricity duty only: a per-kWh levy would price the kVAh the energy charges use.
        "levies": [_levies("7.5", ["DC", "EC", "WC", "PF"])[0]],
    }


TARIFFS: tuple[DemoTariff, ...] = (
    DemoTariff(
        "LT-1A",
        "LT-1A Residential",
        AccountCategory.DOMESTIC,
        "demo order, residential",
        _domestic(),
    ),
    DemoTariff(
        "LT-2",
        "LT-2 Commercial",
        AccountCategory.COMMERCIAL,
        "demo order, commercial",
        _commercial(),
    ),
    DemoTariff(
        "HT-1",
        "HT-1 Industrial",
        AccountCategory.INDUSTRIAL,
        "demo order, industrial",
        _industrial(),
    ),
)

NET_METERED = DemoTariff(
    "LT-1A-NM",
    "LT-1A Residential, net-metered rooftop solar",
    AccountCategory.DOMESTIC,
    "demo order, residential with rooftop solar",
    _domestic_net_metered(),
)
TARIFF_BY_CATEGORY: dict[AccountCategory, DemoTariff] = {
    tariff.category: tariff for tariff in TARIFFS
}
GROSS_METERED = DemoTariff(
    "LT-1A-GM",
    "LT-1A Residential, gross-metered rooftop solar",
    AccountCategory.DOMESTIC,
    "demo order, residential with rooftop solar on gross metering",
    _domestic_gross_metered(),
)
KVAH_INDUSTRIAL = DemoTariff(
    "HT-1-KVAH",
    "HT-1 Industrial, kVAh billed",
    AccountCategory.INDUSTRIAL,
    "demo order, industrial billed in kVAh",
    _industrial_kvah(),
)
TARIFFS += (NET_METERED, GROSS_METERED, KVAH_INDUSTRIAL)  # after the map: a category's is its first


def canonical_json(document: dict[str, Any]) -> str:
    """One spelling per document (sorted keys, no spaces), so its hash is reproducible."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def document_sha256(document: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(document).encode("utf-8")).hexdigest()


def financial_year_start(day: date) -> date:
    """1 April of the Indian financial year containing ``day``: regulators' orders start then."""
    return date(day.year if day.month >= 4 else day.year - 1, 4, 1)
