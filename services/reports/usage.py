"""Usage by category and month, with the load factor of demand customers.

Covers the twelve billing months ending with the report's month, from issued bills
(``services.reports.billing_months``: a bill counts in its run's month), so every
account counts, read by hand or by a smart meter. Energy is the bills' ``consumption_wh``
(and the estimated bills' part of it), by the account's category. Demand customers are
accounts with a contract demand (``contract_demand_va`` set) whose bill recorded a
maximum demand (``max_demand_w > 0``); their load factor is their energy over their
maximum demand held through each bill's period:
``Σ consumption_wh / Σ (max_demand_w × 24 × days in the bill's period)``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from tortoise import connections

from domain.report_shapes import kwh, share
from services.reports.billing_months import BILL_RUN_JOIN, BILLED_ON, ISSUED_IN
from services.reports.scope import Scope
from services.reports.table import Kind, Table, columns
from store.sql import Sql, as_date

MONTHS = 12


@dataclass
class UsageRow:
    category: str
    month: date
    bills: int = 0
    wh: int = 0
    estimated_wh: int = 0
    demand_bills: int = 0
    demand_wh: int = 0
    demand_wh_at_peak: int = 0  # Σ max_demand_w × hours of the bill's period

    @property
    def load_factor(self) -> Decimal:
        return share(self.demand_wh, self.demand_wh_at_peak)


@dataclass
class Usage:
    scope: Scope
    first_month: date
    rows: list[UsageRow] = field(default_factory=list)

    def tables(self) -> list[Table]:
        return [
            Table(
                "by_category_month",
                f"Billed usage from {self.first_month:%Y-%m} to {self.scope.first:%Y-%m}",
                columns(
                    ("category", Kind.TEXT),
                    ("month", Kind.TEXT),
                    ("bills", Kind.COUNT),
                    ("kWh", Kind.ENERGY),
                    ("estimated kWh", Kind.ENERGY),
                    ("demand bills", Kind.COUNT),
                    ("demand kWh", Kind.ENERGY),
                    ("load factor", Kind.RATIO),
                ),
                [
                    [
                        r.category,
                        f"{r.month:%Y-%m}",
                        r.bills,
                        kwh(r.wh),
                        kwh(r.estimated_wh),
                        r.demand_bills,
                        kwh(r.demand_wh),
                        r.load_factor,
                    ]
                    for r in self.rows
                ],
            ),
        ]


def first_of_window(month: date) -> date:
    """The first month of the twelve ending with ``month``."""
    index = month.year * 12 + month.month - 1 - (MONTHS - 1)
    return date(index // 12, index % 12 + 1, 1)


async def usage(scope: Scope) -> Usage:
    sql = Sql(connections.get("default"))
    cycle, cycle_values = scope.cycle_filter()
    first = first_of_window(scope.first)
    demand = "a.contract_demand_va IS NOT NULL AND b.max_demand_w > 0"
    rows = await sql.rows(
        f"""SELECT a.category, {BILLED_ON} AS billed_on, COUNT(*) AS bills,
               SUM(b.consumption_wh) AS wh,
               SUM(CASE WHEN b.is_estimated THEN b.consumption_wh ELSE 0 END) AS estimated_wh,
               SUM(CASE WHEN {demand} THEN 1 ELSE 0 END) AS demand_bills,
               SUM(CASE WHEN {demand} THEN b.consumption_wh ELSE 0 END) AS demand_wh,
               SUM(CASE WHEN {demand}
                        THEN b.max_demand_w * 24 * ({sql.days_between("b.period_end", "b.period_start")} + 1)
                        ELSE 0 END) AS demand_wh_at_peak
        FROM bills b
        JOIN accounts a ON a.id = b.account_id
        {BILL_RUN_JOIN}
        WHERE {ISSUED_IN}{cycle}
        GROUP BY a.category, {BILLED_ON}""",  # noqa: S608 - our own fragments
        [sql.day(first), sql.day(scope.last), *cycle_values],
    )
    months: defaultdict[tuple[str, date], UsageRow] = defaultdict(lambda: UsageRow("", first))
    for r in rows:
        month = as_date(r["billed_on"]).replace(day=1)
        key = (str(r["category"]), month)
        entry = months[key]
        entry.category, entry.month = key
        entry.bills += int(r["bills"])
        entry.wh += int(r["wh"])
        entry.estimated_wh += int(r["estimated_wh"])
        entry.demand_bills += int(r["demand_bills"])
        entry.demand_wh += int(r["demand_wh"])
        entry.demand_wh_at_peak += int(r["demand_wh_at_peak"])
    return Usage(scope, first, [months[k] for k in sorted(months)])
