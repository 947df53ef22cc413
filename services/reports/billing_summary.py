"""Billing summary: a month's issued bills by component, tariff and category.

Counts issued bills of the month (their bill run's month: ``services.reports.billing_months``),
of the cycle's accounts when a cycle is given.
Units are the bills' ``consumption_wh``; amounts their ``total_paise`` (charges and
rounding, without arrears or late fees); components add the bills' lines. The estimated
share is the estimated bills' part of the bills and of the units.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from tortoise import connections

from domain.report_shapes import kwh, rupees, share
from services.reports.billing_months import BILL_RUN_JOIN, ISSUED_IN
from services.reports.scope import Scope
from services.reports.table import Cell, Kind, Table, columns
from store.sql import Sql


@dataclass
class BillFigures:
    """Bills, units and amounts of one group (a tariff, a category, or all)."""

    bills: int = 0
    estimated_bills: int = 0
    wh: int = 0
    estimated_wh: int = 0
    total_paise: int = 0

    def add(self, other: BillFigures) -> None:
        self.bills += other.bills
        self.estimated_bills += other.estimated_bills
        self.wh += other.wh
        self.estimated_wh += other.estimated_wh
        self.total_paise += other.total_paise


@dataclass(frozen=True)
class ComponentFigures:
    component: str
    lines: int
    amount_paise: int


@dataclass
class BillingSummary:
    scope: Scope
    total: BillFigures = field(default_factory=BillFigures)
    by_tariff: dict[str, BillFigures] = field(default_factory=dict)
    by_category: dict[str, BillFigures] = field(default_factory=dict)
    by_component: list[ComponentFigures] = field(default_factory=list)

    def tables(self) -> list[Table]:
        head = columns(
            ("bills", Kind.COUNT), ("estimated bills", Kind.COUNT), ("kWh", Kind.ENERGY),
            ("estimated kWh", Kind.ENERGY), ("amount", Kind.MONEY),
            ("estimated share of bills", Kind.RATIO), ("estimated share of kWh", Kind.RATIO),
        )  # fmt: skip

        def cells(f: BillFigures) -> list[Cell]:
            return [
                f.bills, f.estimated_bills, kwh(f.wh), kwh(f.estimated_wh), rupees(f.total_paise),
                share(f.estimated_bills, f.bills), share(f.estimated_wh, f.wh),
            ]  # fmt: skip

        return [
            Table("total", "All issued bills", head, [cells(self.total)]),
            Table(
                "by_tariff",
                "By tariff",
                columns(("tariff", Kind.TEXT), *((c.name, c.kind) for c in head)),
                [[code, *cells(f)] for code, f in sorted(self.by_tariff.items())],
            ),
            Table(
                "by_category",
                "By category",
                columns(("category", Kind.TEXT), *((c.name, c.kind) for c in head)),
                [[name, *cells(f)] for name, f in sorted(self.by_category.items())],
            ),
            Table(
                "by_component",
                "By component",
                columns(("component", Kind.TEXT), ("lines", Kind.COUNT), ("amount", Kind.MONEY)),
                [[c.component, c.lines, rupees(c.amount_paise)] for c in self.by_component],
            ),
        ]


async def billing_summary(scope: Scope) -> BillingSummary:
    sql = Sql(connections.get("default"))
    cycle, cycle_values = scope.cycle_filter()
    where = f"{ISSUED_IN}{cycle}"
    values = [sql.day(scope.first), sql.day(scope.last), *cycle_values]
    groups = await sql.rows(
        f"""SELECT a.category AS category, COALESCE(t.code, '') AS tariff,
               COUNT(*) AS bills,
               SUM(CASE WHEN b.is_estimated THEN 1 ELSE 0 END) AS estimated_bills,
               SUM(b.consumption_wh) AS wh,
               SUM(CASE WHEN b.is_estimated THEN b.consumption_wh ELSE 0 END) AS estimated_wh,
               SUM(b.total_paise) AS total_paise
        FROM bills b
        JOIN accounts a ON a.id = b.account_id
        {BILL_RUN_JOIN}
        LEFT JOIN tariff_versions tv ON tv.id = b.tariff_version_id
        LEFT JOIN tariffs t ON t.id = tv.tariff_id
        WHERE {where}
        GROUP BY a.category, t.code""",  # noqa: S608 - our own fragments
        values,
    )
    report = BillingSummary(scope)
    by_tariff: defaultdict[str, BillFigures] = defaultdict(BillFigures)
    by_category: defaultdict[str, BillFigures] = defaultdict(BillFigures)
    for row in groups:
        figures = BillFigures(
            bills=int(row["bills"]), estimated_bills=int(row["estimated_bills"]),
            wh=int(row["wh"]), estimated_wh=int(row["estimated_wh"]),
            total_paise=int(row["total_paise"]),
        )  # fmt: skip
        by_tariff[row["tariff"] or "(no tariff)"].add(figures)
        by_category[str(row["category"])].add(figures)
        report.total.add(figures)
    report.by_tariff = dict(by_tariff)
    report.by_category = dict(by_category)
    components = await sql.rows(
        f"""SELECT l.component AS component, COUNT(*) AS line_count,
               SUM(l.amount_paise) AS amount_paise
        FROM bill_lines l
        JOIN bills b ON b.id = l.bill_id
        JOIN accounts a ON a.id = b.account_id
        {BILL_RUN_JOIN}
        WHERE {where}
        GROUP BY l.component
        ORDER BY l.component""",  # noqa: S608 - our own fragments
        values,
    )
    report.by_component = [
        ComponentFigures(str(r["component"]), int(r["line_count"]), int(r["amount_paise"]))
        for r in components
    ]
    return report
