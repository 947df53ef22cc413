"""The staff ``report`` query: runs a report service and passes its tables through."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import strawberry

from api.context import Context
from api.errors import from_refusal
from api.permissions import requires
from api.schema.decorators import field
from api.schema.reports import Report, ReportColumn, ReportName, ReportTable
from domain.access import Operation
from services.errors import Refused
from services.reports.catalog import run_report
from services.reports.scope import resolve_scope
from services.reports.table import Cell

Info = strawberry.Info[Context, None]


def cell_text(value: Cell) -> str:
    """A cell as exact text: ``Decimal`` in plain notation, dates in ISO form."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


@strawberry.type
class ReportQueries:
    @field(
        description="A staff report for a month (default: this month) and optionally one "
        "billing cycle. Errors: BAD_PERIOD, UNKNOWN_CYCLE.",
        extensions=requires(Operation.READ_REPORTS),
    )
    async def report(
        self, info: Info, name: ReportName, period: str | None = None, cycle: str | None = None
    ) -> Report:
        settings = info.context.settings
        try:
            scope = await resolve_scope(period, cycle, zone=settings.zone)
            found = await run_report(name.value, scope)
        except Refused as refusal:
            raise from_refusal(refusal) from None
        return Report(
            name=name,
            period=str(scope.month),
            cycle=scope.cycle_code,
            as_of=scope.as_of,
            tables=[
                ReportTable(
                    name=t.name,
                    title=t.title,
                    columns=[ReportColumn(name=c.name, kind=c.kind) for c in t.columns],
                    rows=[[cell_text(v) for v in row] for row in t.rows],
                )
                for t in found.tables()
            ],
        )
