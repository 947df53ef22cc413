"""What-if bill estimates: "what would N kWh cost on my tariff?"

The same tariff engine as the bill run (``domain.pricing``), on the versions of the
account's tariff in force over the period, the account's sanctioned load and the
tariff's holiday calendar. Nothing is stored.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from tortoise.expressions import Q

from domain.enums import BillStatus
from domain.metering import PricingError
from domain.pricing import Effective, Quote, price
from domain.tariff import Tariff as TariffRules
from domain.tariff import TariffError, parse_tariff
from domain.usage import TotalUsage, UsageByPeriod, UsageError
from services.errors import Refused
from store.models import Account, Bill, Holiday, Tariff, TariffAssignment, TariffVersion

MAX_KWH = Decimal(10_000_000)
MAX_DAYS = 366


@dataclass(frozen=True)
class Estimate:
    tariff: Tariff
    rules: TariffRules
    quote: Quote


async def estimate(
    account: Account, *, kwh: Decimal, start: date, days: int, max_demand_kw: Decimal | None = None
) -> Estimate:
    if not kwh.is_finite() or kwh < 0 or kwh > MAX_KWH:
        raise Refused("INVALID_INPUT", "kWh must be between 0 and 10,000,000", field="kwh")
    if not 1 <= days <= MAX_DAYS:
        raise Refused("INVALID_INPUT", f"days must be between 1 and {MAX_DAYS}", field="days")
    end = start + timedelta(days=days)
    assignment = (
        await TariffAssignment.filter(account_id=account.id, effective_from__lte=start)
        .filter(Q(effective_to__isnull=True) | Q(effective_to__gt=start))
        .order_by("-effective_from")
        .first()
    )
    if assignment is None:
        assignment = (
            await TariffAssignment.filter(account_id=account.id).order_by("-effective_from").first()
        )
    if assignment is None:
        raise Refused("NO_TARIFF", "the account is not on a tariff yet")
    tariff = await Tariff.get(id=assignment.tariff_id)  # type: ignore[attr-defined]
    versions = await TariffVersion.filter(
        Q(effective_to__isnull=True) | Q(effective_to__gt=start),
        tariff_id=tariff.id,
        effective_from__lt=end,
    ).order_by("effective_from")
    if not versions:
        raise Refused("NO_TARIFF", f"tariff {tariff.code} has no rates in force then")
    try:
        effective = [
            Effective(parse_tariff(v.document), v.effective_from, v.effective_to) for v in versions
        ]
    except TariffError as exc:
        raise Refused("TARIFF_INVALID", f"tariff {tariff.code} cannot be used: {exc}") from None
    first = effective[0]
    if first.start > start:  # the account's first period starts before the first version
        effective[0] = Effective(first.tariff, start, first.end)
    holiday_days: list[date] = await Holiday.filter(  # type: ignore[assignment]
        calendar=tariff.holiday_calendar, day__gte=start, day__lt=end
    ).values_list("day", flat=True)
    holidays = frozenset(holiday_days)
    contract = account.contract_demand_va
    rules = effective[-1].tariff
    wants_demand = max_demand_kw is None and bool(rules.demand_charges)
    shaped = rules.export is not None or rules.energy_unit == "kVAh"
    recent = await _recent_bills(account.id) if wants_demand or shaped else []
    if wants_demand:
        max_demand_kw = _last_billed_demand_kw(recent)
    usage = _usage(rules, kwh, start, end, max_demand_kw, holidays)
    if isinstance(usage, TotalUsage) and shaped:
        usage = _as_last_billed(recent, usage, days)
    try:
        quote = price(
            effective,
            usage,
            sanctioned_load_kw=Decimal(account.sanctioned_load_w) / 1000,
            contract_demand_kva=Decimal(contract) / 1000 if contract is not None else None,
            holidays=holidays,
        )
    except (PricingError, UsageError) as exc:
        raise Refused("NOT_PRICEABLE", f"cannot estimate on {tariff.code}: {exc}") from None
    return Estimate(tariff, effective[-1].tariff, quote)


def _usage(
    rules: TariffRules,
    kwh: Decimal,
    start: date,
    end: date,
    max_demand_kw: Decimal | None,
    holidays: frozenset[date],
) -> TotalUsage | UsageByPeriod:
    """One total, or on a time-of-use tariff the total used evenly over the hours and
    shared among the periods by the hours each covers (:meth:`Calendar.even_split`)."""
    charges = [e for category in rules.categories for e in category.energy_charges]
    names = {e.calendar for e in charges if e.calendar is not None}
    if len(names) != 1:  # no time of use, or charges on different calendars: as given
        return TotalUsage(kwh, start, end, max_demand_kw)
    calendar = rules.calendars[names.pop()]
    split = calendar.even_split(kwh, start, end, holidays)
    return UsageByPeriod(split, start, end, max_demand_kw)


async def _recent_bills(account_id: int) -> list[dict[str, Any]]:
    """The account's latest twelve issued bills, newest first: whether each was estimated,
    and its snapshot (what an estimate borrows from them)."""
    return await (
        Bill.filter(account_id=account_id, status=BillStatus.ISSUED)
        .order_by("-period_end", "-id")
        .limit(12)
        .values("is_estimated", "snapshot")
    )


def _as_last_billed(recent: list[dict[str, Any]], usage: TotalUsage, days: int) -> TotalUsage:
    """A rooftop-solar or kVAh-billed account's estimate, shaped like its latest actual bill.

    The customer gives the kWh they will import; what the meter also counts is taken from
    the latest actual bill that has it: the solar export per day, over ``days``, and the
    kVAh per kWh (its power factor). Without such a bill, no export and a power factor of
    1: the estimate is then what the import alone would cost.
    """
    export_per_day, kvah_per_kwh = Decimal(0), Decimal(1)
    for bill in recent:
        if bill["is_estimated"]:
            continue
        snapshot: dict[str, Any] = bill["snapshot"] or {}
        solar, used = snapshot.get("solar") or {}, snapshot.get("usage") or {}
        if not used.get("days"):
            continue
        if "export_wh" in solar:
            export_per_day = Decimal(int(solar["export_wh"])) / 1000 / int(used["days"])
        if used.get("kvah_vah") and used.get("wh"):
            kvah_per_kwh = Decimal(int(used["kvah_vah"])) / Decimal(int(used["wh"]))
        break
    export = (export_per_day * days).quantize(Decimal("0.001"))
    kvah = (usage.kwh * kvah_per_kwh).quantize(Decimal("0.001"))
    return replace(usage, export_kwh=export, kvah=kvah)


def _last_billed_demand_kw(recent: list[dict[str, Any]]) -> Decimal | None:
    """The maximum demand recorded on the account's latest issued bill that has one: what
    a demand tariff's estimate assumes when the customer gives none."""
    for bill in recent:
        snapshot: dict[str, Any] = bill["snapshot"] or {}
        watts = (snapshot.get("usage") or {}).get("max_demand_w")
        if watts:
            return Decimal(int(watts)) / 1000
    return None
