"""A report as a file: CSV, JSON or an Excel workbook, the same bytes from every door.

``gridbill report --format csv|json|xlsx`` and the console's download links both write
these shapes, so a spreadsheet made from either is the same. Cells stay exact: money as
decimal strings in CSV and JSON, numbers with an Indian-grouping number format in XLSX.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from decimal import Decimal
from typing import Any

from services.reports.catalog import Report
from services.reports.table import Cell, Kind

# Excel's number format for Indian grouping (crore, lakh, thousand).
XLSX_FORMATS = {
    Kind.MONEY: "[>=10000000]##\\,##\\,##\\,##0.00;[>=100000]##\\,##\\,##0.00;##,##0.00",
    Kind.ENERGY: "0.000",
    Kind.RATIO: "0.0000",
    Kind.COUNT: "0",
}


def plain(value: Cell) -> Any:
    """A cell as JSON/CSV carries it: ``Decimal`` in plain notation, dates in ISO form."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    return value


def to_json(name: str, report: Report) -> str:
    scope = report.scope
    body = {
        "report": name,
        "period": str(scope.month),
        "cycle": scope.cycle_code,
        "as_of": scope.as_of.isoformat(),
        "tables": [
            {
                "name": t.name,
                "title": t.title,
                "columns": [{"name": c.name, "kind": c.kind.value} for c in t.columns],
                "rows": [[plain(v) for v in row] for row in t.rows],
            }
            for t in report.tables()
        ],
    }
    return json.dumps(body, indent=2, ensure_ascii=False) + "\n"


def to_csv(name: str, report: Report) -> str:
    """Every table as a block: a header row (``table`` first), its rows, a blank line."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for i, table in enumerate(report.tables()):
        if i:
            writer.writerow([])
        writer.writerow(["table", *(c.name for c in table.columns)])
        writer.writerows([table.name, *(plain(v) for v in row)] for row in table.rows)
    return buffer.getvalue()


def to_xlsx(report: Report) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for table in report.tables():
        sheet = book.create_sheet(table.name[:31])
        sheet.append([c.name for c in table.columns])
        for row in table.rows:
            sheet.append([v for v in row])
            for cell, column in zip(sheet[sheet.max_row], table.columns, strict=True):
                if column.kind in XLSX_FORMATS:
                    cell.number_format = XLSX_FORMATS[column.kind]
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
