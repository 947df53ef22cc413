"""``gridbill tariff``: enter a regulator's tariff order and put accounts on it.

``import`` validates a document with the tariff engine before storing it as the next
version (docs/tariffs.md explains the format), so an analyst can enter a new order
without touching code; ``assign`` moves an account to a tariff from a date; ``list``
shows every version with its dates.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from cli.actor import cli_actor
from cli.commands import help_for
from cli.dates import day_option
from domain import strict_json
from gridbill.errors import UserError
from gridbill.settings import Settings
from services.billing.tariffs import add_version, assign
from store.db import open_database
from store.models import TariffVersion


def add_parser(subparsers: Any) -> None:
    """Add ``tariff`` and its subcommands to the ``gridbill`` command."""
    p = subparsers.add_parser("tariff", help=help_for("tariff"))
    sub = p.add_subparsers(dest="tariff_command", required=True, metavar="ACTION")

    imp = sub.add_parser("import", help="validate a tariff document and store it as a new version")
    imp.add_argument("file", type=Path, help="tariff document (JSON, docs/tariffs.md)")
    imp.add_argument("--effective-from", required=True, metavar="DATE", help="first day it applies")
    imp.add_argument("--category", default="general", help="account category it is for")
    imp.add_argument(
        "--source", default="", help="the order it comes from (default: the document's source)"
    )
    imp.set_defaults(handler=cmd_import)

    asg = sub.add_parser("assign", help="put an account on a tariff from a date")
    asg.add_argument("--account", required=True, metavar="NUMBER")
    asg.add_argument("--tariff", required=True, metavar="CODE")
    asg.add_argument("--from", dest="effective_from", required=True, metavar="DATE")
    asg.set_defaults(handler=cmd_assign)

    lst = sub.add_parser("list", help="list tariff versions")
    lst.set_defaults(handler=cmd_list)


def _read_document(path: Path) -> dict[str, Any]:
    try:
        document = strict_json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise UserError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise UserError(f"{path}: a tariff document is a JSON object")
    return document


def cmd_import(settings: Settings, args: argparse.Namespace) -> int:
    document = _read_document(args.file)
    effective_from = day_option(args.effective_from, "--effective-from", settings)

    async def run() -> None:
        async with open_database(settings.database_url):
            stored = await add_version(
                cli_actor(),
                document=document,
                effective_from=effective_from,
                category=args.category,
                source_reference=args.source,
            )
        closed = f", closing version {stored.closed_previous}" if stored.closed_previous else ""
        print(
            f"stored {stored.code} version {stored.version} from {stored.effective_from}"
            f"{closed} (sha256 {stored.sha256[:12]})"
        )

    asyncio.run(run())
    return 0


def cmd_assign(settings: Settings, args: argparse.Namespace) -> int:
    effective_from = day_option(args.effective_from, "--from", settings)

    async def run() -> None:
        async with open_database(settings.database_url):
            await assign(
                cli_actor(),
                account_number=args.account,
                tariff_code=args.tariff,
                effective_from=effective_from,
            )

    asyncio.run(run())
    print(f"account {args.account} is on {args.tariff} from {effective_from}")
    return 0


def cmd_list(settings: Settings, args: argparse.Namespace) -> int:
    async def run() -> list[TariffVersion]:
        async with open_database(settings.database_url):
            return (
                await TariffVersion.all()
                .select_related("tariff")
                .order_by("tariff__code", "version")
            )

    for version in asyncio.run(run()):
        until = version.effective_to.isoformat() if version.effective_to else "open"
        print(
            f"{version.tariff.code:<12} v{version.version:<3} {version.effective_from} → {until:<10} "
            f"{version.tariff.name}"
        )
    return 0
