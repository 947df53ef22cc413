"""Bill documents: a PDF per issued bill, rendered with ReportLab from the bill's snapshot.

The PDF shows what the issued snapshot froze (``snapshot["document"]``, written at issue
by :mod:`services.billing.snapshot`), so rendering it again gives the same bill, byte for
byte (fixed document date and ID, fonts subset the same way): the utility's name and
letterhead (address, helpline, GSTIN), account and premise, the period and the reads used
(actual or estimated, with the register's own decimals), consumption, the charges, arrears
and payments, the total and due date, a 12-month usage chart, and a UPI QR code
(``upi://pay?pa=…&pn=…&am=…&tn=…``) for the amount payable.

The bill is printed in the customer's language frozen at issue, English or Hindi
(:mod:`services.billing.bill_wording`), in Noto Sans with ₹ and shaped Devanagari
(:mod:`services.billing.bill_fonts`). Amounts are rupees in Indian grouping; a credit is
written ``₹120.00 Cr``, as Indian bills do, never with a minus sign. The charges table
leaves out lines of zero, gives each rate its unit (``₹7.63/kWh``, ``₹469/kW/month``,
``16%`` on ``₹1,034.72``), and explains a prorated demand or load charge
(``15 kW × ₹469/kW/month × 31/30 days``).

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
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas
from tortoise.connection import get_connection

from domain import proration
from domain.enums import BillStatus
from domain.indian_format import decimal, kwh, rupees
from domain.tariff import Proration
from gridbill.errors import UserError
from gridbill.settings import Settings
from services.billing import bill_fonts
from services.billing.bill_qr import qr_image
from services.billing.bill_text import Style, draw, lines
from services.billing.bill_wording import category, day, describe, language_of, text
from services.billing.energy_block import energy_lines
from store.models import Bill
from store.sql import Sql

GREY = colors.HexColor("#555555")
ACCENT = colors.HexColor("#1f4e79")
RULE = colors.HexColor("#bbbbbb")
CHART_MONTHS = 12
DEFAULT_ZONE = "Asia/Kolkata"


class BillDocumentError(UserError):
    """A bill that has no document (yet)."""


def money(paise: int, language: str = "en") -> str:
    """An amount as the bill prints it: ``₹12,34,567.89``, a credit ``₹120.00 Cr``."""
    if paise < 0:
        return f"{rupees(-paise)} {text('credit', language)}"
    return rupees(paise)


def relative_path(number: str) -> Path:
    """``bills/2026-27/BL-2026-27-000123.pdf`` for bill ``BL/2026-27/000123``."""
    year = number.split("/")[1]
    return Path("bills") / year / f"{number.replace('/', '-')}.pdf"


# --- the document -----------------------------------------------------------------------

PAGE_WIDTH, PAGE_HEIGHT = A4
LEFT = 13 * mm + 6  # the margin and the frame's padding, as the platypus page had them
TOP = PAGE_HEIGHT - 10 * mm - 6
BOTTOM = 10 * mm + 6
WIDTH = PAGE_WIDTH - 2 * LEFT
PAD = 3  # a table cell's padding left and right (none left of the first column)

CELL = Style(8, 10)
CELL_BOLD = Style(8, 10, bold=True)
SMALL = Style(7, 9, GREY)
BIG_BOLD = Style(10, 13, bold=True)
TITLE = Style(15, 19, ACCENT, bold=True)
HEADING = Style(11, 14, bold=True)
SECTION = Style(9, 12, ACCENT, bold=True)
QR_SIZE = 34 * mm
CHART = 34 * mm  # the history chart's height
HEADED = 2 * CELL.leading + 4  # a table's header and first row, kept with its heading


@dataclass(frozen=True)
class Cell:
    """A table cell: its texts stacked (a line's description and how it came about)."""

    blocks: tuple[tuple[str, Style], ...]
    align: str = "left"
    span: int = 1


def _cell(value: str, style: Style = CELL, align: str = "left", span: int = 1) -> Cell:
    return Cell(((value, style),), align, span)


BLANK = Cell(())


class Sheet:
    """A canvas with a cursor going down the page, starting a new page where the next
    block would not fit (an unusually long bill runs onto a second page)."""

    def __init__(self, canvas: Canvas) -> None:
        self.canvas = canvas
        self.y = TOP

    def room(self, height: float) -> None:
        if self.y - height < BOTTOM and self.y < TOP:
            self.canvas.showPage()
            self.y = TOP

    def paragraph(
        self, value: str, style: Style, *, before: float = 0, after: float = 0, keep: float = 0
    ) -> None:
        """``keep``: the height of what must follow on the same page (a heading's table)."""
        drawn = lines(value, style, WIDTH)
        if self.y < TOP:
            self.y -= before
        self.room(len(drawn) * style.leading + after + keep)
        self.y -= draw(self.canvas, LEFT, self.y, drawn, style) + after

    def rule(self, x: float, y: float, length: float, width: float, color: Any) -> None:
        self.canvas.setLineWidth(width)
        self.canvas.setStrokeColor(color)
        self.canvas.line(x, y, x + length, y)

    def table(
        self, rows: list[list[Cell]], widths: list[float], rules: dict[int, tuple[float, Any]]
    ) -> None:
        """Rows of cells (text top-aligned, 1 pt above and below, a row kept whole on its
        page); ``rules``: a line below row ``i``, its width and colour."""
        total = sum(widths)
        for i, row in enumerate(rows):
            laid = []
            left, column = LEFT, 0
            for cell in row:
                span = sum(widths[column : column + cell.span])
                inner = span - (PAD if column == 0 else 2 * PAD)
                blocks = [(lines(v, s, inner), s) for v, s in cell.blocks]
                laid.append((left + (0 if column == 0 else PAD), inner, blocks, cell.align))
                left += span
                column += cell.span
            height = 2 + max(
                (sum(len(b) * s.leading for b, s in blocks) for _, _, blocks, _ in laid),
                default=0,
            )
            self.room(height)
            for start, inner, blocks, align in laid:
                top = self.y - 1
                for drawn, style in blocks:
                    top -= draw(self.canvas, start, top, drawn, style, align=align, width=inner)
            self.y -= height
            if i in rules:
                self.rule(LEFT, self.y, total, *rules[i])


def render_pdf(bill: dict[str, Any]) -> bytes:
    """The bill's PDF from its issued snapshot (``bill`` holds the snapshot and the totals,
    and ``time_zone``, the utility's, in which the reads' timestamps are dated)."""
    doc = bill["snapshot"]["document"]
    usage = bill["snapshot"]["usage"]
    lang = language_of(doc.get("language"))
    zone = bill.get("time_zone") or DEFAULT_ZONE  # where the reads' dates are read
    bill_fonts.register()

    def t(key: str, **values: str) -> str:
        return text(key, lang, **values)

    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, invariant=1, lang="hi-IN" if lang == "hi" else "en-IN")
    canvas.setTitle(f"{t('title')} {doc['number']}")
    canvas.setAuthor(doc["utility"])
    sheet = Sheet(canvas)
    _letterhead(sheet, doc, t)
    sheet.paragraph(t("title"), HEADING, before=3, after=2)
    flags = t("estimated_bill") if bill["is_estimated"] else ""
    flags += t("final_bill") if bill["is_final"] else ""
    account = doc["account"]
    period = t(
        "period_range", start=day(bill["period_start"], lang), end=day(bill["period_end"], lang)
    )
    head = [
        [t("bill_number"), doc["number"], t("bill_date"), day(doc["issue_date"], lang)],
        [t("account"), account["number"], t("due_date"), day(doc["due_date"], lang)],
        [t("customer"), doc["customer"]["name"], t("category"), category(account["category"], lang)],
        [t("premise"), "\n".join(doc["premise"]), t("sanctioned_load"), f"{account['sanctioned_load_kw']} kW"],
    ]  # fmt: skip
    rows = [[_cell(a), _cell(b, CELL_BOLD), _cell(c), _cell(d, CELL_BOLD)] for a, b, c, d in head]
    rows.append([_cell(t("period")), _cell(period + flags, CELL_BOLD, span=3)])
    sheet.table(rows, [28 * mm, 82 * mm, 30 * mm, 39 * mm], {})
    sheet.paragraph(t("reads"), SECTION, before=2, after=1, keep=HEADED)
    reads = [[_cell(t(k), CELL_BOLD) for k in ("meter", "register", "previous", "present")]
             + [_cell(t(k), CELL_BOLD, "right") for k in ("multiplier", "units")]
             + [_cell(t("read"), CELL_BOLD)]]  # fmt: skip
    for r in doc["reads"]:
        reads.append(
            [_cell(r["meter"]), _cell(f"{r['register']} {r.get('unit', '')}".strip()),
             _cell(_reading(r, "opening", lang, zone)), _cell(_reading(r, "closing", lang, zone)),
             _cell(str(r["multiplier"]), align="right"), _cell(kwh(r["wh"]), align="right"),
             _cell(t("estimated" if r["estimated"] else "actual"))]
        )  # fmt: skip
    widths = [28 * mm, 22 * mm, 38 * mm, 38 * mm, 18 * mm, 20 * mm, 15 * mm]
    sheet.table(reads, widths, {0: (0.5, colors.black)})
    consumption = t("consumption", kwh=kwh(usage["wh"]), days=str(usage["days"]))
    if usage.get("max_demand_w"):
        demand = kwh(usage["max_demand_w"])  # W to kW (VA to kVA) as Wh to kWh
        consumption += t("max_demand", kw=demand, unit=usage.get("demand_unit", "kW"))
    if bill["estimate_basis"]:
        consumption += t("estimate_basis", basis=bill["estimate_basis"])
    sheet.paragraph(consumption, CELL, before=1 * mm)
    for line in energy_lines(bill["snapshot"]):  # solar, kVAh
        sheet.paragraph(line, CELL)
    sheet.paragraph(t("charges"), SECTION, before=2, after=1, keep=HEADED)
    _charges(sheet, bill, doc, usage, lang)
    sheet.y -= 2 * mm
    _payment(sheet, bill, doc, lang)
    rebate = doc["prompt_rebate"]
    if rebate["paise"] and bill["payable_paise"] > 0:
        amount = money(rebate["paise"], lang)
        sheet.paragraph(t("rebate", amount=amount, day=day(rebate["by"], lang)), CELL)
    sheet.paragraph(t("chart"), SECTION, before=2, after=1, keep=CHART + SMALL.leading)
    _chart(sheet, doc["history"], usage, lang)
    sheet.paragraph(t("chart_key") if doc["history"] else t("no_history"), SMALL)
    tariffs = ", ".join(f"{x['code']} ({x['name']})" for x in bill["snapshot"]["tariffs"])
    sheet.paragraph(t("tariff", tariffs=tariffs), SMALL)
    canvas.showPage()
    canvas.save()
    return out.getvalue()


def _letterhead(sheet: Sheet, doc: dict[str, Any], t: Any) -> None:
    """The utility's name, then its address, helpline and GSTIN where configured."""
    head = doc.get("letterhead") or {}
    rows = [x for x in head.get("address", "").split("\n") if x]
    contact = [f"{t(k)}: {head[k]}" for k in ("helpline", "gstin") if head.get(k)]
    if contact:
        rows.append(" · ".join(contact))
    sheet.paragraph(doc["utility"], TITLE)
    for row in rows:
        sheet.paragraph(row, SMALL)


def _other_items(arrears: dict[str, Any], lang: str) -> list[list[Cell]]:
    """One indented row per credit or debit since the previous bill (a rebate, a returned
    cheque and its fee, a rebill's credit note); snapshots frozen before they were listed
    have none."""
    return [
        [_cell("\u2003" + row["description"], SMALL), _cell(money(row["paise"], lang), align="right")]
        for row in arrears.get("other_items", [])
    ]  # fmt: skip


def _charges(
    sheet: Sheet, bill: dict[str, Any], doc: dict[str, Any], usage: dict[str, Any], lang: str
) -> None:
    rule = doc.get("proration")
    months = _month_parts(usage, Proration(**rule)) if rule else None
    rows: list[list[Cell]] = [
        [_cell(text("description", lang), CELL_BOLD)]
        + [_cell(text(k, lang), CELL_BOLD, "right") for k in ("quantity", "rate", "amount")]
    ]
    for line in doc["lines"]:
        if not line["amount_paise"]:
            continue  # a period with nothing in it, a zero rate: nothing to read
        quantity, why = _quantity(line, months, lang)
        description = Cell(
            ((describe(line["description"], lang), CELL), *(((why, SMALL),) if why else ()))
        )
        rows.append(
            [description, _cell(quantity, align="right"), _cell(_rate(line, lang), align="right"),
             _cell(money(line["amount_paise"], lang), align="right")]
        )  # fmt: skip
    rows.append(
        [_cell(text("current_charges", lang), CELL_BOLD), BLANK, BLANK,
         _cell(money(bill["total_paise"], lang), CELL_BOLD, "right")]
    )  # fmt: skip
    last = len(rows) - 1
    rules = {i: (0.25, RULE) for i in range(1, last - 1)}
    rules[0] = rules[last - 1] = (0.5, colors.black)
    sheet.table(rows, [91 * mm, 30 * mm, 30 * mm, 28 * mm], rules)


def _payment(sheet: Sheet, bill: dict[str, Any], doc: dict[str, Any], lang: str) -> None:
    """The account summary down to the amount payable, beside the UPI code that pays it."""
    arrears, late = doc["arrears"], doc["late_fee"]

    def t(key: str, **values: str) -> str:
        return text(key, lang, **values)

    previous = t("previous_bill") + (
        f" {arrears['previous_bill']}" if arrears["previous_bill"] else ""
    )
    surcharge = t("late_fee") + (t("late_fee_on", bill=late["bill"]) if late["paise"] else "")
    summary = [
        (previous, arrears["previous_payable_paise"]),
        (t("payments_since"), arrears["payments_paise"]),
        (t("other"), arrears["other_paise"]),
        (t("arrears"), bill["arrears_paise"]),
        (surcharge, bill["late_fee_paise"]),
        (t("current_charges"), bill["total_paise"]),
    ]  # fmt: skip
    rows = [[_cell(label), _cell(money(paise, lang), align="right")] for label, paise in summary]
    rows[3:3] = _other_items(arrears, lang)  # under "Other credits and debits"
    rows += [
        [_cell(t("total_payable"), BIG_BOLD), _cell(money(bill["payable_paise"], lang), BIG_BOLD, "right")],
        [_cell(t("pay_by"), BIG_BOLD), _cell(day(doc["due_date"], lang), BIG_BOLD, "right")],
    ]  # fmt: skip
    side = 56 * mm  # the code's column, right of the summary
    if bill["payable_paise"] > 0:
        note, style = t("scan", amount=money(bill["payable_paise"], lang)), SMALL
    else:  # a credit (solar export, a settlement): no code to pay it with
        note, style = t("nothing_to_pay", amount=money(-bill["payable_paise"], lang)), CELL
    noted = lines(note, style, side - 2 * PAD)
    code = QR_SIZE if bill["payable_paise"] > 0 else 0
    sheet.room(max(code + len(noted) * style.leading, (len(rows) + 2) * BIG_BOLD.leading))
    top, x = sheet.y, LEFT + 123 * mm
    sheet.table(rows, [82 * mm, 36 * mm], {len(rows) - 3: (0.5, colors.black)})
    if code:
        image = ImageReader(qr_image(doc["upi"]))
        sheet.canvas.drawImage(image, x + (side - code) / 2, top - code, code, code)
    draw(sheet.canvas, x + PAD, top - code, noted, style, align="centre", width=side - 2 * PAD)
    sheet.y = min(sheet.y, top - code - len(noted) * style.leading)


def _chart(
    sheet: Sheet, history: Sequence[dict[str, Any]], usage: dict[str, Any], lang: str
) -> None:
    """Billed energy in each of the 12 months to this bill's, as plain bars with their
    values. A month without a bill since the account's first gets a dash, not a bar of
    zero (a zero bar is a month billed at zero); months before the first bill stay empty."""
    if not history:
        sheet.y -= 1 * mm
        return
    sheet.room(CHART + SMALL.leading)  # with its key
    canvas = sheet.canvas
    months = _chart_months(history, usage)
    by_month = {h["month"]: h for h in history}
    first = min(by_month)
    x, y = LEFT + 14 * mm, sheet.y - CHART + 6 * mm  # the axes' corner
    width, height = 163 * mm, 25 * mm
    values = [round(by_month[m]["wh"] / 1000) if m in by_month else None for m in months]
    step, top = _scale(max((v for v in values if v is not None), default=0))
    label = Style(7, 8)
    canvas.setLineWidth(0.5)
    canvas.setStrokeColor(colors.black)
    canvas.line(x, y, x, y + height)
    canvas.line(x, y, x + width, y)
    for tick in range(0, top + 1, step):
        at = y + height * tick / top
        canvas.line(x - 3, at, x, at)
        shown = lines(decimal(Decimal(tick)), label, float("inf"))
        draw(canvas, x - 5 - shown[0][0], at + 2.5, shown, label)
    slot = width / len(months)
    for i, month in enumerate(months):
        value, centre = values[i], x + slot * (i + 0.5)
        canvas.line(x + slot * (i + 1), y, x + slot * (i + 1), y - 3)
        if value is not None:
            bar = height * value / top
            canvas.setFillColor(ACCENT)
            canvas.rect(centre - slot / 4, y, slot / 2, bar, stroke=0, fill=1)
            shown = lines(decimal(Decimal(value)), label, float("inf"))
            draw(canvas, centre - slot / 2, y + bar + 9, shown, label, align="centre", width=slot)
        elif month > first:
            dash = lines("–", Style(10, 10, GREY), float("inf"))
            draw(canvas, centre - slot / 2, y + 11, dash, Style(10, 10, GREY), align="centre", width=slot)  # fmt: skip
        estimated = "*" if by_month.get(month, {}).get("estimated") else ""
        name = lines(_month_label(month, lang) + estimated, label, float("inf"))
        draw(canvas, centre - slot / 2, y - 4, name, label, align="centre", width=slot)
    sheet.y -= CHART


def _scale(highest: int) -> tuple[int, int]:
    """The value axis' step and top: the smallest step of 1, 2 or 5 times a power of ten
    that reaches the highest bar in at most five steps; the top, the first step at or
    above the highest bar."""
    power = 1
    while True:
        for factor in (1, 2, 5):
            step = power * factor
            if step * 5 >= highest:
                return step, max(step, -(-highest // step) * step)
        power *= 10


def _chart_months(history: Sequence[dict[str, Any]], usage: dict[str, Any]) -> list[str]:
    """The 12 months (``YYYY-MM``) ending with this bill's month."""
    last = max(h["month"] for h in history)
    end = usage.get("end")
    if end:
        last = max(last, (date.fromisoformat(end[:10]) - timedelta(days=1)).strftime("%Y-%m"))
    count = int(last[:4]) * 12 + int(last[5:7]) - 1
    return [
        f"{index // 12:04d}-{index % 12 + 1:02d}"
        for index in range(count - CHART_MONTHS + 1, count + 1)
    ]


def _month_label(month: str, lang: str) -> str:
    first = date.fromisoformat(month + "-01")
    return f"{first:%m/%y}" if lang == "hi" else f"{first:%b %y}"


def _month_parts(usage: dict[str, Any], rule: Proration) -> list[tuple[int, int]] | None:
    """The period's month factor as (days, days of the month) parts, as pricing counts it."""
    try:
        span = proration.Span(date.fromisoformat(usage["start"]), date.fromisoformat(usage["end"]))
    except (KeyError, TypeError, ValueError):
        return None
    parts = proration.split(span, ())
    if rule.basis == "fixed_days":
        return [(span.days, rule.days)]
    return [(p.days, proration.days_in_month(p.start)) for p in parts]


def _quantity(
    line: dict[str, Any], months: list[tuple[int, int]] | None, lang: str
) -> tuple[str, str]:
    """The quantity column, and for a prorated load or demand charge how it came about."""
    unit, quantity = line["unit"], line["quantity"]
    if not quantity:
        return "", ""
    number = _number(quantity)
    if number is None:
        return f"{quantity} {unit}".strip(), ""
    if unit == "%":
        return text("on_amount", lang, amount=f"₹{decimal(number)}"), ""
    if unit in ("month", "day", "year"):
        plural = {"month": "months", "day": "days", "year": "year"}[unit]
        return f"{decimal(number)} {text(plural if number != 1 else unit, lang)}", ""
    if "·" in unit:
        load, per = unit.split("·", 1)
        explained = _prorated(number, load, per, line, months, lang)
        if explained:
            return explained
        return f"{decimal(number)} {load}·{text(per, lang)}", ""
    return f"{decimal(number)} {unit}".strip(), ""


def _prorated(
    number: Decimal, load: str, per: str, line: dict[str, Any],
    months: list[tuple[int, int]] | None, lang: str,
) -> tuple[str, str] | None:  # fmt: skip
    """``15 kW`` and ``15 kW × ₹469/kW/month × 31/30 days`` for 15.5 kW·month, when the
    quantity is exactly the billed load or demand times the period's month factor."""
    if per != "month" or not months:
        return None
    factor = sum((Fraction(d, m) for d, m in months), Fraction(0))
    kw = (Fraction(number) / factor).limit_denominator(1000)
    shown = Decimal(kw.numerator) / Decimal(kw.denominator)
    try:
        shown = shown.quantize(Decimal("0.001")).normalize()
    except InvalidOperation:
        return None
    expected = Fraction(shown) * factor
    if _places(expected) != number.quantize(Decimal("0.001")):
        return None
    if len(months) == 1:
        share = f"{months[0][0]}/{months[0][1]} {text('days', lang)}"
    else:
        share = "(" + " + ".join(f"{d}/{m}" for d, m in months) + f") {text('months', lang)}"
    rate = _rate(line, lang)
    return f"{decimal(shown)} {load}", f"{decimal(shown)} {load} × {rate} × {share}"


def _rate(line: dict[str, Any], lang: str) -> str:
    """``₹7.63/kWh``, ``₹469/kW/month``, ``16%``: the rate with its unit."""
    unit, rate = line["unit"], line["rate"]
    number = _number(rate) if rate else None
    if number is None:
        return rate or ""
    if unit == "%":
        return f"{decimal(number)}%"
    sign = "-" if number < 0 else ""
    amount = f"{sign}₹{decimal(abs(number))}"
    if not unit:
        return amount
    parts = (text(u, lang) if u in ("month", "day", "year") else u for u in unit.split("·"))
    return amount + "".join(text("per", lang, unit=part) for part in parts)


def _places(value: Fraction) -> Decimal:
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal("0.001"))


def _number(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _reading(read: dict[str, Any], which: str, lang: str, zone: str) -> str:
    """A register read as its display shows it (its own decimals), with its date."""
    milli, at = read[which], read.get(f"{which}_at")
    if "decimals" in read:
        places = Decimal(1).scaleb(-int(read["decimals"]))
        value = f"{Decimal(milli).scaleb(-3).quantize(places, rounding=ROUND_DOWN):f}"
    else:  # bills issued before the snapshot kept the register's decimals
        value = kwh(milli, grouped=False)
    return f"{value} ({day(at, lang, zone)})" if at else value


# --- storing and serving ----------------------------------------------------------------


async def render_bill(bill_id: int, settings: Settings) -> Path:
    """Render and store an issued bill's PDF; returns its path."""
    bill = _renderable(await Bill.get_or_none(id=bill_id), bill_id)
    relative, digest = await _render_and_write(bill, settings)
    await Bill.filter(id=bill_id).update(
        pdf_path=relative.as_posix(), pdf_sha256=digest, updated_at=datetime.now(UTC)
    )
    return settings.var_dir / relative


async def render_bills(bill_ids: Sequence[int], settings: Settings) -> int:
    """Render and store the PDFs of issued bills (a ``render_bill_pdfs`` job's): one query
    reads them all and one batch of updates records their files, where a bill at a time
    took two round trips a bill. The files written before a failure are recorded too."""
    ids = list(bill_ids)
    bills = {bill.id: bill for bill in await Bill.filter(id__in=ids)}
    stored: list[list[Any]] = []
    sql = Sql(get_connection("default"))
    try:
        for bill_id in ids:
            relative, digest = await _render_and_write(
                _renderable(bills.get(bill_id), bill_id), settings
            )
            stored.append([relative.as_posix(), digest, sql.ts(datetime.now(UTC)), bill_id])
    finally:
        await sql.many(
            "UPDATE bills SET pdf_path = ?, pdf_sha256 = ?, updated_at = ? WHERE id = ?", stored
        )
    return len(ids)


def _renderable(bill: Bill | None, bill_id: int) -> Bill:
    if bill is None:
        raise BillDocumentError(f"no bill #{bill_id}")
    if bill.status is BillStatus.DRAFT or bill.number is None:
        raise BillDocumentError(f"bill #{bill_id} is a draft: its document comes at issue")
    return bill


async def _render_and_write(bill: Bill, settings: Settings) -> tuple[Path, str]:
    """Render ``bill`` and write its file; returns the file's path (under the var
    directory) and its SHA-256."""
    assert bill.number is not None  # checked by _renderable
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
        "time_zone": settings.time_zone,
    }
    relative = relative_path(bill.number)
    target = settings.var_dir / relative
    content = await asyncio.to_thread(_render_to, data, target)
    return relative, hashlib.sha256(content).hexdigest()


def _render_to(data: dict[str, Any], target: Path) -> bytes:
    """Render and write in one thread hop (the page is CPU work, the file a write)."""
    content = render_pdf(data)
    _write_atomically(target, content)
    return content


def _write_atomically(target: Path, content: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".{os.getpid()}.part")
    partial.write_bytes(content)
    partial.replace(target)


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
