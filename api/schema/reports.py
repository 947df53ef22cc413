"""The staff reports as GraphQL types: each report is a list of tables of exact cells.

A cell is a string so it stays exact whatever it holds: counts as integers, money as
rupees with two places (``"1234.50"``), energy as kWh with three, ratios with four,
days as ``YYYY-MM-DD``; the column's kind says which. docs/reports.md defines every figure.
"""

from __future__ import annotations

from datetime import date
from enum import Enum

import strawberry

from services.reports.table import Kind

strawberry.enum(Kind, name="ReportColumnKind", description="What a report column holds.")


@strawberry.enum(description="The reports (docs/reports.md).")
class ReportName(Enum):
    BILLING_SUMMARY = "billing-summary"
    COLLECTIONS = "collections"
    AGEING = "ageing"
    READING_COMPLETION = "reading-completion"
    USAGE = "usage"
    RECONCILIATION = "reconciliation"


@strawberry.type
class ReportColumn:
    name: str
    kind: Kind


@strawberry.type
class ReportTable:
    name: str = strawberry.field(description="Stable key, e.g. `by_category`.")
    title: str
    columns: list[ReportColumn]
    rows: list[list[str]] = strawberry.field(
        description="One list of cells per row, in column order."
    )


@strawberry.type
class Report:
    name: ReportName
    period: str = strawberry.field(description="The month, `YYYY-MM`.")
    cycle: str | None = strawberry.field(description="The billing cycle's code, or null for all.")
    as_of: date = strawberry.field(description="The day balances are taken on (ageing).")
    tables: list[ReportTable]
