"""Bill PDFs read back: the text has the number, total and due date; the QR code pays it."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import date
from pathlib import Path

import pytest
import zxingcpp
from pypdf import PdfReader

from domain.billing import upi_link
from gridbill.settings import DEMO_UPI_VPA, Settings, get_settings
from jobs.inprocess import InProcessRunner
from jobs.registry import load_tasks
from jobs.runtime import background_jobs, defer
from services.billing.documents import BillDocumentError, money, pdf_for, render_bill
from store.models import Bill, JobRun
from tests.billing.billing_factories import Utility, issue, run


async def issued_bill(utility: Utility) -> Bill:
    site = await utility.account()
    await site.read("1.8.0", "1000", date(2026, 1, 8))
    await site.read("1.8.0", "1250", date(2026, 2, 8))
    await site.read("1.8.0", "1400", date(2026, 3, 8))
    await run("2026-02")
    await issue("2026-02", date(2026, 2, 11))
    await run("2026-03")
    await issue("2026-03", date(2026, 3, 11))
    return (
        await Bill.filter(account_id=site.account.id, number__isnull=False).order_by("-id").first()
    )  # type: ignore[return-value]


def text_and_codes(path: Path) -> tuple[str, list[str]]:
    page = PdfReader(path).pages[0]
    codes = [code.text for image in page.images for code in zxingcpp.read_barcodes(image.image)]
    return page.extract_text(), codes


async def test_the_pdf_shows_the_bill_and_its_qr_code_pays_it(
    utility: Utility, settings: Settings
) -> None:
    bill = await issued_bill(utility)
    path = await render_bill(bill.id, settings)
    assert path == settings.var_dir / "bills" / "2025-26" / "BL-2025-26-000002.pdf"
    text, codes = text_and_codes(path)
    assert bill.number == "BL/2025-26/000002" and bill.number in text
    assert money(bill.total_paise) in text and money(bill.payable_paise) in text
    assert bill.arrears_paise > 0 and money(bill.arrears_paise) in text
    assert bill.due_date is not None and f"{bill.due_date:%d %b %Y}" in text
    assert "Meter reads used" in text and "actual" in text
    assert "Consumption: 150 kWh over 28 days" in text
    assert codes == [
        upi_link(
            payee_vpa=DEMO_UPI_VPA,
            payee_name="Test Power Ltd",
            amount_paise=bill.payable_paise,
            note=f"Electricity bill {bill.number}",
        )
    ]
    assert "am=" + f"{bill.payable_paise / 100:.2f}" in codes[0]
    stored = await Bill.get(id=bill.id)
    assert stored.pdf_path == "bills/2025-26/BL-2025-26-000002.pdf"
    assert stored.pdf_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


async def test_the_pdf_writes_lakhs_and_energy_in_indian_grouping(
    utility: Utility, settings: Settings
) -> None:
    site = await utility.account()
    await site.read("1.8.0", "1000", date(2026, 2, 8))
    await site.read("1.8.0", "31000", date(2026, 3, 8))  # 30,000 kWh at ₹5
    await run("2026-03")
    await issue("2026-03", date(2026, 3, 11))
    bill = await Bill.get(account_id=site.account.id, number__isnull=False)
    text, _ = text_and_codes(await render_bill(bill.id, settings))
    # Fixed charge 0.976 month × 100 = 97.58; energy 30,000 kWh × 5.00 = 1,50,000.00.
    assert bill.total_paise == 150_097_58 and money(bill.total_paise) == "₹1,50,097.58"
    assert (
        "₹1,50,000.00" in text and "Total payable\n ₹1,50,097.58" in text
    )  # right-aligned: a space
    assert "Consumption: 30,000 kWh over 28 days" in text and "30,000 kWh" in text
    assert "31000 (08 Mar 2026)" in text  # the meter's register, as its display shows it


async def test_pdf_for_serves_the_stored_file_and_renders_a_missing_one(
    utility: Utility, settings: Settings
) -> None:
    bill = await issued_bill(utility)
    with pytest.raises(BillDocumentError, match="draft"):
        draft = await Bill.create(account_id=bill.account_id, customer_id=bill.customer_id,  # type: ignore[attr-defined]
                                  period_start=date(2026, 3, 8), period_end=date(2026, 4, 7))  # fmt: skip
        await pdf_for(draft.id, settings)
    path = await pdf_for(bill.id, settings)
    assert path.exists() and await pdf_for(bill.id, settings) == path
    path.unlink()
    again = await pdf_for(bill.id, settings)
    assert again == path and path.exists()
    assert (await Bill.get(id=bill.id)).pdf_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


async def test_pdfs_render_as_a_background_task_after_issue(
    on_sqlite: None, utility: Utility, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in (("DATABASE_URL", settings.database_url), ("GRIDBILL_VAR_DIR", str(settings.var_dir)),
                        ("GRIDBILL_SECRET_KEY", settings.secret_key), ("GRIDBILL_ENV", "test")):  # fmt: skip
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        bill = await issued_bill(utility)
        async with InProcessRunner(load_tasks()) as runner:
            await runner.defer(load_tasks().get("render_bill_pdfs"), {"bill_ids": [bill.id]})
            for _ in range(500):
                if await JobRun.filter(task="render_bill_pdfs", succeeded=True).exists():
                    break
                await asyncio.sleep(0.02)
        assert (settings.var_dir / (await Bill.get(id=bill.id)).pdf_path).exists()
        async with background_jobs(get_settings()):
            await defer("render_bill_pdfs", bill_ids=[bill.id])
        assert await JobRun.filter(task="render_bill_pdfs", succeeded=True).count() == 2
    finally:
        get_settings.cache_clear()
