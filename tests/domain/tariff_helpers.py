"""Shared by the tariff tests: load fixtures exactly, price, and read a quote's lines."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from domain.pricing import Quote, price
from domain.tariff import Tariff, parse_tariff
from domain.urdb import from_urdb
from domain.usage import TotalUsage

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def load_json(relative: str) -> Any:
    with (FIXTURES / relative).open(encoding="utf-8") as f:
        return json.load(f, parse_float=Decimal)


def tariff(name: str) -> Tariff:
    return parse_tariff(load_json(f"tariffs/{name}.json"))


def urdb(name: str, time_zone: str = "UTC") -> Tariff:
    return from_urdb(load_json(f"urdb/{name}.json"), time_zone=time_zone)


def quote_total(t: Tariff, kwh: str, start: date, days: int, load_kw: str | None = None) -> Quote:
    usage = TotalUsage(Decimal(kwh), start, start + timedelta(days=days))
    load = Decimal(load_kw) if load_kw is not None else None
    return price(t, usage, sanctioned_load_kw=load)


def amounts(quote: Quote) -> dict[str, Decimal]:
    """Line code → amount, for comparing with hand-worked figures."""
    return {line.code: line.amount for line in quote.lines}


def check(quote: Quote, expected: dict[str, str], total: str) -> None:
    assert amounts(quote) == {code: Decimal(v) for code, v in expected.items()}
    assert quote.total == Decimal(total)
    assert sum(line.amount for line in quote.lines) == quote.total
