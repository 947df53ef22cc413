"""The demo utility's three tariffs, as MSEDCL-like rate documents.

The document format is a *draft* ("gridbill-tariff/0-draft"): the tariff engine issue will
formalise the real format (docs/tariffs.md) and replace these documents, so they are kept
deliberately simple. Rates are strings so that they stay exact decimals in rupees. The
numbers are of the order of the Maharashtra regulator's low-tension orders, for
illustration only, not a copy of any real order.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from domain.enums import AccountCategory

DRAFT_FORMAT = "gridbill-tariff/0-draft"

# Time-of-day windows in local time, by the TOU register each one accumulates in.
PEAK_WINDOWS: tuple[tuple[str, str], ...] = (("09:00", "12:00"), ("18:00", "22:00"))
OFF_PEAK_WINDOWS: tuple[tuple[str, str], ...] = (("22:00", "06:00"),)


@dataclass(frozen=True, slots=True)
class DemoTariff:
    code: str
    name: str
    category: AccountCategory
    source_reference: str
    document: dict[str, Any]


def _tou(peak_adder: str, off_peak_rebate: str) -> dict[str, Any]:
    return {
        "peak": {
            "register": "1.8.1",
            "windows": [list(w) for w in PEAK_WINDOWS],
            "adder": peak_adder,
        },
        "off_peak": {
            "register": "1.8.2",
            "windows": [list(w) for w in OFF_PEAK_WINDOWS],
            "adder": off_peak_rebate,
        },
        "holidays_as": "normal",
    }


def _levies(duty_percent: str) -> list[dict[str, str]]:
    return [
        {"name": "Electricity duty", "type": "percent_of_charges", "rate": duty_percent},
        {"name": "Tax on sale of electricity", "type": "per_kwh", "rate": "0.26"},
    ]


def _domestic() -> dict[str, Any]:
    return {
        "format": DRAFT_FORMAT,
        "currency": "INR",
        "fixed": [
            {
                "name": "Fixed charge (single phase)",
                "per": "month",
                "amount": "128.00",
                "phases": 1,
            },
            {"name": "Fixed charge (three phase)", "per": "month", "amount": "425.00", "phases": 3},
        ],
        "energy": {
            "type": "telescopic",
            "slabs": [
                {"upto_kwh": 100, "rate": "3.46"},
                {"upto_kwh": 300, "rate": "7.43"},
                {"upto_kwh": 500, "rate": "10.32"},
                {"upto_kwh": 1000, "rate": "11.71"},
                {"upto_kwh": None, "rate": "11.71"},
            ],
        },
        "wheeling": {"per_kwh": "1.38"},
        "net_metering": {"export_register": "2.8.0", "settlement": "net_energy"},
        "levies": _levies("16"),
    }


def _commercial() -> dict[str, Any]:
    return {
        "format": DRAFT_FORMAT,
        "currency": "INR",
        "fixed": [{"name": "Fixed charge", "per": "month", "amount": "470.00"}],
        "energy": {
            "type": "telescopic",
            "slabs": [{"upto_kwh": 200, "rate": "8.10"}, {"upto_kwh": None, "rate": "10.90"}],
        },
        "wheeling": {"per_kwh": "1.38"},
        "tou": _tou("1.10", "-1.50"),
        "levies": _levies("21"),
    }


def _industrial() -> dict[str, Any]:
    return {
        "format": DRAFT_FORMAT,
        "currency": "INR",
        "fixed": [],
        "demand": {
            "register": "1.6.0",
            "per_kva_month": "469.00",
            "billing_demand": "max(recorded, 75% of contract demand)",
        },
        "energy": {"type": "flat", "slabs": [{"upto_kwh": None, "rate": "7.63"}]},
        "wheeling": {"per_kwh": "0.66"},
        "tou": _tou("1.10", "-1.50"),
        "levies": _levies("7.5"),
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

TARIFF_BY_CATEGORY: dict[AccountCategory, DemoTariff] = {
    tariff.category: tariff for tariff in TARIFFS
}


def canonical_json(document: dict[str, Any]) -> str:
    """One spelling per document (sorted keys, no spaces), so its hash is reproducible."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def document_sha256(document: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(document).encode("utf-8")).hexdigest()


def financial_year_start(day: date) -> date:
    """1 April of the Indian financial year containing ``day``: regulators' orders start then."""
    return date(day.year if day.month >= 4 else day.year - 1, 4, 1)
