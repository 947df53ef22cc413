"""The bill page drawn on the canvas flows where it must: a bill with an unusually long
list of charges runs onto a second page, nothing lost, the same bytes when rendered again;
a long word-wrapped text stays inside its column."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from pypdf import PdfReader

from services.billing.bill_text import Style, lines
from services.billing.documents import money, render_pdf

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "bills"


def _bill(charges: int) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (FIXTURES / "industrial-before-bill-page.json").read_text("utf-8")
    )
    data["snapshot"]["document"]["lines"] = [
        {"code": f"X{n}", "description": f"Surcharge number {n:03d} of the long list",
         "quantity": "1", "unit": "", "rate": "1.00", "amount_paise": 100 + n}
        for n in range(charges)
    ]  # fmt: skip
    return data


def test_a_long_list_of_charges_runs_onto_a_second_page() -> None:
    bill = _bill(75)
    pdf = render_pdf(bill)
    pages = [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]
    assert len(pages) == 2
    text = "".join(pages)
    found = [text.find(f"Surcharge number {n:03d} ") for n in range(75)]
    assert all(at >= 0 for at in found) and found == sorted(found)  # each once, in order
    assert all(text.count(money(100 + n)) >= 1 for n in range(75))
    assert "Surcharge number 000" in pages[0] and "Surcharge number 074" in pages[1]
    assert "Total payable" in pages[1] and money(bill["payable_paise"]) in pages[1]
    assert "Your use over the last 12 months" in pages[1]  # the chart kept with its heading
    assert "Tariff: HT-1 (HT-1 Industrial)." in pages[1]
    assert render_pdf(bill) == pdf


def test_a_bill_of_the_usual_length_is_one_page() -> None:
    pdf = render_pdf(_bill(12))
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 1


def test_text_breaks_into_lines_that_fit_their_width() -> None:
    style = Style(8, 10)
    words = "Plot No. J-191, MIDC J Block Road, Bhosari MIDC, Pune 411026, Maharashtra " * 3
    broken = lines(words, style, 120)
    assert len(broken) > 3 and all(width <= 120 for width, _ in broken)
    drawn = " ".join("".join(run for _, run, _ in pieces) for _, pieces in broken)
    assert drawn.split() == words.split()  # every word, in order, none cut
    assert lines("मीटर रीडिंग", style, 200)[0][1][0][0].startswith("NotoSansDevanagari")
