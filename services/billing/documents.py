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
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Any

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    Flowable,
    Image,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from domain import proration
from domain.enums import BillStatus
from domain.indian_format import decimal, kwh, rupees
from domain.tariff import Proration
from gridbill.errors import UserError
from gridbill.settings import Settings
from services.billing import bill_fonts
from services.billing.bill_fonts import markup, needs_shaping
from services.billing.bill_qr import qr_png
from services.billing.bill_wording import category, day, describe, language_of, text
from services.billing.energy_block import energy_lines
from store.models import Bill

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


class Styles:
    """The paragraph styles of one bill: Noto Sans, shaped, Devanagari by :func:`markup`."""

    def __init__(self) -> None:
        bill_fonts.register()
        base = ParagraphStyle("cell", fontName=bill_fonts.LATIN, fontSize=8, leading=10, shaping=1)
        self.cell = base
        self.right = ParagraphStyle("right", parent=base, alignment=TA_RIGHT)
        self.small = ParagraphStyle("small", parent=base, fontSize=7, leading=9, textColor=GREY)
        self.big = ParagraphStyle("big", parent=base, fontSize=10, leading=13)
        self.big_right = ParagraphStyle("big_right", parent=self.big, alignment=TA_RIGHT)
        self.title = ParagraphStyle("title", parent=base, fontSize=15, leading=19, textColor=ACCENT)
        self.heading = ParagraphStyle(
            "heading", parent=base, fontSize=11, leading=14, spaceBefore=3, spaceAfter=2
        )
        self.section = ParagraphStyle(
            "section", parent=base, fontSize=9, leading=12, spaceBefore=2, spaceAfter=1,
            textColor=ACCENT,
        )  # fmt: skip


@cache
def _styles() -> Styles:
    """The styles, made once per process (so :func:`_unshaped` keeps a copy of each)."""
    return Styles()


def _p(value: str, style: ParagraphStyle, *, bold: bool = False) -> Paragraph:
    return _paragraph(markup(value, bold=bold), style)


def _paragraph(marked: str, style: ParagraphStyle) -> Paragraph:
    """A paragraph, shaped only if it holds Devanagari: shaping Latin text would join
    "ff" into a ligature, and the PDF's text would no longer read "Tariff"."""
    return _OnceParagraph(marked, style if needs_shaping(marked) else _unshaped(style))


class _OnceParagraph(Paragraph):  # type: ignore[misc]
    """A paragraph that breaks (and shapes) its lines once per width.

    A table measures every cell and then draws it, and ReportLab wraps a paragraph anew
    each time: half of a page's line breaking, and for a Hindi bill half of its HarfBuzz
    shaping, was done twice for the same width. The lines depend on the width alone (not
    the height offered), so the second wrap can only repeat the first.
    """

    _wrapped: tuple[float, tuple[float, float]] | None = None

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        if self._wrapped is not None and self._wrapped[0] == availWidth:
            return self._wrapped[1]
        size: tuple[float, float] = super().wrap(availWidth, availHeight)
        self._wrapped = (availWidth, size)
        return size


@cache
def _unshaped(style: ParagraphStyle) -> ParagraphStyle:
    return ParagraphStyle(f"{style.name}-latin", parent=style, shaping=0)


def _table(
    rows: list[list[Any]], widths: list[float], *, header: bool = True, style: Any = ()
) -> Table:
    table = Table(rows, colWidths=widths, hAlign="LEFT")
    commands: list[tuple[Any, ...]] = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
        ("TOPPADDING", (0, 0), (-1, -1), 1),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("LEFTPADDING", (0, 0), (0, -1), 0),
    ]
    if header:
        commands.append(("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black))
    table.setStyle(TableStyle([*commands, *style]))
    return table


def render_pdf(bill: dict[str, Any]) -> bytes:
    """The bill's PDF from its issued snapshot (``bill`` holds the snapshot and the totals,
    and ``time_zone``, the utility's, in which the reads' timestamps are dated)."""
    doc = bill["snapshot"]["document"]
    usage = bill["snapshot"]["usage"]
    lang = language_of(doc.get("language"))
    zone = bill.get("time_zone") or DEFAULT_ZONE  # where the reads' dates are read
    st = _styles()

    def t(key: str, **values: str) -> str:
        return text(key, lang, **values)

    def cash(paise: int) -> str:
        return money(paise, lang)

    out = io.BytesIO()
    pdf = SimpleDocTemplate(
        out, pagesize=A4, leftMargin=13 * mm, rightMargin=13 * mm, topMargin=10 * mm,
        bottomMargin=10 * mm, title=f"{t('title')} {doc['number']}", author=doc["utility"],
        invariant=1, lang="hi-IN" if lang == "hi" else "en-IN",
    )  # fmt: skip
    story: list[Any] = [*_letterhead(doc, st, t), _p(t("title"), st.heading, bold=True)]
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
    rows = [
        [_p(a, st.cell), _lines(b, st.cell, bold=True), _p(c, st.cell), _p(d, st.cell, bold=True)]
        for a, b, c, d in head
    ]
    rows.append([_p(t("period"), st.cell), _p(period + flags, st.cell, bold=True), "", ""])
    span = [("SPAN", (1, 4), (3, 4))]
    story += [_table(rows, [28 * mm, 82 * mm, 30 * mm, 39 * mm], header=False, style=span)]
    story.append(_p(t("reads"), st.section, bold=True))
    reads = [[_p(t(k), st.cell, bold=True) for k in ("meter", "register", "previous", "present")]
             + [_p(t(k), st.right, bold=True) for k in ("multiplier", "units")]
             + [_p(t("read"), st.cell, bold=True)]]  # fmt: skip
    for r in doc["reads"]:
        reads.append(
            [_p(r["meter"], st.cell), _p(f"{r['register']} {r.get('unit', '')}".strip(), st.cell),
             _p(_reading(r, "opening", lang, zone), st.cell), _p(_reading(r, "closing", lang, zone), st.cell),
             _p(str(r["multiplier"]), st.right), _p(kwh(r["wh"]), st.right),
             _p(t("estimated" if r["estimated"] else "actual"), st.cell)]
        )  # fmt: skip
    story += [_table(reads, [28 * mm, 22 * mm, 38 * mm, 38 * mm, 18 * mm, 20 * mm, 15 * mm])]
    consumption = t("consumption", kwh=kwh(usage["wh"]), days=str(usage["days"]))
    if usage.get("max_demand_w"):
        demand = kwh(usage["max_demand_w"])  # W to kW (VA to kVA) as Wh to kWh
        consumption += t("max_demand", kw=demand, unit=usage.get("demand_unit", "kW"))
    if bill["estimate_basis"]:
        consumption += t("estimate_basis", basis=bill["estimate_basis"])
    story += [Spacer(1, 1 * mm), _p(consumption, st.cell)]
    story += [_p(line, st.cell) for line in energy_lines(bill["snapshot"])]  # solar, kVAh
    story.append(_p(t("charges"), st.section, bold=True))
    story.append(_charges(bill, doc, usage, st, lang))
    story += [Spacer(1, 2 * mm), _payment(bill, doc, st, lang)]
    rebate = doc["prompt_rebate"]
    if rebate["paise"] and bill["payable_paise"] > 0:
        story.append(
            _p(t("rebate", amount=cash(rebate["paise"]), day=day(rebate["by"], lang)), st.cell)
        )
    story += [
        _p(t("chart"), st.section, bold=True),
        _chart(doc["history"], usage, lang),
        _p(t("chart_key") if doc["history"] else t("no_history"), st.small),
    ]
    tariffs = ", ".join(f"{x['code']} ({x['name']})" for x in bill["snapshot"]["tariffs"])
    story.append(_p(t("tariff", tariffs=tariffs), st.small))
    pdf.build(story)
    return out.getvalue()


def _letterhead(doc: dict[str, Any], st: Styles, t: Any) -> list[Any]:
    """The utility's name, then its address, helpline and GSTIN where configured."""
    head = doc.get("letterhead") or {}
    lines = [x for x in head.get("address", "").split("\n") if x]
    contact = [f"{t(k)}: {head[k]}" for k in ("helpline", "gstin") if head.get(k)]
    if contact:
        lines.append(" · ".join(contact))
    return [_p(doc["utility"], st.title, bold=True), *(_p(x, st.small) for x in lines)]


def _other_items(arrears: dict[str, Any], st: Styles, lang: str) -> list[list[Any]]:
    """One indented row per credit or debit since the previous bill (a rebate, a returned
    cheque and its fee, a rebill's credit note); snapshots frozen before they were listed
    have none."""
    return [
        [_p("\u2003" + row["description"], st.small), _p(money(row["paise"], lang), st.right)]
        for row in arrears.get("other_items", [])
    ]


def _lines(value: str, style: ParagraphStyle, *, bold: bool = False) -> Paragraph:
    return _paragraph("<br/>".join(markup(x, bold=bold) for x in value.split("\n")), style)


def _charges(
    bill: dict[str, Any], doc: dict[str, Any], usage: dict[str, Any], st: Styles, lang: str
) -> Table:
    rule = doc.get("proration")
    months = _month_parts(usage, Proration(**rule)) if rule else None
    rows: list[list[Any]] = [
        [_p(text("description", lang), st.cell, bold=True), _p(text("quantity", lang), st.right, bold=True),
         _p(text("rate", lang), st.right, bold=True), _p(text("amount", lang), st.right, bold=True)]
    ]  # fmt: skip
    for line in doc["lines"]:
        if not line["amount_paise"]:
            continue  # a period with nothing in it, a zero rate: nothing to read
        description = describe(line["description"], lang)
        quantity, why = _quantity(line, months, lang)
        cell = [markup(description)] + (
            [f'<font size="7" color="#555555">{markup(why)}</font>'] if why else []
        )
        rows.append(
            [_paragraph("<br/>".join(cell), st.cell), _p(quantity, st.right),
             _p(_rate(line, lang), st.right), _p(money(line["amount_paise"], lang), st.right)]
        )  # fmt: skip
    rows.append(
        [_p(text("current_charges", lang), st.cell, bold=True), "", "",
         _p(money(bill["total_paise"], lang), st.right, bold=True)]
    )  # fmt: skip
    last = len(rows) - 1
    style = [
        ("LINEABOVE", (0, last), (-1, last), 0.5, colors.black),
        ("LINEBELOW", (0, 1), (-1, last - 1), 0.25, RULE),
    ]
    return _table(rows, [91 * mm, 30 * mm, 30 * mm, 28 * mm], style=style)


def _payment(bill: dict[str, Any], doc: dict[str, Any], st: Styles, lang: str) -> Table:
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
    rows = [[_p(label, st.cell), _p(money(paise, lang), st.right)] for label, paise in summary]
    rows[3:3] = _other_items(arrears, st, lang)  # under "Other credits and debits"
    rows += [
        [_p(t("total_payable"), st.big, bold=True), _p(money(bill["payable_paise"], lang), st.big_right, bold=True)],
        [_p(t("pay_by"), st.big, bold=True), _p(day(doc["due_date"], lang), st.big_right, bold=True)],
    ]  # fmt: skip
    total = len(rows) - 2  # the line above "Total payable"
    style = [("LINEABOVE", (0, total), (-1, total), 0.5, colors.black)]
    table = _table(
        rows, [82 * mm, 36 * mm], header=False, style=style
    )  # fits "… on BL/2026-27/000123"
    if bill["payable_paise"] > 0:
        qr: Flowable = Image(io.BytesIO(qr_png(doc["upi"])), width=34 * mm, height=34 * mm)
        scan = _p(t("scan", amount=money(bill["payable_paise"], lang)), st.small)
    else:  # a credit (solar export, a settlement): no code to pay it with
        qr, scan = _p(t("nothing_to_pay", amount=money(-bill["payable_paise"], lang)), st.cell), ""
    layout = Table([[table, qr], ["", scan]], hAlign="LEFT", colWidths=[123 * mm, 56 * mm])
    layout.setStyle(
        TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("ALIGN", (1, 0), (1, -1), "CENTER"),
                    ("LEFTPADDING", (0, 0), (-1, -1), 0), ("TOPPADDING", (0, 0), (-1, -1), 0),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 0)])
    )  # fmt: skip
    return layout


def _chart(history: Sequence[dict[str, Any]], usage: dict[str, Any], lang: str) -> Drawing:
    """Billed energy in each of the 12 months to this bill's. A month without a bill since
    the account's first gets a dash, not a bar of zero (a zero bar is a month billed at
    zero); months before the first bill stay empty."""
    if not history:
        return Drawing(179 * mm, 1 * mm)
    drawing = Drawing(179 * mm, 34 * mm)
    months = _chart_months(history, usage)
    by_month = {h["month"]: h for h in history}
    first = min(by_month)
    chart = VerticalBarChart()
    chart.x, chart.y = 14 * mm, 6 * mm
    chart.width, chart.height = 163 * mm, 25 * mm
    values = [round(by_month[m]["wh"] / 1000) if m in by_month else None for m in months]
    chart.data = [values]
    chart.categoryAxis.categoryNames = [
        _month_label(m, lang) + ("*" if by_month.get(m, {}).get("estimated") else "")
        for m in months
    ]
    for labels in (chart.categoryAxis.labels, chart.valueAxis.labels, chart.barLabels):
        labels.fontName, labels.fontSize = bill_fonts.LATIN, 7
    chart.valueAxis.labelTextFormat = lambda value: decimal(Decimal(str(value)).normalize())
    chart.valueAxis.valueMin = 0
    chart.bars[0].fillColor = ACCENT
    chart.barLabelFormat = lambda value: decimal(Decimal(str(value)))
    chart.barLabels.nudge = 5
    chart.barWidth, chart.groupSpacing = 6, 6
    drawing.add(chart)
    step = chart.width / len(months)
    for i, month in enumerate(months):
        if month not in by_month and month > first:
            drawing.add(
                String(chart.x + step * (i + 0.5), chart.y + 2, "–", fontName=bill_fonts.LATIN,
                       fontSize=10, fillColor=GREY, textAnchor="middle")
            )  # fmt: skip
    return drawing


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
        "time_zone": settings.time_zone,
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
