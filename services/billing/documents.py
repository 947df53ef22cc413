"""Bill documents: a PDF per issued bill, rendered with ReportLab from the bill's snapshot.

The PDF shows what the issued snapshot froze (``snapshot["document"]``, written at issue
by :mod:`services.billing.snapshot`), so rendering it again gives the same bill: the utility
header, account and premise, the period and the reads used (actual or estimated),
consumption, the lines, arrears and payments, the total and due date, a 12-month usage
chart, and a UPI QR code (``upi://pay?pa=…&pn=…&am=…&tn=…``) for the amount payable.

Files are stored under ``GRIDBILL_VAR_DIR/bills/<financial year>/<number>.pdf`` (the
number's slashes as dashes) with their SHA-256 on the bill; :func:`pdf_for` is how the
API serves a bill's PDF to its owner. Rendering runs as the ``render_bill_pdfs``
background task after issue (``jobs/billing.py``).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from PIL import Image as PILImage
from reportlab.graphics.barcode import qrencoder
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from domain.enums import BillStatus
from domain.indian_format import ASCII_RUPEE, decimal, kwh, rupees
from gridbill.errors import UserError
from gridbill.settings import Settings
from services.billing.energy_block import energy_block
from store.models import Bill

QR_QUIET_MODULES = 4
QR_PIXELS_PER_MODULE = 8
GREY = colors.HexColor("#666666")
ACCENT = colors.HexColor("#1f4e79")


class BillDocumentError(UserError):
    """A bill that has no document (yet)."""


def money(paise: int) -> str:
    """An amount as the bill prints it, ``Rs 12,34,567.89``: the PDF's built-in fonts
    have no ₹ glyph."""
    return rupees(paise, symbol=ASCII_RUPEE)


def day(text: str | None) -> str:
    return "" if not text else f"{date.fromisoformat(text[:10]):%d %b %Y}"


def relative_path(number: str) -> Path:
    """``bills/2026-27/BL-2026-27-000123.pdf`` for bill ``BL/2026-27/000123``."""
    year = number.split("/")[1]
    return Path("bills") / year / f"{number.replace('/', '-')}.pdf"


# --- the QR code ------------------------------------------------------------------------


def qr_matrix(text: str) -> list[list[bool]]:
    """The QR code's modules (True is dark), error correction M, smallest version."""
    code = qrencoder.QRCode(None, qrencoder.QRErrorCorrectLevel.M)
    code.addData(text)
    code.make()
    return [[bool(cell) for cell in row] for row in code.modules]


def qr_png(text: str) -> bytes:
    """The QR code as a 1-bit PNG with its quiet zone, crisp at any print size."""
    matrix = qr_matrix(text)
    size = len(matrix) + 2 * QR_QUIET_MODULES
    image = PILImage.new("1", (size, size), 1)
    pixels = image.load()
    assert pixels is not None
    for r, row in enumerate(matrix):
        for c, dark in enumerate(row):
            if dark:
                pixels[c + QR_QUIET_MODULES, r + QR_QUIET_MODULES] = 0
    scale = QR_PIXELS_PER_MODULE
    image = image.resize((size * scale, size * scale), PILImage.Resampling.NEAREST)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


# --- the document -----------------------------------------------------------------------


def _chart(history: Sequence[dict[str, Any]]) -> Drawing:
    drawing = Drawing(170 * mm, 45 * mm)
    drawing.add(String(0, 42 * mm, "Your use over the last 12 months (kWh)", fontSize=9))
    if not history:
        drawing.add(String(0, 20 * mm, "No earlier bills.", fontSize=8, fillColor=GREY))
        return drawing
    chart = VerticalBarChart()
    chart.x, chart.y = 12 * mm, 8 * mm
    chart.width, chart.height = 150 * mm, 30 * mm
    chart.data = [[round(h["wh"] / 1000) for h in history]]
    chart.categoryAxis.categoryNames = [
        f"{date.fromisoformat(h['month'] + '-01'):%b %y}" + ("*" if h["estimated"] else "")
        for h in history
    ]
    chart.categoryAxis.labels.fontSize = 7
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.labelTextFormat = lambda value: decimal(Decimal(str(value)).normalize())
    chart.valueAxis.valueMin = 0
    chart.bars[0].fillColor = ACCENT
    drawing.add(chart)
    return drawing


def _table(rows: list[list[Any]], widths: list[float], header: bool = True) -> Table:
    table = Table(rows, colWidths=widths)
    style: list[tuple[Any, ...]] = [
        ("FONTSIZE", (0, 0), (-1, -1), 8),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
    ]
    if header:
        style += [
            ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
            ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black),
        ]
    table.setStyle(TableStyle(style))
    return table


def render_pdf(bill: dict[str, Any]) -> bytes:
    """The bill's PDF from its issued snapshot (``bill`` holds the snapshot and the totals)."""
    doc = bill["snapshot"]["document"]
    usage = bill["snapshot"]["usage"]
    styles = getSampleStyleSheet()
    small = ParagraphStyle("small", parent=styles["Normal"], fontSize=8, leading=10)
    title = ParagraphStyle("title", parent=styles["Title"], fontSize=16, textColor=ACCENT)
    out = io.BytesIO()
    pdf = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=f"Electricity bill {doc['number']}",
        author=doc["utility"],
    )
    story: list[Any] = [
        Paragraph(doc["utility"], title),
        Paragraph("Electricity bill", styles["Heading2"]),
    ]
    estimated = " (ESTIMATED: no actual read this period)" if bill["is_estimated"] else ""
    final = " (FINAL BILL: move-out)" if bill["is_final"] else ""
    head = [
        ["Bill number", doc["number"], "Bill date", day(doc["issue_date"])],
        ["Account", doc["account"]["number"], "Due date", day(doc["due_date"])],
        ["Customer", doc["customer"]["name"], "Category", doc["account"]["category"]],
        ["Premise", Paragraph("<br/>".join(doc["premise"]), small), "Sanctioned load", f"{doc['account']['sanctioned_load_kw']} kW"],
        ["Period", f"{day(bill['period_start'])} to {day(bill['period_end'])}{estimated}{final}", "", ""],
    ]  # fmt: skip
    story += [_table(head, [28 * mm, 80 * mm, 30 * mm, 42 * mm], header=False), Spacer(1, 4 * mm)]
    story.append(Paragraph("Meter reads used", styles["Heading4"]))
    reads = [["Meter", "Register", "Previous", "Present", "Multiplier", "kWh", "Read"]]
    for r in doc["reads"]:
        reads.append(
            [
                r["meter"], r["register"], _reading(r["opening"], r["opening_at"]),
                _reading(r["closing"], r["closing_at"]), r["multiplier"], kwh(r["wh"]),
                "estimated" if r["estimated"] else "actual",
            ]
        )  # fmt: skip
    story += [_table(reads, [28 * mm, 18 * mm, 36 * mm, 36 * mm, 18 * mm, 20 * mm, 24 * mm])]
    consumption = f"Consumption: {kwh(usage['wh'])} kWh over {usage['days']} days"
    if usage.get("max_demand_w"):
        consumption += f", maximum demand {Decimal(usage['max_demand_w']).scaleb(-3)} kW"
    if bill["estimate_basis"]:
        consumption += f" (estimated: {bill['estimate_basis']})"
    story += [Spacer(1, 2 * mm), Paragraph(consumption, small)]
    story += [*energy_block(bill["snapshot"], small), Spacer(1, 3 * mm)]
    story.append(Paragraph("Charges", styles["Heading4"]))
    rows = [["Code", "Description", "Quantity", "Rate", "Amount"]]
    for line in doc["lines"]:
        rows.append(
            [line["code"], Paragraph(line["description"], small),
             _quantity(line), _rate(line), money(line["amount_paise"])]
        )  # fmt: skip
    rows.append(["", "Current charges", "", "", money(bill["total_paise"])])
    story += [_table(rows, [18 * mm, 84 * mm, 30 * mm, 18 * mm, 30 * mm]), Spacer(1, 3 * mm)]
    arrears = doc["arrears"]
    late = doc["late_fee"]
    summary = [
        ["Previous bill" + (f" {arrears['previous_bill']}" if arrears["previous_bill"] else ""), money(arrears["previous_payable_paise"])],
        ["Payments received since", money(arrears["payments_paise"])],
        ["Other credits and debits", money(arrears["other_paise"])],
        ["Arrears", money(bill["arrears_paise"])],
        ["Late payment surcharge" + (f" on {late['bill']}" if late["paise"] else ""), money(bill["late_fee_paise"])],
        ["Current charges", money(bill["total_paise"])],
        ["Total payable", money(bill["payable_paise"])],
        ["Pay by", day(doc["due_date"])],
    ]  # fmt: skip
    table = _table(summary, [78 * mm, 40 * mm], header=False)  # fits "… on BL/2026-27/000123"
    table.setStyle(
        TableStyle(
            [("FONTNAME", (0, 6), (-1, 7), "Helvetica-Bold"), ("FONTSIZE", (0, 6), (-1, 7), 10)]
        )
    )
    qr = Image(io.BytesIO(qr_png(doc["upi"])), width=38 * mm, height=38 * mm)
    pay = [
        [table, qr],
        ["", Paragraph(f"Scan to pay {money(bill['payable_paise'])} by UPI", small)],
    ]
    layout = Table(pay, colWidths=[120 * mm, 60 * mm])
    layout.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story += [layout, Spacer(1, 2 * mm)]
    rebate = doc["prompt_rebate"]
    if rebate["paise"]:
        story.append(
            Paragraph(
                f"Prompt payment rebate of {money(rebate['paise'])} if paid by {day(rebate['by'])}.",
                small,
            )
        )
    story += [Spacer(1, 3 * mm), _chart(doc["history"])]
    tariffs = ", ".join(f"{t['code']} ({t['name']})" for t in bill["snapshot"]["tariffs"])
    story.append(Paragraph(f"Tariff: {tariffs}. * estimated month.", small))
    pdf.build(story)
    return out.getvalue()


def _quantity(line: dict[str, Any]) -> str:
    if line["unit"] == "%":
        return f"on {line['quantity']}"
    quantity = line["quantity"]
    if line["unit"] == "kWh" and quantity:
        quantity = decimal(Decimal(quantity))  # the energy priced, grouped like the reads'
    return f"{quantity} {line['unit']}".strip()


def _rate(line: dict[str, Any]) -> str:
    return f"{line['rate']}%" if line["unit"] == "%" and line["rate"] else line["rate"]


def _reading(milli: int, at: str | None) -> str:
    value = kwh(milli, grouped=False)  # as the meter's display shows it
    return f"{value} ({day(at)})" if at else value


# --- storing and serving ----------------------------------------------------------------


async def render_bill(bill_id: int, settings: Settings) -> Path:
    """Render and store an issued bill's PDF; returns its path."""
    bill = await Bill.get_or_none(id=bill_id)
    if bill is None:
        raise BillDocumentError(f"no bill #{bill_id}")
    if bill.status is BillStatus.DRAFT or bill.number is None:
        raise BillDocumentError(f"bill #{bill_id} is a draft: its document comes at issue")
    data = {
        "snapshot": bill.snapshot,
        "period_start": bill.period_start.isoformat(),
        "period_end": bill.period_end.isoformat(),
        "is_estimated": bill.is_estimated,
        "is_final": bill.is_final,
        "estimate_basis": bill.estimate_basis,
        "total_paise": bill.total_paise,
        "arrears_paise": bill.arrears_paise,
        "late_fee_paise": bill.late_fee_paise,
        "payable_paise": bill.payable_paise,
    }
    content = await asyncio.to_thread(render_pdf, data)
    relative = relative_path(bill.number)
    target = settings.var_dir / relative
    await asyncio.to_thread(_write_atomically, target, content)
    digest = hashlib.sha256(content).hexdigest()
    await Bill.filter(id=bill_id).update(
        pdf_path=relative.as_posix(), pdf_sha256=digest, updated_at=datetime.now(UTC)
    )
    return target


def _write_atomically(target: Path, content: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".{os.getpid()}.part")
    partial.write_bytes(content)
    partial.replace(target)


async def render_bills(bill_ids: Sequence[int], settings: Settings) -> int:
    for bill_id in bill_ids:
        await render_bill(bill_id, settings)
    return len(bill_ids)


async def pdf_for(bill_id: int, settings: Settings) -> Path:
    """The stored PDF of an issued bill, rendered now if it is missing or altered.

    Checking that the caller owns the bill is the API's job; this only finds the file.
    """
    bill = await Bill.get_or_none(id=bill_id)
    if bill is None:
        raise BillDocumentError(f"no bill #{bill_id}")
    if bill.pdf_path:
        path = settings.var_dir / bill.pdf_path
        if path.exists() and hashlib.sha256(path.read_bytes()).hexdigest() == bill.pdf_sha256:
            return path
    return await render_bill(bill_id, settings)
