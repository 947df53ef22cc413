"""``gridbill calendar``: a cycle's read and bill dates, and the runs they make due.

    gridbill calendar show --cycle CYC-02                    # last month to three ahead
    gridbill calendar set --cycle CYC-02 --period 2026-11 --read 2026-11-06 --bill 2026-11-09 \\
        --reason "Diwali"
    gridbill calendar draft-due [--date 2026-11-09]          # what the daily task does

See docs/billing.md, "The billing calendar".
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from cli.commands import help_for
from cli.dates import day_option
from gridbill.settings import Settings


def add_parser(subparsers: Any) -> None:
    """Add ``calendar`` and its actions to the ``gridbill`` command."""
    p = subparsers.add_parser("calendar", help=help_for("calendar"))
    sub = p.add_subparsers(dest="calendar_command", required=True, metavar="ACTION")
    show = sub.add_parser("show", help="a cycle's read and bill dates, month by month")
    show.add_argument("--cycle", required=True, metavar="CODE")
    show.add_argument("--around", metavar="DATE", help="centre on this day (default: today)")
    show.set_defaults(handler=cmd_show)
    put = sub.add_parser("set", help="set one month's read and bill dates (before its run)")
    put.add_argument("--cycle", required=True, metavar="CODE")
    put.add_argument("--period", required=True, metavar="YYYY-MM", help="billing month")
    put.add_argument("--read", required=True, metavar="DATE", help="read date, in the month")
    put.add_argument("--bill", required=True, metavar="DATE", help="bill date, on or after it")
    put.add_argument("--reason", required=True, help="why (kept in the audit log)")
    put.set_defaults(handler=cmd_set)
    due = sub.add_parser("draft-due", help="draft the runs due today, as the daily task does")
    due.add_argument("--date", metavar="DATE", help="as if today were DATE")
    due.set_defaults(handler=cmd_draft_due)


def cmd_show(settings: Settings, args: argparse.Namespace) -> int:
    from services.billing.calendar import calendar
    from store.db import open_database

    around = day_option(args.around, "--around", settings)

    async def work() -> int:
        async with open_database(settings.database_url):
            rows = await calendar(args.cycle, around)
        print(f"Cycle {args.cycle.strip()}: month, read date, bill date")
        for row in rows:
            note = "" if row.usual else "  (set by staff)"
            print(f"  {row.month:%Y-%m}  read {row.read_date}  bill {row.bill_date}{note}")
        return 0

    return asyncio.run(work())


def cmd_set(settings: Settings, args: argparse.Namespace) -> int:
    from cli.actor import cli_actor
    from services.billing.calendar import set_dates
    from store.db import open_database

    read, bill = (
        day_option(args.read, "--read", settings),
        day_option(args.bill, "--bill", settings),
    )

    async def work() -> int:
        async with open_database(settings.database_url):
            row = await set_dates(
                cli_actor(), cycle_code=args.cycle, period=args.period, read_date=read,
                bill_date=bill, reason=args.reason,
            )  # fmt: skip
        print(
            f"Cycle {args.cycle.strip()} {row.month:%Y-%m}: read {row.read_date}, bill {row.bill_date}"
        )
        return 0

    return asyncio.run(work())


def cmd_draft_due(settings: Settings, args: argparse.Namespace) -> int:
    from cli.actor import cli_actor
    from services.billing.runs import draft_due_runs
    from store.db import open_database

    today = day_option(args.date, "--date", settings)

    async def work() -> int:
        async with open_database(settings.database_url):
            summaries = await draft_due_runs(cli_actor(), today, settings.zone)
        if not summaries:
            print(f"No bill run is due on {today}.")
        for s in summaries:
            print(
                f"Drafted bill run #{s.run_id} of cycle {s.cycle} for {s.period}: {s.bills:,} bills"
            )
        return 0

    return asyncio.run(work())
