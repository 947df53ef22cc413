"""``gridbill dunning``: take the day's dunning steps, or list accounts due for disconnection.

``gridbill dunning run [--on DATE]`` does what the daily ``dunning`` task does (for a
catch-up or a cron-driven deployment). ``gridbill dunning eligible [--on DATE]`` is the
staff report: accounts whose disconnection notice was served, whose clear days have
passed, that still owe money and hold no open billing dispute.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import sys
from dataclasses import asdict
from datetime import date
from typing import Any

from cli.commands import help_for
from cli.dates import day_option
from gridbill.settings import Settings


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "dunning",
        help=help_for("dunning"),
        description="Reminders, overdue and disconnection notices per GRIDBILL_DUNNING_SCHEDULE; "
        "see docs/notifications.md.",
    )
    p.add_argument("action", choices=("run", "eligible"))
    p.add_argument("--on", metavar="DATE", help="the day, YYYY-MM-DD (default: today, local)")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.set_defaults(handler=cmd_dunning)


def cmd_dunning(settings: Settings, args: argparse.Namespace) -> int:
    day = day_option(args.on, "--on", settings)
    result = asyncio.run(_run(settings, args.action, day))
    if args.action == "run":
        print(json.dumps(result) if args.format == "json" else _summary(day, result))
        return 0
    rows = [asdict(e) for e in result]
    if args.format == "json":
        print(json.dumps(rows, default=str, indent=2))
    elif args.format == "csv":
        fields = [
            "account_number",
            "bill_number",
            "outstanding_paise",
            "notice_served_on",
            "disconnect_from",
        ]
        writer = csv.DictWriter(sys.stdout, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    else:
        print(f"{len(rows)} account(s) eligible for disconnection on {day}")
        for row in rows:
            print(
                f"  {row['account_number']:<16} bill {row['bill_number']:<20} "
                f"owes {row['outstanding_paise']:>10} paise, notice {row['notice_served_on']}, "
                f"from {row['disconnect_from']}"
            )
    return 0


def _summary(day: date, counts: dict[str, int]) -> str:
    taken = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
    return f"dunning for {day}: {taken}"


async def _run(settings: Settings, action: str, day: date) -> Any:
    from services.payments.dunning import eligible_for_disconnection, run_dunning
    from store.db import open_database

    async with open_database(settings.database_url):
        if action == "run":
            return await run_dunning(settings, today=day)
        return await eligible_for_disconnection(settings, today=day)
