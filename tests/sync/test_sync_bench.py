"""bench/sync.py runs end to end (tiny size): seed, serve, push over HTTP, print the time."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_bench_runs_on_a_small_batch(database_url: str, subprocess_env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "sync.py"), "--reads", "50", "--database-url", database_url],
        env=subprocess_env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "push of 50 reads:" in done.stdout and "'accepted': 50" in done.stdout
