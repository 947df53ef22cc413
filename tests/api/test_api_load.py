"""bench/load.py runs end to end at a tiny size: every operation of the mix, no errors,
straight to PostgreSQL and through a PgBouncer in transaction pooling mode (two API
processes whose queries share the pooler's connections, LISTEN and jobs going direct)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.parametrize("pooler", [[], ["--pgbouncer"]], ids=["direct", "pgbouncer"])
def test_the_load_test_drives_the_whole_mix_without_errors(
    on_postgres: None, database_url: str, subprocess_env: dict[str, str], pooler: list[str]
) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "load.py"), "--database-url", database_url,
         "--customers", "20", "--users", "8", "--duration", "3", "--ramp", "0.5",
         "--think-min", "0.05", "--think-max", "0.2", "--client-processes", "1", *pooler],
        env=subprocess_env, capture_output=True, text=True, timeout=300, check=False, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, (done.stdout[-2000:], done.stderr[-2000:])
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["all"]["errors"] == 0 and figures["workers"] == 2
    assert figures["pgbouncer"] == bool(pooler)
    assert figures["peak_mb"]["bench"] > 0 and figures["peak_mb"]["server"] > 0
    assert figures["all"]["requests"] == sum(
        op["requests"] for op in figures["operations"].values()
    )
    assert {"open app", "bills", "usage"} <= {
        n for n, op in figures["operations"].items() if op["requests"]
    }
