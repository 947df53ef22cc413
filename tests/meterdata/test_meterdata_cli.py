"""``gridbill import-readings FILE``: a real process on the test database, as an operator runs it."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from meterdata_helpers import START, csv_text, day_profile, interval_rows, ndjson

from store.models import IntervalReading
from tests.factories import Site


async def gridbill(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "cli.main", *args], env=env, capture_output=True,
        text=True, timeout=120, check=False,
    )  # fmt: skip


async def test_import_a_file_twice(
    site: Site, subprocess_env: dict[str, str], tmp_path: Path
) -> None:
    rows = interval_rows("SM0001", START, day_profile())
    path = tmp_path / "head-end-export.csv"
    path.write_bytes(csv_text([*rows, {"meter": "X9", "timestamp": "soon", "kwh": "1"}],
                              ("meter", "obis", "timestamp", "kwh")))  # fmt: skip
    first = await gridbill(subprocess_env, "import-readings", str(path), "--no-progress")
    assert first.returncode == 0, first.stderr
    assert (
        "head-end-export.csv: 97 rows: 96 accepted, 0 duplicate, 0 revised, 1 rejected"
        in first.stdout
    )
    assert "row 98: timestamp 'soon' is not ISO 8601" in first.stdout
    assert await IntervalReading.all().count() == 96

    second = await gridbill(subprocess_env, "import-readings", str(path))
    assert second.returncode == 0, second.stderr
    assert "0 accepted, 96 duplicate" in second.stdout
    assert "B/s" in second.stderr or "it/s" in second.stderr  # the progress bar, by bytes


async def test_bad_files_are_one_line_errors(
    site: Site, subprocess_env: dict[str, str], tmp_path: Path
) -> None:
    missing = await gridbill(subprocess_env, "import-readings", str(tmp_path / "nope.ndjson"))
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    assert missing.stderr.strip().startswith("gridbill: error: cannot read")

    unknown = tmp_path / "readings.txt"
    unknown.write_bytes(ndjson(interval_rows("SM0001", START, [1])))
    guess = await gridbill(subprocess_env, "import-readings", str(unknown))
    assert "gridbill: error: cannot tell the format of readings.txt" in guess.stderr
    told = await gridbill(subprocess_env, "import-readings", str(unknown), "--format", "ndjson",
                          "--no-progress")  # fmt: skip
    assert told.returncode == 0 and "1 accepted" in told.stdout

    header = tmp_path / "bad.csv"
    header.write_text("serial,time,kwh\nSM0001,2026-03-01T00:00:00Z,1\n")
    bad = await gridbill(subprocess_env, "import-readings", str(header), "--no-progress")
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert "gridbill: error: CSV header has unknown column 'serial'" in bad.stderr


def test_the_summary_counts_in_english_and_lists_rejected_rows_in_line_order() -> None:
    from cli.import_readings import summary
    from services.meter_data.ingest import IngestResult

    result = IngestResult(rows=9, accepted=6, exceptions=1)
    for row in (9, 2, 5):
        result.reject(row, f"bad row {row}")
    printed = summary("x.csv", result).splitlines()
    assert printed[1].endswith("1 exception opened for review")
    assert printed[2:] == ["  row 2: bad row 2", "  row 5: bad row 5", "  row 9: bad row 9"]
    result.exceptions = 2
    assert summary("x.csv", result).splitlines()[1].endswith("2 exceptions opened for review")
