"""The report pages: the same figures as the report services, charts, pickers, downloads.

Each page must show what ``services.reports`` computes (the figures themselves are checked
against the raw tables in tests/reports); here the door is checked: every table of the
report is on the page in Indian grouping, the charts are drawn, a bad month is refused in
words beside the form, and the downloads are byte for byte the CLI's CSV and XLSX.
"""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook

from gridbill.settings import Settings
from services.reports.catalog import NAMES, Report, run_report
from services.reports.export import to_csv
from services.reports.scope import resolve_scope
from services.reports.table import shown
from tests.console.conftest import ConsoleClient

PERIOD = "2026-04"  # the demo's last whole billed month


def service(console: ConsoleClient, name: str, cycle: str | None = None) -> Report:
    settings: Settings = console.settings

    async def run() -> Report:
        return await run_report(name, await resolve_scope(PERIOD, cycle, zone=settings.zone))

    return console.run(run)


def test_the_index_links_every_report(console: ConsoleClient) -> None:
    console.as_user("staff1@gridbill.example")
    page = console.client.get("/console/reports")
    assert page.status_code == 200
    for name in NAMES:
        assert f'href="/console/reports/{name}"' in page.text
    assert "arrive with the reports work" not in page.text


@pytest.mark.parametrize("name", NAMES)
def test_each_report_page_shows_the_services_figures(console: ConsoleClient, name: str) -> None:
    console.as_user("staff1@gridbill.example")
    page = console.client.get(f"/console/reports/{name}", params={"period": PERIOD})
    assert page.status_code == 200, page.text[:300]
    assert page.text.count('<svg class="chart"') >= 1
    text = re.sub(r"\s+", " ", page.text)
    report = service(console, name)
    cells = 0
    for table in report.tables():
        assert f'id="{table.name}"' in text
        for row in table.rows:
            for value, column in zip(row, table.columns, strict=True):
                assert f">{shown(value, column.kind)}</td>" in text, (table.name, value)
                cells += 1
    assert cells > 0 or name == "reconciliation", "the demo month should have figures"
    assert 'value="2026-04"' in text


def test_money_is_grouped_the_indian_way_and_the_cycle_picker_filters(
    console: ConsoleClient,
) -> None:
    console.as_user("staff1@gridbill.example")
    whole = console.client.get("/console/reports/billing-summary", params={"period": PERIOD})
    total = service(console, "billing-summary").tables()[0].rows[0][4]
    assert (
        f">{shown(total, service(console, 'billing-summary').tables()[0].columns[4].kind)}<"
        in whole.text
    )
    assert re.search(r">\d{1,2},\d\d,\d{3}\.\d\d</td>", whole.text), "a lakh figure, 1,23,456.78"
    one = console.client.get(
        "/console/reports/billing-summary", params={"period": PERIOD, "cycle": "CYC-01"}
    )
    assert one.status_code == 200 and "cycle CYC-01" in one.text
    cycle_total = service(console, "billing-summary", "CYC-01").tables()[0].rows[0][4]
    assert cycle_total < total
    assert '<option value="CYC-01" selected>' in one.text


def test_a_bad_month_or_cycle_is_refused_beside_the_form(console: ConsoleClient) -> None:
    console.as_user("staff1@gridbill.example")
    future = console.client.get("/console/reports/ageing", params={"period": "2999-01"})
    assert future.status_code == 400 and "is in the future" in future.text
    assert 'id="period"' in future.text
    cycle = console.client.get("/console/reports/usage", params={"period": PERIOD, "cycle": "X"})
    assert cycle.status_code == 400 and "no billing cycle" in cycle.text
    assert console.client.get("/console/reports/nonsense").status_code == 404


def test_downloads_are_the_clis_csv_and_xlsx(console: ConsoleClient) -> None:
    console.as_user("staff1@gridbill.example")
    csv = console.client.get(
        "/console/reports/ageing/download", params={"format": "csv", "period": PERIOD}
    )
    assert csv.status_code == 200
    assert csv.headers["content-disposition"] == 'attachment; filename="ageing-2026-04.csv"'
    assert csv.text == to_csv("ageing", service(console, "ageing"))
    xlsx = console.client.get(
        "/console/reports/collections/download", params={"format": "xlsx", "period": PERIOD}
    )
    book = load_workbook(io.BytesIO(xlsx.content))
    assert book.sheetnames == [t.name for t in service(console, "collections").tables()]
    wrong = console.client.get("/console/reports/ageing/download", params={"format": "pdf"})
    assert wrong.status_code == 400 and "csv or xlsx" in wrong.text


def test_day_charts_keep_the_calendar_and_negative_bars_go_left() -> None:
    from datetime import date
    from zoneinfo import ZoneInfo

    from console.charts import hbar_chart
    from console.reports import every_day
    from domain.billing import BillingMonth
    from services.reports.scope import Scope

    april = Scope(
        BillingMonth.parse(PERIOD), None, None, ZoneInfo("Asia/Kolkata"), date(2026, 5, 10)
    )
    days = every_day([("2026-04-03", 500, "5.00", False)], april)
    assert len(days) == 30 and days[0] == ("2026-04-01", 0, "0.00", False)
    assert days[2] == ("2026-04-03", 500, "5.00", False)
    svg = str(
        hbar_chart([("credit", -100, "-1.00", False), ("owed", 300, "3.00", False)], label="x")
    )
    credit, owed = re.findall(r'<rect class="(\w+)" x="([\d.]+)"', svg)
    assert credit[0] == "flagged" and owed[0] == "bar" and float(credit[1]) < float(owed[1])
    assert "<title>credit: -1.00</title>" in svg
