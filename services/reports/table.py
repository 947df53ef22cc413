"""A report section as a table: the one shape every door (GraphQL, CLI, console) shows.

Cells keep exact types: ``int`` counts, :class:`~decimal.Decimal` rupees, kWh and ratios,
``date`` days and ``str`` labels; the column's :class:`Kind` says which, so a door can
format them (Indian digit grouping for money in the CLI) without guessing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from domain.report_shapes import figure

Cell = int | Decimal | date | str


class Kind(StrEnum):
    TEXT = "text"
    DATE = "date"
    COUNT = "count"
    MONEY = "money"  # rupees, 2 places
    ENERGY = "energy"  # kWh, 3 places
    RATIO = "ratio"  # 4 places


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind


@dataclass
class Table:
    name: str
    title: str
    columns: list[Column]
    rows: list[list[Cell]] = field(default_factory=list)


def columns(*spec: tuple[str, Kind]) -> list[Column]:
    return [Column(name, kind) for name, kind in spec]


PLACES = {Kind.MONEY: 2, Kind.ENERGY: 3, Kind.RATIO: 4, Kind.COUNT: 0}
"""The places each numeric kind is shown to; text and dates are shown as they are."""


def shown(value: Cell, kind: Kind) -> str:
    """A cell as a person reads it (the CLI's table, the console's pages): numbers rounded
    to their kind's places in Indian grouping (12,34,567.50), dates in ISO form."""
    if kind in PLACES and isinstance(value, int | Decimal):
        return figure(value, PLACES[kind])
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
