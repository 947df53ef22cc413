"""bench/reports.py runs end to end at a tiny size (the real figures: docs/performance.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from services.reports.catalog import NAMES
from tests.conftest import pg_admin_url

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_report_benchmark_runs_at_a_tiny_size(backend: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRIDBILL_", "DATABASE_URL"))}
    if backend == "postgres":
        env["BENCH_PG_URL"] = pg_admin_url() or ""
    result = subprocess.run(
        [sys.executable, "bench/reports.py", "--accounts", "60", "--database", backend],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    summary = json.loads(lines[-1])
    assert summary["accounts"] == 60 and summary["database"] == backend
    assert set(summary["reports"]) == set(NAMES)
    assert all(summary["rows"][name] > 0 for name in NAMES), summary["rows"]
    assert summary["peak_rss_kib"] > 0
    assert any("peak memory" in line for line in lines)
