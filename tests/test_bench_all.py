"""bench/all.py, the runner of issue #19's benches, reads a bench's figures and the CLI's
start-up time at small sizes and prints the table against the floors (not a timed test)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_runner_prints_each_figure_against_its_floor() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRIDBILL_", "DATABASE_"))}
    if "GRIDBILL_TEST_PG_URL" in os.environ:  # the suite's cluster, not one more of its own
        env["BENCH_PG_URL"] = os.environ["GRIDBILL_TEST_PG_URL"]
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "all.py"), "--quick", "--only", "sync", "help"],
        env=env, capture_output=True, text=True, timeout=300, check=False, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, (done.stdout[-2000:], done.stderr[-2000:])
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["sync"]["items"] == 105 and figures["sync"]["push_s"] > 0
    assert 0 < figures["help"]["seconds"] < 5
    table = [line for line in done.stdout.splitlines() if line.startswith("| ")]
    assert table[0] == "| path | figure | floor | aim | floor holds |"
    assert any(row.startswith("| sync push, realistic mix | ") for row in table)
    assert "quick sizes" in done.stdout
