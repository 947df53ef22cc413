"""``gridbill backup --to DIR`` and ``gridbill restore --from DIR``.

    gridbill backup --to /srv/backups/gridbill-2026-03-11     # while the server runs
    gridbill restore --from /srv/backups/gridbill-2026-03-11  # server stopped, empty database

What is in a backup and how restore checks it: services/operations/backup.py; the procedures
(schedule, off-site copies, testing restores, PostgreSQL point-in-time recovery):
docs/operations.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from cli.commands import help_for
from gridbill.settings import Settings


def add_parser(subparsers: Any) -> None:
    """Add ``backup`` and ``restore`` to the ``gridbill`` command's subparsers."""
    p = subparsers.add_parser(
        "backup",
        help=help_for("backup"),
        description="Copy the database (SQLite online backup, or pg_dump) and every file "
        "under GRIDBILL_VAR_DIR (bill PDFs, photos, the development secret key) into DIR, "
        "with manifest.json listing row counts, the ledger sum and SHA-256 checksums.",
    )
    p.add_argument("--to", required=True, type=Path, metavar="DIR", help="a new or empty directory")
    p.set_defaults(handler=cmd_backup)
    p = subparsers.add_parser(
        "restore",
        help=help_for("restore"),
        description="Check every checksum in DIR/manifest.json, restore the database into "
        "the empty database DATABASE_URL names and the files into GRIDBILL_VAR_DIR, then "
        "compare row counts and the ledger sum with the manifest.",
    )
    p.add_argument("--from", dest="source", required=True, type=Path, metavar="DIR")
    p.set_defaults(handler=cmd_restore)


def cmd_backup(settings: Settings, args: argparse.Namespace) -> int:
    from domain.indian_format import ASCII_RUPEE, count, rupees
    from services.operations.backup import backup

    done = backup(settings, args.to)
    rows = sum(done.snapshot.tables.values())
    print(
        f"backed up the {done.engine} database ({len(done.snapshot.tables)} tables, {count(rows)} rows, "
        f"ledger {rupees(done.snapshot.ledger_sum_paise, symbol=ASCII_RUPEE)}, migration {done.snapshot.migration}) "
        f"and {count(done.files)} files to {done.directory} ({done.bytes / 1e6:,.1f} MB)"
    )
    return 0


def cmd_restore(settings: Settings, args: argparse.Namespace) -> int:
    from domain.indian_format import ASCII_RUPEE, count, rupees
    from services.operations.backup import restore

    done = restore(settings, args.source)
    rows = sum(done.snapshot.tables.values())
    print(
        f"restored the {done.engine} database ({len(done.snapshot.tables)} tables, {count(rows)} rows, "
        f"ledger {rupees(done.snapshot.ledger_sum_paise, symbol=ASCII_RUPEE)}: as in the manifest) and "
        f"{count(done.files)} files into {settings.var_dir}; checksums verified"
    )
    return 0
