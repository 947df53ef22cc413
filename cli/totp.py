"""``gridbill totp``: an operator enrols or resets a staff member's or admin's second factor.

``enrol EMAIL`` creates a new TOTP key, switches it on at once and prints it (and its
``otpauth://`` URI) for the person's authenticator app: the way an admin gets a factor
when production requires one before they can sign in. ``reset EMAIL`` removes the
factor (a lost phone); both are audited. Signed-in staff can also enrol themselves
(``startTotpEnrolment`` and ``confirmTotpEnrolment`` in GraphQL).
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from cli.commands import help_for
from gridbill.settings import Settings
from store.db import open_database


def add_parser(subparsers: Any) -> None:
    """Add ``totp`` and its subcommands to the ``gridbill`` command."""
    p = subparsers.add_parser("totp", help=help_for("totp"))
    sub = p.add_subparsers(dest="totp_command", required=True, metavar="ACTION")
    enrol = sub.add_parser("enrol", help="new TOTP key for a staff member or admin, on at once")
    enrol.add_argument("email", metavar="EMAIL")
    enrol.set_defaults(handler=cmd_enrol)
    reset = sub.add_parser("reset", help="remove a person's second factor (a lost phone)")
    reset.add_argument("email", metavar="EMAIL")
    reset.set_defaults(handler=cmd_reset)


def _run(settings: Settings, work: Any) -> Any:
    async def run() -> Any:
        async with open_database(settings.database_url):
            return await work()

    return asyncio.run(run())


def cmd_enrol(settings: Settings, args: argparse.Namespace) -> int:
    from services.identity.second_factor import enrol_by_operator

    secret, uri = _run(settings, lambda: enrol_by_operator(args.email))
    print(f"second factor on for {args.email.strip().lower()}")
    print(f"key: {secret}")
    print(f"uri: {uri}")
    print(
        "add the key (or the URI as a QR code) to an authenticator app now: it is not shown again"
    )
    return 0


def cmd_reset(settings: Settings, args: argparse.Namespace) -> int:
    from services.identity.second_factor import reset_by_operator

    _run(settings, lambda: reset_by_operator(args.email))
    print(f"second factor removed for {args.email.strip().lower()}")
    return 0
