"""Where each ``gridbill`` subcommand lives, and its one line of help.

``gridbill --help`` lists every command from this table without importing any of them,
and ``gridbill NAME …`` imports NAME's module only: a command imports its services and,
through them, the ORM and the models, which is most of a second, so start-up pays for the
one command that runs. This module imports nothing of ours.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    module: str  # its ``add_parser(subparsers)`` adds the command (``backup`` adds two)
    help: str


COMMANDS: dict[str, Command] = {
    "quote": Command("cli.quote", "price one bill from a tariff file and usage"),
    "tariff": Command("cli.tariff", "store tariff versions and assign accounts to them"),
    "gateway": Command("cli.gateway", "run the sandbox Razorpay gateway (demo and tests only)"),
    "reconcile": Command("cli.reconcile", "reconcile a day's online payments with Razorpay"),
    "device": Command("cli.device", "enrol, revoke and list field devices (sync)"),
    "import-readings": Command(
        "cli.import_readings",
        "ingest meter readings (interval and register) from an NDJSON or CSV file",
    ),
    "bill-run": Command(
        "cli.bill_run", "bill a cycle for a month (drafts), or issue its reviewed drafts"
    ),
    "calendar": Command(
        "cli.calendar", "a cycle's read and bill dates, and drafting the runs they make due"
    ),
    "deposit": Command(
        "cli.deposit", "security deposits: show one, run the yearly review or the interest"
    ),
    "totp": Command("cli.totp", "enrol or reset a staff second factor (TOTP)"),
    "mailcatcher": Command(
        "cli.mailcatcher",
        "catch gridbill's mails on loopback and save them as .eml files (demo only)",
    ),
    "dunning": Command(
        "cli.dunning",
        "take the day's dunning steps, or report accounts eligible for disconnection",
    ),
    "backup": Command(
        "cli.backup",
        "back up the database and files into a new directory, with a checksummed manifest",
    ),
    "restore": Command(
        "cli.backup", "restore a backup into an empty database and GRIDBILL_VAR_DIR"
    ),
    "db": Command("cli.db", "database moves (copy SQLite to PostgreSQL)"),
    "customer": Command("cli.customer", "a customer's personal data: export or erase"),
    "report": Command(
        "cli.report", "print a staff report (billing summary, collections, ageing, …)"
    ),
}


def help_for(name: str) -> str:
    return COMMANDS[name].help
