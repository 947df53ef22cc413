"""``gridbill report NAME [--period YYYY-MM] [--cycle C] [--format …]``: the staff reports.

The same report services as the GraphQL ``report`` query (``services.reports``), printed
as a table with Indian digit grouping (12,34,567.50), CSV, JSON (exact cells: money as
decimal strings) or an Excel workbook (one sheet per table). docs/reports.md defines
every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from cli.commands import help_for
from domain.report_shapes import figure
from gridbill.errors import UserError
from gridbill.settings import Settings
from services.reports.catalog import NAMES, Report
from services.reports.table import Cell, Kind, Table

PLACES = {Kind.MONEY: 2, Kind.ENERGY: 3, Kind.RATIO: 4, Kind.COUNT: 0}
NUMERIC = frozenset(PLACES)
# Excel's number format for Indian grouping (crore, lakh, thousand).
XLSX_FORMATS = {
    Kind.MONEY: "[>=10000000]##\\,##\\,##\\,##0.00;[>=100000]##\\,##\\,##0.00;##,##0.00",
    Kind.ENERGY: "0.000",
    Kind.RATIO: "0.0000",
    Kind.COUNT: "0",
}


class ReportCommandError(UserError):
    """Bad arguments to ``gridbill report``."""


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "report",
        help=help_for("report"),
        description=f"Reports: {', '.join(NAMES)}. Figures are defined in docs/reports.md.",
    )
    p.add_argument("name", metavar="NAME", help=f"one of: {', '.join(NAMES)}")
    p.add_argument("--period", metavar="YYYY-MM", help="the month (default: this month)")
    p.add_argument("--cycle", metavar="C", help="one billing cycle's code (default: all)")
    p.add_argument("--format", choices=("table", "csv", "json", "xlsx"), default="table")
    p.add_argument("--output", metavar="FILE", help="write to FILE instead of standard output")
    p.set_defaults(handler=cmd_report)


def cmd_report(settings: Settings, args: argparse.Namespace) -> int:
    if args.format == "xlsx" and args.output is None and sys.stdout.isatty():
        raise ReportCommandError("--format xlsx writes a binary file: add --output FILE.xlsx")
    report = asyncio.run(_run(settings, args.name, args.period, args.cycle))
    if args.format == "xlsx":
        data = to_xlsx(report)
    else:
        render = {"table": to_text, "csv": to_csv, "json": to_json}[args.format]
        data = render(args.name, report).encode()
    if args.output:
        try:
            Path(args.output).write_bytes(data)
        except OSError as exc:
            raise ReportCommandError(f"cannot write {args.output} ({exc.strerror})") from None
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return 0


async def _run(settings: Settings, name: str, period: str | None, cycle: str | None) -> Report:
    from services.reports.catalog import run_report
    from services.reports.scope import resolve_scope
    from store.db import open_database

    if name not in NAMES:  # before opening the database: the mistake is the name
        raise ReportCommandError(f"no report {name!r} (reports: {', '.join(NAMES)})")
    async with open_database(settings.database_url):
        scope = await resolve_scope(period, cycle, zone=settings.zone)
        return await run_report(name, scope)


def _heading(name: str, report: Report) -> str:
    scope = report.scope
    cycle = f", cycle {scope.cycle_code}" if scope.cycle_code else ", all cycles"
    return f"{name} for {scope.month}{cycle}"


def _text(value: Cell, kind: Kind) -> str:
    if kind in PLACES and isinstance(value, int | Decimal):
        return figure(value, PLACES[kind])
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def to_text(name: str, report: Report) -> str:
    out = [_heading(name, report)]
    for table in report.tables():
        out += ["", table.title]
        if not table.rows:
            out.append("  (nothing)")
            continue
        cells = [
            [_text(v, c.kind) for v, c in zip(row, table.columns, strict=True)]
            for row in table.rows
        ]
        widths = [
            max(len(c.name), *(len(r[i]) for r in cells)) for i, c in enumerate(table.columns)
        ]

        def line(values: list[str], table: Table = table, widths: list[int] = widths) -> str:
            parts = [
                v.rjust(w) if c.kind in NUMERIC else v.ljust(w)
                for v, w, c in zip(values, widths, table.columns, strict=True)
            ]
            return "  " + "  ".join(parts).rstrip()

        out.append(line([c.name for c in table.columns]))
        out += [line(r) for r in cells]
    return "\n".join(out) + "\n"


def _plain(value: Cell) -> Any:
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
                "rows": [[_plain(v) for v in row] for row in t.rows],
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
        writer.writerows([table.name, *(_plain(v) for v in row)] for row in table.rows)
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
