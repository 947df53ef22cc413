"""The bill page's ceiling: the time to render one bill PDF with nothing else going on.

    python bench/bill_page.py                 # 200 pages of each language
    python bench/bill_page.py --pages 50 --no-accel

Renders the same issued snapshot (an industrial bill with a year of history,
``tests/fixtures/bills/industrial-before-bill-page.json``) again and again in this one
process, in English and in Hindi, after one page to warm up (fonts registered). No
database, no file writes: the page alone. It prints, per language, the CPU time and the
wall time a page takes, and the pages a second one core would give; CPU time is the
figure to read on a busy machine (wall time there includes waiting for a core).

The page caches what is the same on every bill (the measured and shaped words), so the
same snapshot again and again flatters it a little: ``en_varied`` renders as many
different English bills (their number, customer, amounts and reads changed page by page),
as a worker meets them.
``--no-accel`` hides ReportLab's C accelerators (``rl-accel``), to show what they give.
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SNAPSHOT = ROOT / "tests" / "fixtures" / "bills" / "industrial-before-bill-page.json"


def measure(pages: int) -> dict[str, Any]:
    from services.billing.documents import render_pdf

    english = json.loads(SNAPSHOT.read_text("utf-8"))
    hindi = json.loads(json.dumps(english))
    hindi["snapshot"]["document"]["language"] = "hi"
    figures: dict[str, Any] = {"pages": pages}
    for language, bill in (("en", english), ("hi", hindi)):
        render_pdf(bill)
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(pages):
            render_pdf(bill)
        cpu_ms = (time.process_time() - cpu) / pages * 1000
        wall_ms = (time.perf_counter() - wall) / pages * 1000
        figures[language] = _figures(language, cpu_ms, wall_ms)
    varied = [_varied(english, n) for n in range(pages)]
    wall, cpu = time.perf_counter(), time.process_time()
    for bill in varied:
        render_pdf(bill)
    cpu_ms = (time.process_time() - cpu) / pages * 1000
    figures["en_varied"] = _figures(
        "en_varied", cpu_ms, (time.perf_counter() - wall) / pages * 1000
    )
    return figures


def _figures(language: str, cpu_ms: float, wall_ms: float) -> dict[str, Any]:
    print(
        f"{language:9} {cpu_ms:6.1f} ms CPU a page  ({wall_ms:6.1f} ms wall)  "
        f"{1000 / cpu_ms if cpu_ms else 0:6.1f} pages/s on one core",
        flush=True,
    )
    return {
        "cpu_ms_per_page": round(cpu_ms, 2),
        "wall_ms_per_page": round(wall_ms, 2),
        "pages_per_s_one_core": round(1000 / cpu_ms, 1) if cpu_ms else None,
    }


def _varied(bill: dict[str, Any], n: int) -> dict[str, Any]:
    """Bill ``n``: another number, customer, amounts and reads than its neighbours'."""
    other = json.loads(json.dumps(bill))
    doc = other["snapshot"]["document"]
    doc["number"] = f"BL/2026-27/{n + 1:06d}"
    doc["account"]["number"] = f"1714{n:08d}"
    doc["customer"]["name"] = f"Customer {n * 7919 % 100_003} Enterprises"
    for line in doc["lines"]:
        line["amount_paise"] += n * 37
    for read in doc["reads"]:
        read["closing"] += n * 1_013
    for key in ("total_paise", "payable_paise"):
        other[key] += n * 259
    return other


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--no-accel", action="store_true", help="without rl-accel")
    args = parser.parse_args(argv)
    if args.no_accel:
        sys.modules["_rl_accel"] = None  # type: ignore[assignment]  # ReportLab falls back
    from reportlab.lib import rl_accel

    accel = not rl_accel.fp_str.__module__.startswith("reportlab")
    print(f"bill page ceiling: {args.pages} pages each, rl-accel {'on' if accel else 'off'}")
    figures = measure(args.pages)
    figures["rl_accel"] = accel
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
