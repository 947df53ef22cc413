"""``gridbill reconcile --date D``: compare a day's online payments with Razorpay's records.

Repairs what is safe (a captured payment whose webhook was lost) unless ``--no-repair``,
and lists everything else. Exits 0 when nothing needs a person, 2 when something does.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from dataclasses import asdict
from datetime import UTC, date, datetime
from typing import Any

from cli.commands import help_for
from cli.dates import day_option
from gridbill.settings import Settings

NEEDS_ATTENTION = 2


def add_parser(subparsers: Any) -> None:
    """Add ``reconcile`` to the ``gridbill`` command's subparsers."""
    p = subparsers.add_parser(
        "reconcile",
        help=help_for("reconcile"),
        description="List orders never paid, payments captured at Razorpay but missing here, "
        "amounts that differ and duplicates; apply captured payments whose webhook was lost.",
    )
    p.add_argument("--date", metavar="DATE", help="the day, YYYY-MM-DD (default: yesterday)")
    p.add_argument("--no-repair", action="store_true", help="only report, change nothing")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(handler=cmd_reconcile)


def cmd_reconcile(settings: Settings, args: argparse.Namespace) -> int:
    day = day_option(args.date, "--date", settings, default=_yesterday(settings))
    report = asyncio.run(_run(settings, day, repair=not args.no_repair))
    sections = {
        "repaired": report.repaired,
        "captured at the gateway, missing here": report.missing_here,
        "amounts that differ": report.amount_mismatches,
        "duplicates": report.duplicates,
        "captured here, not at the gateway": report.not_captured_at_gateway,
        "orders created but never paid": report.unpaid_orders,
    }
    if args.format == "json":
        print(
            json.dumps(
                {
                    "date": day.isoformat(),
                    "orders_checked": report.orders_checked,
                    "gateway_payments_checked": report.gateway_payments_checked,
                    **{name: [asdict(f) for f in found] for name, found in sections.items()},
                },
                indent=2,
            )
        )
    else:
        orders, paid = report.orders_checked, report.gateway_payments_checked
        print(
            f"reconciliation of {day}: {orders} order{'' if orders == 1 else 's'}, "
            f"{paid} gateway payment{'' if paid == 1 else 's'}"
        )
        for name, found in sections.items():
            print(f"\n{name}: {len(found)}")
            for f in found:
                amounts = f"ours {_paise(f.ours_paise)} gateway {_paise(f.gateway_paise)}"
                print(
                    f"  {f.reference or '-'} {f.order_id or '-'} {f.payment_id or '-'} {amounts} {f.note}"
                )
    return NEEDS_ATTENTION if report.needs_attention else 0


def _paise(amount: int | None) -> str:
    """An amount as the report lines show it: paise, or ``-`` where that side has none."""
    return "-" if amount is None else str(amount)


async def _run(settings: Settings, day: date, *, repair: bool) -> Any:
    from services.payments.reconcile import reconcile
    from store.db import open_database

    async with open_database(settings.database_url):
        return await reconcile(settings, day=day, repair=repair)


def _yesterday(settings: Settings) -> date:
    """The default day to reconcile: the last whole day in the utility's zone."""
    today = datetime.now(UTC).astimezone(settings.zone).date()
    return date.fromordinal(today.toordinal() - 1)
