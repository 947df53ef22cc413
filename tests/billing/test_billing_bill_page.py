"""The bill page as a customer sees it: an English domestic bill and a Hindi industrial bill
issued for real, rendered to PNG with pdftoppm and read back with pdftotext (Debian's
poppler-utils, which scripts/check.py installs when missing).

What a machine can check is checked: ₹ and Indian grouping, the letterhead, rates with
their units, no line of zero, credits written ``Cr``, the register's own decimals, the
explained demand proration, a gap in the usage chart, Hindi words read back, one page for
the industrial bill, and the same bytes when a bill is rendered again. The PNGs were also
looked at by a person (docs/billing.md shows two of them).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from demo.tariffs import TARIFF_BY_CATEGORY
from domain.enums import AccountCategory
from gridbill.settings import Settings
from services.billing.bill_wording import day
from services.billing.documents import money, render_bill, render_pdf
from store.models import Bill, Customer, Register
from tests.billing.billing_factories import DOMESTIC, Utility, issue, run

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "bills"
INDUSTRIAL = TARIFF_BY_CATEGORY[AccountCategory.INDUSTRIAL].document
LETTERHEAD = {
    "address": "Vidyut Bhavan, Plot 12, Sector 5\nNew Delhi 110001",
    "helpline": "1912",
    "gstin": "07AAACG1234A1Z5",
}

pytestmark = pytest.mark.skipif(
    shutil.which("pdftoppm") is None or shutil.which("pdftotext") is None,
    reason="make test installs Debian's poppler-utils (scripts/check.py)",
)


def poppler(pdf: Path) -> tuple[str, int]:
    """The page text (pdftotext) and the number of PNG pages pdftoppm drew."""
    png = pdf.with_suffix("")
    subprocess.run(["pdftoppm", "-r", "60", "-png", str(pdf), str(png)], check=True)
    pages = sorted(pdf.parent.glob(f"{png.name}-*.png"))
    assert all(p.stat().st_size > 10_000 for p in pages)  # drawn, not blank
    done = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True)
    return done.stdout.decode(), len(pages)


async def bill_of(account_id: int) -> Bill:
    return await Bill.filter(account_id=account_id, number__isnull=False).order_by("-id").first()  # type: ignore[return-value]


async def test_an_english_domestic_bill_reads_right(db: Any, settings: Settings) -> None:
    utility = await Utility.create(DOMESTIC)
    site = await utility.account()
    for month, reading in ((1, "1000"), (2, "1180"), (4, "1500"), (5, "1690")):
        await site.read("1.8.0", reading, date(2026, month, 8))
    for period, bill_day in (("2026-02", 11), ("2026-05", 11)):  # no bill for March, April
        await run(period)
        await issue(period, date(2026, int(period[-2:]), bill_day), letterhead=LETTERHEAD)
    bill = await bill_of(site.account.id)
    text, pages = poppler(await render_bill(bill.id, settings))
    assert pages == 1 and "Rs" not in text
    assert "Test Power Ltd" in text and "New Delhi 110001" in text
    assert "Helpline: 1912 · GSTIN: 07AAACG1234A1Z5" in text
    assert money(bill.total_paise) in text and money(bill.payable_paise) in text
    assert "₹128/month" in text and "₹3.46/kWh" in text and "16%" in text
    assert "on ₹" in text  # the duty's base, in rupees
    assert "Domestic" in text and "Energy charge 0–" in text and "EC.1" not in text
    assert "1690 (08 May 2026)" in text  # the register shows no decimals
    assert "– no bill for that month" in text and "Mar 26" in text and "Feb 26" in text


async def test_a_hindi_industrial_bill_fits_one_page(db: Any, settings: Settings) -> None:
    utility = await Utility.create(INDUSTRIAL)
    site = await utility.account(
        category="industrial", load_w=20_000, obis=("1.8.0", "1.8.1", "1.8.2", "1.6.0"), ct=(10, 1)
    )
    await Register.filter(meter_id=site.meter.id, obis_code__startswith="1.8").update(decimals=2)
    assert site.customer is not None
    await Customer.filter(id=site.customer.id).update(language="hi", name="मेसर्स श्री गणेश उद्योग")
    for obis, opening, closing in (("1.8.0", "25084.81", "25569.76"), ("1.8.1", "7801.37", "7957.05"),
                                   ("1.8.2", "7564.19", "7715.64")):  # fmt: skip
        await site.read(obis, opening, date(2026, 3, 8))
        await site.read(obis, closing, date(2026, 4, 8))
    await site.read("1.6.0", "1.29", date(2026, 4, 8))  # 12.9 kW through the 10:1 CT
    await run("2026-04")
    await issue("2026-04", date(2026, 4, 11), letterhead=LETTERHEAD)
    bill = await bill_of(site.account.id)
    path = await render_bill(bill.id, settings)
    text, pages = poppler(path)
    assert pages == 1
    assert money(bill.payable_paise) in text and "₹7.63 " in text and "औ" in text
    assert "25084.81 (08 " in text  # two decimals, as the register shows them
    # Demand: 75% of 20 kW sanctioned beats the 12.9 kW recorded; 31 days of a 30-day month.
    assert "15 kW × ₹469 " in text and " × 31/30 " in text
    # Words without conjuncts or a reordered vowel sign come back letter for letter.
    for word in ("मीटर", "गुणक", "खाता", "भुगतान", "कुल"):
        assert word in text, word
    # Shaping draws what Unicode has no character for (half forms, conjuncts such as the
    # "प्र" of प्रति, the ि placed before its consonant): such glyphs carry private-use
    # code points in the PDF, and "बिल" is no longer in reading order (unshaped, it would be).
    assert sum(0xE000 <= ord(c) <= 0xF8FF for c in text) > 20
    assert "बिल संख्या" not in text
    assert "off_peak" not in text and "ऑफ-पीक" in text
    assert "सामान्य" not in text  # the normal period's ToD line is ₹0.00: left out
    again = render_pdf({**_render_data(bill), "time_zone": settings.time_zone})
    assert again == path.read_bytes()  # the same snapshot, the same bytes


def _render_data(bill: Bill) -> dict[str, Any]:
    return {
        "snapshot": bill.snapshot, "period_start": bill.period_start.isoformat(),
        "period_end": bill.period_end.isoformat(), "is_estimated": bill.is_estimated,
        "is_final": bill.is_final, "estimate_basis": bill.estimate_basis,
        "total_paise": bill.total_paise, "arrears_paise": bill.arrears_paise,
        "late_fee_paise": bill.late_fee_paise, "payable_paise": bill.payable_paise,
    }  # fmt: skip


def test_a_bill_issued_before_hindi_and_letterheads_still_renders(tmp_path: Path) -> None:
    """A snapshot as gridbill stored it before this change (no language, letterhead,
    proration or register decimals) renders, in English, the same twice."""
    data = json.loads((FIXTURES / "industrial-before-bill-page.json").read_text("utf-8"))
    pdf = tmp_path / "old.pdf"
    pdf.write_bytes(render_pdf(data))
    text, pages = poppler(pdf)
    assert pages == 1 and "Electricity bill" in text and "₹51,692.00" in text
    assert "15.5 kW·month" in text  # no proration rule frozen: the quantity as priced
    assert "25084.81 (15 Oct 2026)" in text  # no decimals frozen: as before
    hindi = json.loads(json.dumps(data))
    hindi["snapshot"]["document"]["language"] = "hi"
    render_pdf(hindi)  # a Hindi bill in between changes nothing
    assert render_pdf(data) == pdf.read_bytes()


def test_a_reads_date_is_the_utilitys_day() -> None:
    """A smart meter's midnight read is stored as 18:30 UTC the day before."""
    assert day("2026-03-31T18:30:00+00:00", "en") == "01 Apr 2026"
    assert day("2026-03-31T18:29:00+00:00", "hi") == "31 मार्च 2026"
    assert day("2026-03-31T18:30:00+00:00", "en", "UTC") == "31 Mar 2026"
    assert day("2026-04-01", "en", "America/New_York") == "01 Apr 2026"  # a date stays
