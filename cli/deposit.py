"""``gridbill deposit``: an account's security deposit, its yearly review and interest.

    gridbill deposit show --account AC-000123
    gridbill deposit review --year 2025-26 [--account AC-000123] [--date 2026-04-02]
    gridbill deposit review --year 2025-26 --account AC-000123 --approve|--reject [--reason R]
    gridbill deposit interest --year 2025-26 [--account AC-000123] [--date 2026-04-02]

``review`` and ``interest`` do, for the year named, what the yearly task
``deposit_year_end`` does (both, each once per account and year); a review proposes a
top-up or refund, which ``review --approve`` or ``--reject`` decides. The interest rate is
``GRIDBILL_DEPOSIT_INTEREST_PERCENT``. See docs/billing.md, "Security deposits".
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from cli.commands import help_for
from cli.dates import day_option
from domain.deposit import FinancialYear
from domain.indian_format import ASCII_RUPEE
from domain.indian_format import rupees as shown
from gridbill.errors import UserError
from gridbill.settings import Settings


class DepositCommandError(UserError):
    """Bad options given to ``gridbill deposit``."""


def add_parser(subparsers: Any) -> None:
    """Add ``deposit`` and its actions to the ``gridbill`` command."""
    p = subparsers.add_parser("deposit", help=help_for("deposit"))
    sub = p.add_subparsers(dest="deposit_command", required=True, metavar="ACTION")
    show = sub.add_parser("show", help="what an account holds, owes and has earned")
    show.add_argument("--account", required=True, metavar="NUMBER")
    show.add_argument("--date", metavar="DATE", help="as if today were DATE")
    show.set_defaults(handler=cmd_show)
    for name, what, handler in (
        ("review", "size each deposit on the year's bills: top-up or refund", cmd_review),
        ("interest", "credit the year's interest on each deposit", cmd_interest),
    ):
        action = sub.add_parser(name, help=what)
        action.add_argument("--year", required=True, metavar="YYYY-YY", help="e.g. 2025-26")
        action.add_argument("--account", metavar="NUMBER", help="one account (default: all)")
        action.add_argument("--date", metavar="DATE", help="posting date (default: today)")
        action.set_defaults(handler=handler)
        if name == "review":
            decision = action.add_mutually_exclusive_group()
            decision.add_argument(
                "--approve", action="store_true", help="post the account's proposed change"
            )
            decision.add_argument("--reject", action="store_true", help="keep the deposit as it is")
            action.add_argument("--reason", default="", help="recorded in the audit log")


def money(paise: int) -> str:
    """Rupees as a terminal shows them anywhere: ``Rs 2,000.00``."""
    return shown(paise, symbol=ASCII_RUPEE)


def _year(text: str) -> FinancialYear:
    try:
        return FinancialYear.parse(text)
    except ValueError as exc:
        raise DepositCommandError(f"--year: {exc}") from None


def cmd_show(settings: Settings, args: argparse.Namespace) -> int:
    from services.accounts.deposits import show
    from store.db import open_database

    today = day_option(args.date, "--date", settings)

    async def work() -> int:
        async with open_database(settings.database_url):
            state = await show(args.account, today, settings.deposit_interest_percent)
        print(f"Account {state.account_number}: security deposit")
        print(f"  held      {money(state.held_paise)}")
        print(f"  required  {money(state.required_paise)} (two months' average billing)")
        print(
            f"  interest  {money(state.accrued_interest_paise)} accrued this year at "
            f"{state.interest_percent}% (credited after 31 March)"
        )
        for m in state.movements:
            print(f"  {m.effective_on}  {m.kind:<9} {money(m.amount_paise):>14}  {m.description}")
        for pending in state.pending:
            what = "top-up" if pending.kind == "top_up" else "refund"
            print(f"  {pending.year}  {what} {money(pending.amount_paise)} proposed, pending")
        return 0

    return asyncio.run(work())


def _year_end(settings: Settings, args: argparse.Namespace, *, review: bool) -> int:
    from cli.actor import cli_actor
    from services.accounts.deposits import year_end
    from store.db import open_database

    year, today = _year(args.year), day_option(args.date, "--date", settings)

    async def work() -> int:
        async with open_database(settings.database_url):
            outcomes = await year_end(
                cli_actor(), year, today, settings.deposit_interest_percent,
                account_number=args.account, review=review, interest=not review,
            )  # fmt: skip
        done = [o for o in outcomes if not o.already]
        for o in done:
            if review:
                change = (
                    f"top-up {money(o.top_up_paise)} proposed" if o.top_up_paise
                    else f"refund {money(o.refund_paise)} proposed" if o.refund_paise
                    else "no change"
                )  # fmt: skip
                print(f"{o.account_number}: holds {money(o.held_paise)}, {change}")
            elif o.interest_paise:
                print(f"{o.account_number}: interest {money(o.interest_paise)} credited")
        what = "reviewed" if review else "interest credited"
        print(
            f"{year.label}: {len(done)} account(s) {what}; {len(outcomes) - len(done)} already done"
        )
        return 0

    return asyncio.run(work())


def cmd_review(settings: Settings, args: argparse.Namespace) -> int:
    if args.approve or args.reject:
        return _decide(settings, args)
    return _year_end(settings, args, review=True)


def _decide(settings: Settings, args: argparse.Namespace) -> int:
    from cli.actor import cli_actor
    from services.accounts.deposits import decide
    from store.db import open_database

    if not args.account:
        raise DepositCommandError("--approve and --reject decide one account: give --account")
    year, today = _year(args.year), day_option(args.date, "--date", settings)

    async def work() -> int:
        async with open_database(settings.database_url):
            made = await decide(
                cli_actor(), args.account, year, approve=args.approve, on=today,
                reason=args.reason,
            )  # fmt: skip
        what = "top-up" if made.kind == "top_up" else "refund"
        state = f"already {made.status}" if made.already else made.status
        print(f"{made.account_number}: {what} {money(made.amount_paise)} for {made.year} {state}")
        return 0

    return asyncio.run(work())


def cmd_interest(settings: Settings, args: argparse.Namespace) -> int:
    return _year_end(settings, args, review=False)
