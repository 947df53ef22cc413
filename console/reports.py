"""The report pages: each report's tables, its charts, and the CSV/XLSX download.

One door more onto ``services.reports``: a page resolves the same scope and runs the same
report as the GraphQL ``report`` query and ``gridbill report``, then shows its tables
(numbers in Indian grouping, as the CLI prints them) and charts drawn from those tables,
so a chart can never disagree with the figures beside it. The downloads are the CLI's
``--format csv`` and ``--format xlsx`` bytes (``services.reports.export``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response

from console import charts
from console.pages import Console, Form
from console.session import Staff
from services.errors import NotFound, Refused
from services.reports.catalog import NAMES, Report, run_report
from services.reports.export import to_csv, to_xlsx
from services.reports.scope import ReportError, Scope, resolve_scope
from services.reports.table import PLACES, Cell, Kind, Table, shown
from store.models import BillingCycle

TITLES = {
    "billing-summary": "Billing summary",
    "collections": "Collections",
    "ageing": "Receivables ageing",
    "reading-completion": "Meter-reading completion",
    "usage": "Usage",
    "reconciliation": "Reconciliation",
}
ABOUT = {
    "billing-summary": "Issued bills, kWh and amounts by tariff, category and component, "
    "with the estimated share.",
    "collections": "Payments collected per day, method and channel.",
    "ageing": "Unpaid bills by days past due (payments allocated oldest first), by category "
    "and route, with the top 20 defaulters.",
    "reading-completion": "Meters read, skipped (by code) and pending by route and reader; "
    "VEE exceptions by rule.",
    "usage": "Billed kWh by tariff category and month, with the load factor of demand customers.",
    "reconciliation": "Stored gateway records against the ledger, per day.",
}
DOWNLOADS: dict[str, tuple[str, Callable[[str, Report], bytes]]] = {
    "csv": ("text/csv; charset=utf-8", lambda name, report: to_csv(name, report).encode()),
    "xlsx": (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        lambda name, report: to_xlsx(report),
    ),
}
Bars = list[tuple[str, int, str, bool]]


@dataclass(frozen=True)
class Chart:
    """A chart drawn from one of the report's own tables."""

    title: str
    svg: Markup


def units(value: object, kind: Kind) -> int:
    """A numeric cell in its smallest whole unit (paise, Wh, ten-thousandths), for scaling."""
    if not isinstance(value, int | Decimal):
        return 0
    return int(Decimal(value).scaleb(PLACES.get(kind, 0)))


def _table(report: Report, name: str) -> Table:
    return next(t for t in report.tables() if t.name == name)


def rows_bars(
    table: Table,
    labels: tuple[str, ...],
    value: str,
    *,
    flag: Callable[[Mapping[str, Cell]], bool] = lambda row: False,
    summed: bool = False,
) -> Bars:
    """One bar per row (or per label, ``summed``) of ``table``: labels joined by " · "."""
    names = [c.name for c in table.columns]
    kind = table.columns[names.index(value)].kind
    totals: dict[str, tuple[int, bool]] = {}
    for row in table.rows:
        cells = dict(zip(names, row, strict=True))
        label = " · ".join(shown(cells[n], Kind.TEXT) for n in labels)
        before, flagged = totals.get(label, (0, False)) if summed else (0, False)
        totals[label] = (before + units(cells[value], kind), flagged or flag(cells))
    return [
        (label, amount, shown(Decimal(amount).scaleb(-PLACES[kind]), kind), flagged)
        for label, (amount, flagged) in totals.items()
    ]


def columns_bars(table: Table, names: list[str]) -> Bars:
    """One bar per named column of the table's first row (the ageing buckets)."""
    if not table.rows:
        return []
    cells = dict(zip((c.name for c in table.columns), table.rows[0], strict=True))
    kinds = {c.name: c.kind for c in table.columns}
    return [
        (n.replace("_", " "), units(cells[n], kinds[n]), shown(cells[n], kinds[n]), False)
        for n in names
    ]


def every_day(bars: Bars, scope: Scope) -> Bars:
    """Day bars on a true calendar axis: a day with nothing gets an empty bar, not a gap
    closed up (so the month reads left to right, 1st to the last day reported)."""
    found = {bar[0]: bar for bar in bars}
    days = (scope.first + timedelta(days=i) for i in range((scope.as_of - scope.first).days + 1))
    return [found.get(d.isoformat(), (d.isoformat(), 0, "0.00", False)) for d in days]


def hbar(title: str, bars: Bars) -> Chart:
    return Chart(title, charts.hbar_chart(bars, label=title))


def vbar(title: str, bars: Bars) -> Chart:
    """Bars over time; the caption names the highest, as the chart has no value axis."""
    if bars:
        name, _, text, _ = max(bars, key=lambda bar: bar[1])
        title = f"{title} (highest: {text} on {name})"
    return Chart(title, charts.bar_chart(bars, label=title))


def report_charts(name: str, report: Report) -> list[Chart]:
    """The charts of a report, each from a table shown below it."""
    scope = report.scope

    def t(table: str) -> Table:
        return _table(report, table)

    if name == "billing-summary":
        return [
            hbar("Amount billed by category", rows_bars(t("by_category"), ("category",), "amount")),
            hbar("Amount by component", rows_bars(t("by_component"), ("component",), "amount")),
        ]
    if name == "collections":
        return [
            vbar("Collected per day", every_day(rows_bars(t("by_day"), ("day",), "amount"), scope)),
            hbar("Collected by method", rows_bars(t("by_method"), ("method",), "amount")),
            hbar("Collected by channel", rows_bars(t("by_channel"), ("channel",), "amount")),
        ]
    if name == "ageing":
        total = t("total")
        buckets = [c.name for c in total.columns if c.name not in ("accounts", "receivable")]
        return [
            hbar("Receivable by days past due", columns_bars(total, buckets)),
            hbar("Receivable by route", rows_bars(t("by_route"), ("route",), "receivable")),
        ]
    if name == "reading-completion":
        by_route = t("by_route")
        return [
            hbar(
                "Meters read by route and reader (red: some still pending)",
                rows_bars(by_route, ("route", "reader"), "read", flag=lambda r: r["pending"] != 0),
            ),
            hbar(
                "VEE exceptions by rule",
                rows_bars(t("vee_exceptions"), ("rule",), "exceptions", summed=True),
            ),
        ]
    if name == "usage":
        table = t("by_category_month")
        return [
            vbar("Billed kWh per month", rows_bars(table, ("month",), "kWh", summed=True)),
            hbar("Billed kWh by category", rows_bars(table, ("category",), "kWh", summed=True)),
        ]
    if name == "reconciliation":
        return [
            vbar(
                "Gateway amount per day (red: not matched with the ledger)",
                every_day(
                    rows_bars(
                        t("by_day"),
                        ("day",),
                        "gateway amount",
                        flag=lambda r: r["status"] != "matched",
                    ),
                    scope,
                ),
            )
        ]
    return []


def _report_name(request: Request) -> str:
    name = str(request.path_params["name"])
    if name not in NAMES:
        raise NotFound(f"report {name!r}")
    return name


def _picked(request: Request) -> tuple[str | None, str | None]:
    period = request.query_params.get("period", "").strip() or None
    cycle = request.query_params.get("cycle", "").strip() or None
    return period, cycle


async def _run(console: Console, name: str, period: str | None, cycle: str | None) -> Report:
    scope: Scope = await resolve_scope(period, cycle, zone=console.settings.zone)
    return await run_report(name, scope)


async def index(console: Console, request: Request, staff: Staff, form: Form) -> Response:
    reports = [(n, TITLES[n], ABOUT[n]) for n in NAMES]
    return console.render("reports.html", staff, reports=reports)


async def report_page(console: Console, request: Request, staff: Staff, form: Form) -> Response:
    name = _report_name(request)
    period, cycle = _picked(request)
    cycles = await BillingCycle.all().order_by("code").values_list("code", flat=True)
    context: dict[str, Any] = {
        "report_name": name, "title": TITLES[name], "about": ABOUT[name], "cycles": cycles,
        "period": period or "", "cycle": cycle or "", "shown": shown, "numeric": PLACES,
    }  # fmt: skip
    try:
        report = await _run(console, name, period, cycle)
    except Refused as refusal:  # a bad period, report or cycle: shown beside the form
        return console.render("report.html", staff, status=400, error=refusal.message, **context)
    context["period"] = str(report.scope.month)
    picked = {"period": str(report.scope.month), "cycle": report.scope.cycle_code or ""}
    query = urlencode({k: v for k, v in picked.items() if v})
    return console.render(
        "report.html", staff, report=report, tables=report.tables(),
        charts=report_charts(name, report), query=query, **context,
    )  # fmt: skip


async def download(console: Console, request: Request, staff: Staff, form: Form) -> Response:
    """The report as the CLI's ``--format csv`` or ``--format xlsx`` file."""
    name = _report_name(request)
    kind = request.query_params.get("format", "csv")
    if kind not in DOWNLOADS:
        raise ReportError("INVALID_INPUT", "download the report as csv or xlsx", field="format")
    period, cycle = _picked(request)
    report = await _run(console, name, period, cycle)
    media, render = DOWNLOADS[kind]
    scope = report.scope
    filename = f"{name}-{scope.month}" + (f"-{scope.cycle_code}" if scope.cycle_code else "")
    return Response(
        render(name, report),
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{filename}.{kind}"'},
    )
