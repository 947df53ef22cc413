"""``gridbill db copy --to URL``: move the embedded SQLite database onto PostgreSQL.

    systemctl stop gridbill                       # nothing may write during the copy
    gridbill db copy --to postgres://gridbill:…@db:5432/gridbill
    export DATABASE_URL=postgres://gridbill:…@db:5432/gridbill   # and start again

The target is migrated first (as ``gridbill migrate`` would), then every row is copied
in one transaction and checked (services/operations/db_copy.py; docs/operations.md).
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import replace
from typing import Any

from cli.commands import help_for
from gridbill.settings import Settings, validate_database_url
from store.db import _describe


def add_parser(subparsers: Any) -> None:
    """Add ``db copy`` to the ``gridbill`` command's subparsers."""
    p = subparsers.add_parser("db", help=help_for("db"))
    sub = p.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    copy = sub.add_parser(
        "copy",
        help="copy every row of the SQLite database into a new PostgreSQL database",
        description="Migrate the empty PostgreSQL database --to names, copy every row of "
        "DATABASE_URL (SQLite) into it in one transaction, reset its id sequences and "
        "compare row counts and the ledger sum. Stop the server first.",
    )
    copy.add_argument(
        "--to", required=True, metavar="URL", help="postgres://USER:PASSWORD@HOST:PORT/DB"
    )
    copy.set_defaults(handler=cmd_db_copy)


def cmd_db_copy(settings: Settings, args: argparse.Namespace) -> int:
    from domain.indian_format import ASCII_RUPEE, count, rupees
    from jobs.procrastinate_app import ensure_schema
    from services.operations.db_copy import CopyError, copy_database
    from store.db import migrate

    target = validate_database_url(args.to)
    if settings.is_postgres:
        raise CopyError("DATABASE_URL must be the sqlite://PATH database to copy from")
    asyncio.run(migrate(target))  # our tables, constraints and triggers, as `gridbill migrate`
    asyncio.run(ensure_schema(replace(settings, database_url=target)))  # the job queue's
    copied = copy_database(settings.database_url, target)
    print(
        f"copied {count(copied.rows)} rows of {copied.tables} tables (ledger "
        f"{rupees(copied.ledger_sum_paise, symbol=ASCII_RUPEE)}, migration {copied.migration}) "
        f"to {_describe(target)}; counts and ledger sum verified. "
        "Set DATABASE_URL to it and start the server."
    )
    return 0
