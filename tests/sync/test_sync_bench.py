"""bench/sync.py runs end to end (tiny size): seed, serve the whole app, push the day's mix."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_bench_pushes_a_realistic_mix_through_the_app(
    database_url: str, subprocess_env: dict[str, str]
) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "sync.py"), "--reads", "40", "--database-url",
         database_url, "--shuffle"],
        env=subprocess_env, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    # 40 meters: 4 resent, 4 second reads, 2 edits, 2 skips, 28 new reads, interleaved
    assert figures["results"] == {"duplicate": 4, "conflict_resolved": 4, "accepted": 34}
    assert figures["items"] == 42 and figures["push_s"] > 0 and figures["order"] == "shuffled"
    assert figures["peak_mb"]["server"] > 0


@pytest.mark.slow
def test_bench_profiles_the_push_in_process(
    database_url: str, subprocess_env: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "push.prof"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "sync.py"), "--reads", "20", "--database-url",
         database_url, "--profile", str(out)],
        env=subprocess_env, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert out.stat().st_size > 0
    assert "INSERT INTO sync_items" in done.stdout and "SQL statements" in done.stdout
    assert json.loads(done.stdout.strip().splitlines()[-1])["items"] == 21
