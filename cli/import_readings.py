"""``gridbill import-readings FILE``: load a head-end export or a file of reads from disk.

The same pipeline as ``POST /ingest/readings`` (``services.meter_data.ingest``): streamed in chunks,
idempotent (importing the same file twice changes nothing the second time), a bad row
reported with its line number while the rest go in. A progress bar follows the bytes
read; a summary and the first rejected rows are printed at the end. Formats and VEE
rules: docs/meter-data.md.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from tqdm import tqdm

from cli.commands import help_for
from gridbill.errors import UserError
from gridbill.settings import Settings
from services.meter_data.ingest import Format, IngestResult, ingest, iterate_file
from services.meter_data.vee_config import load_config
from store.db import open_database

SUFFIXES = {".csv": Format.CSV, ".ndjson": Format.NDJSON, ".jsonl": Format.NDJSON}
SHOWN_REJECTIONS = 20


def add_parser(subparsers: Any) -> None:
    """Add ``import-readings`` to the ``gridbill`` command's subparsers."""
    p = subparsers.add_parser(
        "import-readings",
        help=help_for("import-readings"),
        description="Ingest meter readings from a file, with validation (VEE). "
        "Formats: docs/meter-data.md.",
    )
    p.add_argument("file", type=Path, help="readings file (.csv, .ndjson or .jsonl)")
    p.add_argument(
        "--format", choices=[f.value for f in Format], help="file format (default: from its name)"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(handler=cmd_import_readings)


def file_format(path: Path, given: str | None) -> Format:
    if given:
        return Format(given)
    found = SUFFIXES.get(path.suffix.lower())
    if found is None:
        raise UserError(
            f"cannot tell the format of {path.name}: add --format ndjson or --format csv"
        )
    return found


def cmd_import_readings(settings: Settings, args: argparse.Namespace) -> int:
    path: Path = args.file
    fmt = file_format(path, args.format)
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise UserError(f"cannot read {path}: not a file")
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}") from None
    config = load_config(settings)

    async def run() -> IngestResult:
        async with open_database(settings.database_url, pool_max=settings.db_pool_max):
            with tqdm(
                total=size, unit="B", unit_scale=True, desc=path.name, disable=args.no_progress
            ) as bar:

                async def source() -> AsyncIterator[bytes]:
                    async for chunk in iterate_file(path):
                        bar.update(len(chunk))
                        yield chunk

                return await ingest(
                    source(), fmt=fmt, config=config, zone=settings.zone,
                    label=f"import:{path.name}",
                )  # fmt: skip

    result = asyncio.run(run())
    print(summary(path.name, result))
    return 0


def _count(n: int, noun: str) -> str:
    from domain.indian_format import count

    return f"{count(n)} {noun}" + ("" if n == 1 else "s")


def summary(name: str, result: IngestResult) -> str:
    from domain.indian_format import count

    lines = [
        f"{name}: {count(result.rows)} rows: {count(result.accepted)} accepted, "
        f"{count(result.duplicate)} duplicate, {count(result.revised)} revised, "
        f"{count(result.rejected_count)} rejected",
        f"VEE: {count(result.suspect)} suspect, {count(result.estimated)} intervals estimated, "
        f"{_count(result.exceptions, 'exception')} opened for review",
    ]
    # Rows are checked in batches (intervals and register reads apart): show them in line order.
    for rejection in sorted(result.rejected, key=lambda r: r.row)[:SHOWN_REJECTIONS]:
        lines.append(f"  row {rejection.row}: {rejection.reason}")
    if result.rejected_count > SHOWN_REJECTIONS:
        lines.append(
            f"  … and {count(result.rejected_count - SHOWN_REJECTIONS)} more rejected rows"
        )
    return "\n".join(lines)
