"""bench/api.py runs end to end at a tiny size: demo data, bills, three servers, all rounds;
bench/api_profile.py too."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_api_bench_and_profile_run_at_a_tiny_size(
    on_postgres: None, database_url: str, subprocess_env: dict[str, str]
) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "api.py"), "--database-url", database_url,
         "--customers", "20", "--viewers", "5", "--clients", "2", "--client-processes", "1",
         "--duration", "1.0", "--warmup", "0", "--repeats", "1"],
        env=subprocess_env, capture_output=True, text=True, timeout=300, check=False, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    ratios, memory = figures.pop("ratios"), figures.pop("peak_mb")
    assert set(figures) == {
        "plain-bills", "graphql-bills", "graphql-bills (no cache)",
        "graphql-bills (no cache, general executor)", "plain-usage", "graphql-usage",
    }  # fmt: skip
    for name, row in figures.items():
        assert row["rps"] > 0 and row["errors"] == 0, (name, row)
    assert ratios["graphql-bills (no cache) / plain-bills"] > 0
    assert set(memory) == {"bench", "server"}
    assert "of the plain endpoint's throughput" in done.stdout

    profiled = subprocess.run(  # bench/api_profile.py on the demo the bench billed
        [sys.executable, str(ROOT / "bench" / "api_profile.py"), "--database-url", database_url,
         "--prepared", "--viewers", "3", "--requests", "5"],
        env=subprocess_env, capture_output=True, text=True, timeout=300, check=False, cwd=ROOT,
    )  # fmt: skip
    assert profiled.returncode == 0, profiled.stderr[-3000:]
    figures = json.loads(profiled.stdout.strip().splitlines()[-1])
    assert set(figures["ms_per_request"]) == {
        "plain-bills", "graphql-bills (no cache)", "graphql-bills (no cache, general executor)"
    }  # fmt: skip
    general = figures["components_ms"]["graphql-bills (no cache, general executor)"]
    assert general["executor and field resolution (graphql-core, strawberry, resolvers)"] > 0
