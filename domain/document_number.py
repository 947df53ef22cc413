"""The one format of every number gridbill gives a document or a party.

A series is counted gaplessly (``services.numbering`` keeps the counters) and every
number it hands out is written here, so bills, credit and debit notes, receipts,
adjustments, support requests and customers are numbered by one rule:

* per financial year (April to March): ``<PREFIX>/<year>/<6 digits>``, e.g.
  ``BL/2026-27/000123``, ``CN/…``, ``DN/…``, ``RC/…``, ``ADJ/…``, ``SR/…``;
* for the life of the utility (the counter's label is ``all``): ``CU`` and 8 digits,
  e.g. ``CU00000042``.

These are the formats numbers have always had, so numbers already issued in a database
keep reading the same and the counters carry on from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Series:
    """How one series' numbers look and what its counter restarts with."""

    prefix: str
    digits: int
    yearly: bool  # restarts every financial year (else counts for ever, label ``all``)


SERIES: dict[str, Series] = {
    "bill": Series("BL", 6, yearly=True),
    "credit_note": Series("CN", 6, yearly=True),
    "debit_note": Series("DN", 6, yearly=True),
    "receipt": Series("RC", 6, yearly=True),
    "adjustment": Series("ADJ", 6, yearly=True),
    "support": Series("SR", 6, yearly=True),
    "customer": Series("CU", 8, yearly=False),
}
FOREVER = "all"


def financial_year(day: date) -> str:
    """The Indian financial year (1 April to 31 March) of ``day``, e.g. ``2026-27``."""
    start = day.year if day.month >= 4 else day.year - 1
    return f"{start}-{(start + 1) % 100:02d}"


def counter_label(series: str, day: date) -> str:
    """The label of the counter a number of ``series`` taken on ``day`` comes from."""
    return financial_year(day) if SERIES[series].yearly else FOREVER


def document_number(series: str, label: str, value: int) -> str:
    """The number ``value`` of ``series`` under counter ``label``, as printed and stored."""
    if value < 1:
        raise ValueError(f"document numbers start at 1, not {value}")
    spec = SERIES[series]
    if not spec.yearly:
        return f"{spec.prefix}{value:0{spec.digits}d}"
    return f"{spec.prefix}/{label}/{value:0{spec.digits}d}"
