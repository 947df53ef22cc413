"""``gridbill customer export|erase``: a customer's personal data on request (DPDP Act 2023).

    gridbill customer export BP10000019 --to bp10000019.json
    gridbill customer erase BP10000019 --reason "request DP-2026-014"

What is exported, what is erased and what must be kept: services/accounts/personal_data.py and
docs/operations.md, "Personal data".
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from cli.commands import help_for
from gridbill.errors import UserError
from gridbill.settings import Settings


def add_parser(subparsers: Any) -> None:
    """Add ``customer export`` and ``customer erase`` to the ``gridbill`` command."""
    p = subparsers.add_parser("customer", help=help_for("customer"))
    sub = p.add_subparsers(dest="customer_command", required=True, metavar="ACTION")
    export = sub.add_parser("export", help="write everything held about a customer as JSON")
    export.add_argument("number", metavar="CUSTOMER", help="customer number, e.g. BP10000019")
    export.add_argument("--to", type=Path, metavar="FILE", help="write here (default: stdout)")
    export.set_defaults(handler=cmd_export)
    erase = sub.add_parser(
        "erase",
        help="erase a former customer's personal data, keeping bills, payments and the ledger",
    )
    erase.add_argument("number", metavar="CUSTOMER")
    erase.add_argument("--reason", required=True, help="the request's reference, for the audit log")
    erase.set_defaults(handler=cmd_erase)


async def _with_db(settings: Settings, work: Any) -> Any:
    from store.db import open_database

    async with open_database(settings.database_url):
        return await work()


def cmd_export(settings: Settings, args: argparse.Namespace) -> int:
    from services.accounts.personal_data import export_customer

    data = asyncio.run(_with_db(settings, lambda: export_customer(args.number)))
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if args.to is None:
        sys.stdout.write(text)
        return 0
    try:
        args.to.write_text(text, encoding="utf-8")
        args.to.chmod(0o600)
    except OSError as exc:
        raise UserError(f"cannot write {args.to} ({exc.strerror})") from None
    print(f"exported customer {data['customer']['number']} to {args.to}", file=sys.stderr)
    return 0


def cmd_erase(settings: Settings, args: argparse.Namespace) -> int:
    from services.accounts.personal_data import erase_customer

    counts = asyncio.run(
        _with_db(settings, lambda: erase_customer(args.number, reason=args.reason))
    )
    details = ", ".join(f"{name.replace('_', ' ')} {n}" for name, n in counts.items())
    print(
        f"erased the personal data of customer {args.number.strip()} ({details}); "
        "bills, payments and the ledger are kept"
    )
    return 0
