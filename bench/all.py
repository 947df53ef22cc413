"""Every bench of issue #19's table, one after another, and the figures against its floors.

    python bench/all.py                 # the issue's sizes (about 15 minutes on 2 cores)
    python bench/all.py --quick         # small sizes: checks the runner, not the machine

Each bench runs in its own process, as documented in docs/performance.md, against its own
throwaway PostgreSQL; this script only starts them and reads the JSON object each prints
as its last line. It prints one table (figure, floor, aim, whether the floor holds) and,
as its last line, one JSON object of every figure. Run it on an idle machine: the benches
share the cores with nothing else then, which is what the floors assume.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"


@dataclass(frozen=True)
class Row:
    """One line of the issue's table: a figure read from a bench's JSON, and its floor."""

    path: str
    unit: str
    floor: float
    aim: float
    read: Callable[[dict[str, Any]], float | None]
    higher_is_better: bool = True

    def holds(self, value: float | None) -> bool:
        if value is None:
            return False
        return value >= self.floor if self.higher_is_better else value <= self.floor


def _pg(figures: dict[str, Any]) -> dict[str, Any]:
    return figures.get("postgresql") or {}


def _ingest_ratio(figures: dict[str, Any]) -> float | None:
    """The PostgreSQL run's rows/s as a share of a bare COPY of the same file."""
    ratios = [f["ratio"] for f in figures.values() if isinstance(f, dict) and f.get("ratio")]
    return float(ratios[0]) if ratios else None


def _api_ratio(figures: dict[str, Any]) -> float | None:
    value = figures.get("ratios", {}).get("graphql-bills (no cache) / plain-bills")
    return None if value is None else float(value)


def _api_general_ratio(figures: dict[str, Any]) -> float | None:
    key = "graphql-bills (no cache, general executor) / plain-bills"
    value = figures.get("ratios", {}).get(key)
    return None if value is None else float(value)


ROWS: dict[str, list[Row]] = {
    "bill_run": [
        Row("bill drafts", "bills/s", 3000, 5000, lambda f: _pg(f).get("drafts_per_s")),
        Row("issue alone", "bills/s", 1000, 1000, lambda f: _pg(f).get("issue_per_s")),
        Row(
            "whole cycle with PDFs, 2 workers",
            "bills/s",
            150,
            500,
            lambda f: _pg(f).get("cycle_per_s"),
        ),
    ],
    "ingest": [Row("interval ingest", "of COPY", 0.25, 0.5, _ingest_ratio)],
    "api": [
        Row("GraphQL myBills without the cache", "of plain", 0.6, 0.8, _api_ratio),
        Row("  the same, general executor", "of plain", 0.6, 0.8, _api_general_ratio),
    ],
    "sync": [
        Row("sync push, realistic mix", "s", 1.5, 1.0, lambda f: f.get("push_s"), False),
    ],
    "help": [Row("gridbill --help", "s", 0.2, 0.1, lambda f: f.get("seconds"), False)],
    "load": [
        Row("load test errors", "errors", 0, 0, lambda f: f.get("all", {}).get("errors"), False),
        Row("load test p95", "ms", 200, 200, lambda f: f.get("all", {}).get("p95_ms"), False),
    ],
}


def _number(value: float) -> str:
    """3,199 and 59.9 and 0.053, as the docs write them (not 3.2e+03)."""
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}" if value >= 10 else f"{value:.3g}"


def commands(quick: bool) -> dict[str, list[str]]:
    sizes = QUICK if quick else FULL
    return {name: [sys.executable, str(BENCH / f"{name}.py"), *args.split()]
            for name, args in sizes.items()}  # fmt: skip


FULL = {
    "bill_run": "--accounts 20000 --pdfs 1000",
    "ingest": "--readings 1000000 --database postgres",
    "api": "",
    "sync": "",
    "load": "",
}
QUICK = {
    "bill_run": "--accounts 400 --pdfs 20",
    "ingest": "--readings 20000 --meters 20 --database postgres",
    "api": "--customers 20 --viewers 5 --clients 2 --client-processes 1 --duration 1 --repeats 1",
    "sync": "--reads 100",
    "load": "--customers 20 --users 5 --duration 3 --ramp 0.5 --client-processes 1",
}


def run_bench(name: str, command: list[str]) -> dict[str, Any]:
    """The bench's last line, parsed; its output passes through for the record."""
    print(f"\n==> {name}: {' '.join(Path(c).name if c.endswith('.py') else c for c in command[1:])}",
          flush=True)  # fmt: skip
    started = time.monotonic()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    sys.stdout.write(done.stdout)
    if done.returncode != 0:
        sys.stdout.write(done.stderr[-3000:])
        print(f"    {name} failed (exit {done.returncode})", flush=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    figures: dict[str, Any] = json.loads(lines[-1]) if lines else {}
    figures["bench_s"] = round(time.monotonic() - started, 1)
    figures["exit"] = done.returncode
    return figures


def help_seconds() -> dict[str, Any]:
    """The best of five ``gridbill --help`` runs (start-up imports only the command)."""
    gridbill = Path(sys.executable).parent / "gridbill"
    times = []
    for _ in range(5):
        started = time.perf_counter()
        subprocess.run([str(gridbill), "--help"], capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    return {"seconds": round(min(times), 3)}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument("--only", nargs="*", choices=[*commands(False), "help"])
    args = parser.parse_args(argv)
    wanted = set(args.only or [*commands(False), "help"])
    results: dict[str, dict[str, Any]] = {}
    for name, command in commands(args.quick).items():
        if name in wanted:
            results[name] = run_bench(name, command)
    if "help" in wanted:
        results["help"] = help_seconds()
    if args.quick:
        print("\n(quick sizes: the floors hold only at the issue's sizes, not these)")
    print("\n| path | figure | floor | aim | floor holds |\n|---|---|---|---|---|")
    held = []
    for name, figures in results.items():
        for row in ROWS[name]:
            value = row.read(figures)
            shown = "-" if value is None else f"{_number(value)} {row.unit}"
            held.append(row.holds(value))
            print(f"| {row.path} | {shown} | {row.floor:g} | {row.aim:g} | "
                  f"{'yes' if held[-1] else 'no'} |")  # fmt: skip
    print(json.dumps(results))
    return 0 if all(f.get("exit", 0) == 0 for f in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
