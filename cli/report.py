"""``gridbill report NAME [--period YYYY-MM] [--cycle C] [--format …]``: the staff reports.

The same report services as the GraphQL ``report`` query (``services.reports``), printed
as a table with Indian digit grouping (12,34,567.50), CSV, JSON (exact cells: money as
decimal strings) or an Excel workbook (one sheet per table). docs/reports.md defines
every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from cli.commands import help_for
from gridbill.errors import UserError
from gridbill.settings import Settings
from services.reports.catalog import NAMES, Report
from services.reports.export import to_csv, to_json, to_xlsx
from services.reports.table import PLACES, Table, shown

NUMERIC = frozenset(PLACES)


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


def to_text(name: str, report: Report) -> str:
    out = [_heading(name, report)]
    for table in report.tables():
        out += ["", table.title]
        if not table.rows:
            out.append("  (nothing)")
            continue
        cells = [
            [shown(v, c.kind) for v, c in zip(row, table.columns, strict=True)]
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
