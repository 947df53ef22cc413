"""``gridbill bill-run``: bill a cycle for a month, then (after review) issue the drafts.

    gridbill bill-run --cycle CYC-02 --period 2026-03            # draft every account's bill
    gridbill bill-run --cycle CYC-02 --period 2026-03 --issue    # issue the reviewed drafts

The run shows a progress bar and ends with a summary: bills, estimated, skipped with
their reasons, and the total billed. Running it again (or after the process was killed)
resumes and never bills an account twice. ``--issue`` numbers the drafts, posts them to
the ledger and renders their PDFs (in this process on SQLite, by the workers on
PostgreSQL). See docs/billing.md.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import date
from typing import Any

from tqdm import tqdm

from cli.commands import help_for
from cli.dates import day_option
from gridbill.errors import UserError
from gridbill.settings import Settings


class BillRunCommandError(UserError):
    """Bad options given to ``gridbill bill-run``."""


def add_parser(subparsers: Any) -> None:
    """Add ``bill-run`` to the ``gridbill`` command's subparsers."""
    p = subparsers.add_parser(
        "bill-run",
        help=help_for("bill-run"),
        description="Draft one bill per eligible account of a billing cycle for a month, "
        "or with --issue issue the reviewed drafts. See docs/billing.md.",
    )
    p.add_argument("--cycle", required=True, metavar="CODE", help="billing cycle code")
    p.add_argument("--period", required=True, metavar="YYYY-MM", help="billing month")
    p.add_argument("--issue", action="store_true", help="issue the run's reviewed drafts")
    p.add_argument(
        "--resume",
        action="store_true",
        help="take over a run that is marked running because its process died",
    )
    p.add_argument(
        "--issue-date", metavar="DATE", help="bill date of issued bills (default: today)"
    )
    p.add_argument("--no-pdf", action="store_true", help="with --issue: do not render PDFs")
    p.add_argument(
        "--chunk-size", type=int, default=500, metavar="N", help="accounts a transaction"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(handler=cmd_bill_run)


def cmd_bill_run(settings: Settings, args: argparse.Namespace) -> int:
    if args.chunk_size < 1:
        raise BillRunCommandError("--chunk-size must be at least 1")
    if args.issue:
        day = day_option(args.issue_date, "--issue-date", settings)
        return asyncio.run(_issue(settings, args, day))
    return asyncio.run(_run(settings, args))


async def _run(settings: Settings, args: argparse.Namespace) -> int:
    from cli.actor import cli_actor
    from domain.indian_format import ASCII_RUPEE, count, rupees
    from services.billing.runs import execute_run, start_run
    from store.db import open_database

    async with open_database(settings.database_url):
        run, cycle, month = await start_run(
            cli_actor(), cycle_code=args.cycle, period=args.period, take_over=args.resume
        )
        bar = tqdm(unit="accounts", desc="bill run", disable=args.no_progress, file=sys.stderr)

        def total(n: int) -> None:
            bar.total = n
            bar.refresh()

        try:
            summary = await execute_run(
                run, cycle, month, zone=settings.zone, chunk_size=args.chunk_size,
                progress=bar.update, on_total=total,
            )  # fmt: skip
        finally:
            bar.close()
    resumed = f", resumed after account #{summary.resumed_from}" if summary.resumed_from else ""
    print(
        f"Bill run #{summary.run_id} of cycle {summary.cycle} for {summary.period}: "
        f"{summary.status} in {summary.elapsed_s:.1f} s{resumed}"
    )
    print(f"  accounts      {count(summary.accounts)}")
    print(f"  bills         {count(summary.bills)} ({count(summary.estimated)} estimated)")
    print(f"  skipped       {count(summary.skipped_total)}")
    for reason, n in sorted(summary.skipped.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"    {count(n):>8}  {reason}")
    print(f"  total billed  {rupees(summary.total_billed_paise, symbol=ASCII_RUPEE)}")
    if summary.bills:
        print(
            f"Review the drafts, then issue them: gridbill bill-run --cycle {summary.cycle} "
            f"--period {summary.period} --issue"
        )
    return 0


async def _issue(settings: Settings, args: argparse.Namespace, day: date) -> int:
    from cli.actor import cli_actor
    from domain.indian_format import ASCII_RUPEE, count, rupees
    from jobs.billing import defer_bill_pdfs
    from jobs.runtime import background_jobs
    from services.billing.documents import render_bills
    from services.billing.issue import issue_run
    from store.db import open_database

    async with open_database(settings.database_url):
        bar = tqdm(unit="bills", desc="issue", disable=args.no_progress, file=sys.stderr)

        def total(n: int) -> None:
            bar.total = n
            bar.refresh()

        try:
            result = await issue_run(
                cli_actor(), cycle_code=args.cycle, period=args.period, issue_date=day,
                utility_name=settings.utility_name, payee_vpa=settings.upi_vpa,
                letterhead=settings.letterhead,
                chunk_size=args.chunk_size, progress=bar.update, on_total=total,
            )  # fmt: skip
        finally:
            bar.close()
        print(
            f"Issued {count(len(result.issued))} bills of cycle {args.cycle} for {args.period} "
            f"dated {day}: {rupees(result.payable_paise, symbol=ASCII_RUPEE)} payable"
        )
        if result.numbers:
            print(f"  numbers  {result.numbers[0]} to {result.numbers[-1]}")
        if args.no_pdf or not result.issued:
            return 0
        if settings.is_postgres:
            async with background_jobs(settings):
                await defer_bill_pdfs(result.issued)
            print("  PDFs     queued for the workers (gridbill worker)")
        else:
            bar = tqdm(
                total=len(result.issued),
                unit="PDFs",
                desc="PDFs",
                disable=args.no_progress,
                file=sys.stderr,
            )
            try:
                for bill_id in result.issued:
                    await render_bills([bill_id], settings)
                    bar.update(1)
            finally:
                bar.close()
            print(f"  PDFs     {count(len(result.issued))} in {settings.var_dir / 'bills'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m cli.bill_run --cycle … --period …``: the command on its own."""
    from gridbill.settings import get_settings

    parser = argparse.ArgumentParser(prog="gridbill")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["bill-run", *(sys.argv[1:] if argv is None else argv)])
    try:
        result: int = args.handler(get_settings(), args)
    except UserError as exc:
        print(f"gridbill: error: {exc}", file=sys.stderr)
        return 1
    return result


if __name__ == "__main__":
    sys.exit(main())
