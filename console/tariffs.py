"""Tariffs: the versions of each tariff, importing a document, and a side-by-side preview.

The preview parses the pasted document with the tariff engine (``domain.tariff``) and
prices sample monthly usages (``domain.pricing.price``) under the version in force today
and under the new document, without storing anything; a document the engine rejects
shows the engine's message. Importing stores it with ``services.billing.tariffs.
add_version`` (what ``createTariffVersion`` and ``gridbill tariff import`` call): an
administrator's decision, as in the API.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from console.pages import Console, Form
from console.session import Staff
from domain import strict_json
from domain.enums import AccountCategory
from domain.metering import PricingError
from domain.pricing import price
from domain.tariff import Tariff as TariffRules
from domain.tariff import TariffError, parse_tariff
from domain.usage import TotalUsage, UsageError
from gridbill.errors import UserError
from services.billing.tariffs import add_version
from services.errors import Refused
from store.models import Tariff, TariffVersion

DEFAULT_SAMPLES = "50, 100, 200, 300, 500"
MAX_SAMPLES = 12
SAMPLE_DAYS = 30
SAMPLE_LOAD_KW = Decimal(5)


@dataclass(frozen=True)
class Sample:
    kwh: Decimal
    old: int | str | None  # paise, or why it cannot be priced, or None: no old version
    new: int | str


def _document(text: str) -> dict[str, Any]:
    try:
        document = strict_json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise Refused("TARIFF_INVALID", f"the document is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise Refused("TARIFF_INVALID", "a tariff document is a JSON object")
    return document


def _samples(text: str) -> list[Decimal]:
    try:
        values = [Decimal(v) for v in text.replace(",", " ").split()]
    except InvalidOperation:
        raise Refused("INVALID_INPUT", "give the sample usages as kWh numbers") from None
    if not values or len(values) > MAX_SAMPLES or any(not v.is_finite() or v < 0 for v in values):
        raise Refused("INVALID_INPUT", f"give 1 to {MAX_SAMPLES} sample usages of 0 kWh or more")
    return values


def _quote(rules: TariffRules, kwh: Decimal, start: date) -> int | str:
    """One month's bill in paise, or the engine's reason it cannot price this usage."""
    try:
        usage = TotalUsage(kwh=kwh, start=start, end=start + timedelta(days=SAMPLE_DAYS))
        quote = price(rules, usage, sanctioned_load_kw=SAMPLE_LOAD_KW)
    except (PricingError, UsageError) as exc:
        return str(exc)
    return int(quote.total * 100)


async def _versions() -> list[tuple[Tariff, list[TariffVersion]]]:
    tariffs = await Tariff.all().order_by("code")
    versions = await TariffVersion.all().order_by("tariff_id", "-version")
    by_tariff: dict[int, list[TariffVersion]] = {}
    for version in versions:
        by_tariff.setdefault(version.tariff_id, []).append(version)  # type: ignore[attr-defined]
    return [(t, by_tariff.get(t.id, [])) for t in tariffs]


def _page(console: Console, staff: Staff, tariffs: Any, values: dict[str, str], *,
          message: str = "", status: int = 200, preview: dict[str, Any] | None = None,
          notice: str = "") -> Response:  # fmt: skip
    return console.render(
        "tariffs.html", staff, status=status, tariffs=tariffs, values=values, message=message,
        preview=preview, notice=notice, categories=[c.value for c in AccountCategory],
    )  # fmt: skip


def _values(form: Form) -> dict[str, str]:
    return {
        "document": form.get("document", ""),
        "effective_from": form.get("effective_from", ""),
        "category": form.get("category", AccountCategory.DOMESTIC.value),
        "source_reference": form.get("source_reference", ""),
        "samples": form.get("samples", DEFAULT_SAMPLES),
    }


async def tariffs_page(console: Console, request: Request, staff: Staff, form: Form) -> Response:
    return _page(
        console, staff, await _versions(), _values({}), notice=request.query_params.get("done", "")
    )


def _effective(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise Refused(
            "INVALID_INPUT", "give the date the version takes effect as YYYY-MM-DD"
        ) from None


async def preview(console: Console, request: Request, staff: Staff, form: Form) -> Response:
    """Parse the document and price the samples under the current and the new version."""
    values = _values(form)
    tariffs = await _versions()
    try:
        document = _document(values["document"])
        try:
            new = parse_tariff(document)
        except TariffError as exc:
            raise Refused("TARIFF_INVALID", f"tariff document rejected: {exc}") from None
        start = _effective(values["effective_from"])
        current = await TariffVersion.filter(tariff__code=new.code).order_by("-version").first()
        old = parse_tariff(current.document) if current else None
        samples = [
            Sample(kwh, _quote(old, kwh, start) if old else None, _quote(new, kwh, start))
            for kwh in _samples(values["samples"])
        ]
    except Refused as exc:
        return _page(console, staff, tariffs, values, message=exc.message, status=400)
    return _page(
        console, staff, tariffs, values,
        preview={"code": new.code, "name": new.name, "current": current, "samples": samples,
                 "days": SAMPLE_DAYS, "load_kw": SAMPLE_LOAD_KW},
    )  # fmt: skip


async def import_version(console: Console, request: Request, staff: Staff, form: Form) -> Response:
    values = _values(form)
    try:
        if values["category"] not in {c.value for c in AccountCategory}:
            raise Refused("INVALID_INPUT", "choose the tariff's category")
        stored = await add_version(
            staff.viewer, document=_document(values["document"]),
            effective_from=_effective(values["effective_from"]), category=values["category"],
            source_reference=values["source_reference"].strip(),
        )  # fmt: skip
    except (Refused, UserError) as exc:
        message = exc.message if isinstance(exc, Refused) else str(exc)
        return _page(console, staff, await _versions(), values, message=message, status=400)
    return RedirectResponse(
        f"/console/tariffs?done={stored.code}+version+{stored.version}", status_code=303
    )
