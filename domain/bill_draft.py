"""One account's bill for a billing month, priced from its prefetched inputs.

Pure: the inputs are :mod:`domain.bill_inputs`'s plain values, which the bill run
(``services.billing.runs``) loads for a chunk of accounts and persists the drafts of.

:func:`plan` picks the reads (``domain.billing``'s read window), the opening values (the
previous bill's closing reads, or for a true-up the last actual ones), the meters in the
period (a replacement gives two spans per register) and whether interval data prices it.
:func:`draft` turns a plan into consumption, prices it with the tariff versions in force
(``domain.pricing.price``, the engine ``gridbill quote`` uses) and assembles the bill's
lines, or estimates when there is no actual read. Accounts that cannot be billed get a
:class:`Skip` with the reason the run summary counts.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from domain.bill_inputs import (
    AccountInputs,
    Installation,
    PreviousBill,
    Read,
    Reg,
    TariffBook,
    Version,
)
from domain.billing import (
    Amounts,
    BillingMonth,
    BillLineData,
    EstimatedBill,
    bill_lines,
    nearest,
)
from domain.consumption import (
    EXPORT_OBIS,
    KVAH_OBIS,
    ConsumptionError,
    Measured,
    Multiplier,
    Span,
    closing_for,
    kwh,
    measure,
    register_usage,
)
from domain.estimation import EstimationError, Period, estimate
from domain.metering import PricingError
from domain.pricing import Effective, Quote, price
from domain.tariff import NetMetering
from domain.usage import IntervalUsage, TotalUsage, Usage, UsageByPeriod, UsageError

TOTAL_OBIS = "1.8.0"
DEMAND_OBIS = "1.6.0"
KVA_DEMAND_OBIS = "9.6.0"  # maximum apparent demand: tariffs whose demand charges are per kVA
QUOTE_CACHE_SIZE = 1_024


@dataclass(frozen=True)
class Skip:
    """Why an account gets no bill: ``reason`` is what the run counts, ``detail`` the specifics."""

    reason: str
    detail: str = ""


@dataclass(frozen=True)
class Context:
    month: BillingMonth
    read_day: int
    zone: ZoneInfo

    @property
    def scheduled(self) -> date:
        return self.month.scheduled_read(self.read_day)

    @property
    def window(self) -> tuple[date, date]:
        return self.month.read_window(self.read_day)


@dataclass
class BillReadData:
    register_id: int
    opening_read_id: int | None
    closing_read_id: int | None
    opening_milli: int
    closing_milli: int
    multiplier: str
    consumption_wh: int
    is_estimated: bool


@dataclass
class Plan:
    account: AccountInputs
    period_start: date  # this bill's own period
    opening_at: datetime | None
    closing: Read | None
    closing_install: Installation | None
    openings: dict[int, tuple[int | None, int]]  # register id → (read id, value)
    true_up: list[PreviousBill]
    is_final: bool = False
    interval_register: Reg | None = None
    spans: list[tuple[Reg, Span, int | None, int | None]] = field(default_factory=list)
    demand: list[tuple[int, Multiplier]] = field(default_factory=list)
    demand_kva: list[tuple[int, Multiplier]] = field(default_factory=list)
    demand_by_period: dict[str, list[tuple[int, Multiplier]]] = field(default_factory=dict)

    @property
    def priced_start(self) -> date:
        return self.true_up[-1].period_start if self.true_up else self.period_start


@dataclass
class Draft:
    account_id: int
    customer_id: int
    period_start: date
    period_end: date
    is_estimated: bool
    is_final: bool
    estimate_basis: str
    currency: str
    consumption_wh: int
    max_demand_w: int
    lines: list[BillLineData]
    charges_paise: int
    rounding_paise: int
    arrears_paise: int
    tariff_version_id: int
    snapshot: dict[str, Any]
    reads: list[BillReadData]

    @property
    def total_paise(self) -> int:
        return self.charges_paise + self.rounding_paise


@dataclass(frozen=True)
class History:
    """What a bill carries from the bills before it: the solar units banked on the last
    one and the maximum demands recorded on the actual ones (latest first, for a ratchet).

    Read from the earlier bills' snapshots and columns, never from a running balance, so
    a rerun or a rebill of the same period prices the same.
    """

    banked_kwh: Decimal = Decimal(0)
    past_demands_kw: tuple[Decimal, ...] = ()


def history(account: AccountInputs, start: date, tariffs: Sequence[Version]) -> History:
    """The history the bill priced from ``start`` needs, under the tariffs in force."""
    before = [b for b in account.bills if b.period_end < start]  # newest first
    banked = Decimal(0)
    if before and any(isinstance(v.tariff.export, NetMetering) for v in tariffs):
        solar = before[0].snapshot.get("solar") or {}
        banked = Decimal(int(solar.get("banked_out_wh", 0))).scaleb(-3)
    demands: tuple[Decimal, ...] = ()
    if any(c.ratchet for v in tariffs for c in v.tariff.demand_charges):
        # A bill's maximum demand is in kW or in kVA as its tariff was; after a change of
        # unit the other unit's demands say nothing about this one, so they do not ratchet.
        unit = "kVA" if _in_kva(tariffs) else "kW"
        demands = tuple(
            Decimal(b.max_demand_w).scaleb(-3)
            for b in before
            if not b.is_estimated and b.usage.get("demand_unit", "kW") == unit
        )
    return History(banked, demands)


class QuoteCache:
    """Bills with the same tariffs, usage and load price the same: price them once.

    Whole-kWh register reads and shared cycle dates make repeats common; the cache is
    bounded, so memory does not grow with the number of accounts.
    """

    def __init__(self, size: int = QUOTE_CACHE_SIZE) -> None:
        self.size = size
        self._quotes: OrderedDict[Hashable, Quote] = OrderedDict()
        # Lines of the cached quotes (by the quote's id, None until first built).
        self._lines: dict[int, tuple[list[BillLineData], Amounts] | None] = {}
        self.hits = 0

    def price(
        self,
        versions: Sequence[tuple[Version, Effective]],
        usage: Usage,
        load_kw: Decimal,
        contract_kva: Decimal | None,
        holidays: frozenset[date],
        calendar_name: str,
        history: History | None = None,
    ) -> Quote:
        history = history or History()
        key = _usage_key(usage)
        if key is not None:
            key = (
                tuple((v.id, e.start, e.end) for v, e in versions),
                key,
                load_kw,
                contract_kva,
                calendar_name,
                history.banked_kwh,
                history.past_demands_kw,
            )
            found = self._quotes.get(key)
            if found is not None:
                self.hits += 1
                self._quotes.move_to_end(key)
                return found
        quote = price(
            [e for _, e in versions],
            usage,
            sanctioned_load_kw=load_kw,
            contract_demand_kva=contract_kva,
            holidays=holidays,
            banked_kwh=history.banked_kwh,
            past_demands_kw=history.past_demands_kw,
        )
        if key is not None:
            self._quotes[key] = quote
            self._lines[id(quote)] = None
            if len(self._quotes) > self.size:
                _, dropped = self._quotes.popitem(last=False)
                self._lines.pop(id(dropped), None)
        return quote

    def lines(
        self, quote: Quote, true_up: Sequence[EstimatedBill]
    ) -> tuple[list[BillLineData], Amounts]:
        """The quote's bill lines; for a cached quote without true-up, built once."""
        if true_up or id(quote) not in self._lines:
            return bill_lines(quote, true_up)
        found = self._lines[id(quote)]
        if found is None:
            found = self._lines[id(quote)] = bill_lines(quote)
        return found


def _usage_key(usage: Usage) -> Hashable | None:
    if isinstance(usage, TotalUsage):
        return (
            "total", usage.kwh, usage.start, usage.end, usage.max_demand_kw, usage.export_kwh,
            usage.kvah,
        )  # fmt: skip
    if isinstance(usage, UsageByPeriod):
        items = tuple(usage.kwh_by_period.items())
        demands = tuple(usage.max_demand_kw_by_period.items())
        return ("periods", items, usage.start, usage.end, usage.max_demand_kw, demands)
    return None


# --- planning -------------------------------------------------------------------------


def plan(
    account: AccountInputs,
    ctx: Context,
    *,
    closing_override: Read | None = None,
    is_final: bool = False,
) -> Plan | Skip:
    bills = account.bills
    prev = bills[0] if bills else None
    first, last = ctx.window
    if prev is not None and not is_final:
        if prev.period_end + timedelta(days=1) >= first:
            return Skip("already billed")
        if prev.status == "draft":
            return Skip("previous bill still a draft")
        if prev.is_final and not any(h.move_in_on > prev.period_end for h in account.holders):
            return Skip("moved out: final bill issued")
    chain: list[PreviousBill] = []
    for bill in bills:
        chain.append(bill)
        if not bill.is_estimated:
            break
    actual = chain[-1] if chain and not chain[-1].is_estimated else None
    true_up = [b for b in chain if b.is_estimated]
    openings: dict[int, tuple[int | None, int]] = {}
    opening_at: datetime | None = None
    if actual is not None:
        for row in actual.reads:
            openings[row.register_id] = (row.closing_read_id, row.closing_milli)
            read = account.opening_reads.get(row.closing_read_id or 0)
            if read is not None:
                opening_at = max(opening_at, read.read_at) if opening_at else read.read_at
    elif true_up:
        for row in true_up[-1].reads:
            openings[row.register_id] = (row.opening_read_id, row.opening_milli)
            read = account.opening_reads.get(row.opening_read_id or 0)
            if read is not None:
                opening_at = max(opening_at, read.read_at) if opening_at else read.read_at

    closing, install = closing_override, None
    if closing is None:
        closing, install = _closing_read(account, ctx, opening_at, first, last)
    else:
        install = next((i for i in account.installations if i.covers(closing.read_at)), None)
    if prev is None:
        # An account's first bill opens at the last read before the closing one (or, to
        # estimate, the last read before the window).
        ref_install = install or _installed_at(account, ctx)
        if ref_install is None:
            return Skip("no meter installed")
        before = closing.read_at if closing else None
        opened = _last_reads_before(account, ref_install, before, first, ctx.zone)
        if not opened:
            return Skip("no opening read")
        openings = {reg_id: (read.id, read.value_milli) for reg_id, read in opened.items()}
        opening_at = max(read.read_at for read in opened.values())
        period_start = opening_at.astimezone(ctx.zone).date()
    else:
        period_start = prev.period_end + timedelta(days=1)
    result = Plan(
        account, period_start, opening_at, closing, install, openings, true_up, is_final=is_final
    )
    if closing is None:
        if prev is None and not openings:
            return Skip("no reads")
        return result
    if closing.local_date <= result.priced_start:
        return Skip("no new read since the last bill")
    problem = _spans(result)
    return Skip(problem) if problem else result


def _installed_at(account: AccountInputs, ctx: Context) -> Installation | None:
    moment = datetime.combine(ctx.scheduled, datetime.min.time(), tzinfo=ctx.zone)
    return next((i for i in reversed(account.installations) if i.covers(moment)), None)


def _closing_read(
    account: AccountInputs, ctx: Context, opening_at: datetime | None, first: date, last: date
) -> tuple[Read | None, Installation | None]:
    candidates: list[tuple[date, tuple[Read, Installation]]] = []
    for install in account.installations:
        reg = install.register(TOTAL_OBIS)
        if reg is None:
            continue
        for read in account.reads.get(reg.id, []):
            if not first <= read.local_date <= last or not install.covers(read.read_at):
                continue
            if opening_at is not None and read.read_at <= opening_at:
                continue
            if read.read_type in ("install", "move_in"):
                continue
            candidates.append((read.local_date, (read, install)))
    candidates.sort(key=lambda c: c[1][0].read_at)
    chosen = nearest(candidates, ctx.scheduled)
    return chosen if chosen is not None else (None, None)


def _last_reads_before(
    account: AccountInputs,
    install: Installation,
    before: datetime | None,
    window_first: date,
    zone: ZoneInfo,
) -> dict[int, Read]:
    """Each register's last read before ``before`` (or before the window) on ``install``."""
    found: dict[int, Read] = {}
    total = install.register(TOTAL_OBIS)
    if total is None:
        return found
    anchor: Read | None = None
    for read in account.reads.get(total.id, []):
        if read.read_at < install.installed_at:
            continue
        if (before is not None and read.read_at >= before) or (
            before is None and read.local_date >= window_first
        ):
            break
        anchor = read
    if anchor is None:
        return found
    for reg in install.registers:
        same = [r for r in account.reads.get(reg.id, []) if r.read_at == anchor.read_at]
        if same:
            found[reg.id] = same[-1]
    return found


def _at_capture(account: AccountInputs, reg: Reg, moment: datetime) -> Read | None:
    same = [r for r in account.reads.get(reg.id, []) if r.read_at == moment]
    return same[-1] if same else None


def _spans(p: Plan) -> str | None:
    """Fill the plan's register spans and demand readings; a problem is a skip reason."""
    account, closing = p.account, p.closing
    assert closing is not None and p.closing_install is not None
    start = p.opening_at
    involved = [
        i
        for i in account.installations
        if (i.removed_at is None or start is None or i.removed_at > start)
        and i.installed_at < closing.read_at
    ]
    if p.closing_install not in involved:
        involved.append(p.closing_install)
    meters: set[int] = set()
    for install in involved:
        is_closing = install is p.closing_install
        end_at = closing.read_at if is_closing else install.removed_at
        if end_at is None:
            continue
        for reg in install.registers:
            if reg.unit not in ("kWh", "kVAh", "kW", "kVA"):
                continue
            end_read = (
                _at_capture(account, reg, end_at)
                if is_closing
                else _last_on_or_before(account, reg, end_at)
            )
            if end_read is None:
                if reg.obis == TOTAL_OBIS:
                    return (
                        "meter replaced without a removal read"
                        if not is_closing
                        else ("closing read incomplete")
                    )
                continue
            multiplier = install.multiplier_at(end_read.read_at)
            if reg.unit == "kVA":
                if reg.obis == KVA_DEMAND_OBIS:
                    p.demand_kva.append((end_read.value_milli, multiplier))
                continue
            if reg.unit == "kW":
                if reg.obis == DEMAND_OBIS:
                    p.demand.append((end_read.value_milli, multiplier))
                elif reg.obis.startswith("1.6.") and reg.tou_period:
                    found = p.demand_by_period.setdefault(reg.tou_period, [])
                    found.append((end_read.value_milli, multiplier))
                continue
            if not reg.obis.startswith("1.8.") and reg.obis not in (EXPORT_OBIS, KVAH_OBIS):
                continue
            opening = p.openings.get(reg.id)
            if opening is None and p.opening_at is not None and install.covers(p.opening_at):
                # A register the last bill did not record (export, kVAh): from its value
                # at the same capture as the bill's other opening reads.
                same = _at_capture(account, reg, p.opening_at)
                opening = None if same is None else (same.id, same.value_milli)
            if opening is None:
                first = _first_on_or_after(account, reg, install.installed_at)
                if first is None or first.read_at >= end_read.read_at:
                    if reg.obis == TOTAL_OBIS:
                        return "new meter has no installation read"
                    continue
                opening = (first.id, first.value_milli)
            span = Span(
                reg.obis, reg.digits, opening[1], end_read.value_milli, multiplier, reg.tou_period
            )
            p.spans.append((reg, span, opening[0], end_read.id))
            meters.add(install.id)
    if not any(reg.obis == TOTAL_OBIS for reg, _, _, _ in p.spans):
        return "no opening read"
    single = len(meters) == 1
    if single and p.closing_install.meter_kind == "smart" and p.opening_at is not None:
        p.interval_register = p.closing_install.register(TOTAL_OBIS)
    return None


def _last_on_or_before(account: AccountInputs, reg: Reg, moment: datetime) -> Read | None:
    found = None
    for read in account.reads.get(reg.id, []):
        if read.read_at > moment:
            break
        found = read
    return found


def _first_on_or_after(account: AccountInputs, reg: Reg, moment: datetime) -> Read | None:
    return next((r for r in account.reads.get(reg.id, []) if r.read_at >= moment), None)


# --- drafting -------------------------------------------------------------------------


def draft(
    p: Plan,
    ctx: Context,
    book: TariffBook,
    cache: QuoteCache,
    intervals: list[tuple[datetime, int, int]] | None = None,
) -> Draft | Skip:
    account = p.account
    estimated = p.closing is None
    end = ctx.scheduled if estimated else p.closing.local_date  # type: ignore[union-attr]
    start = p.period_start if estimated else p.priced_start
    if end <= start:
        return Skip("no days to bill")
    versions = book.effective(account.assignments, start, end)
    if not versions:
        return Skip("no tariff in force")
    tou_periods, tou_calendar = _tou(versions)
    wants_demand = any(v.tariff.demand_charges for v, _ in versions)
    # Demand charges per kVA are billed on the apparent-demand register (9.6.0), per kW on
    # 1.6.0: the bill's maximum demand is then in kVA (its column says VA, not W).
    per_kva = _in_kva([v for v, _ in versions])
    demand_registers = p.demand_kva if per_kva else p.demand
    reads: list[BillReadData] = []
    try:
        if estimated:
            usage, measured, basis = _estimated(
                p, ctx, start, end, tou_periods, wants_demand, reads
            )
            source = "estimate"
        else:
            measured = measure(
                [span for _, span, _, _ in p.spans],
                demand_registers,
                TOTAL_OBIS,
                p.demand_by_period,
            )
            usage = register_usage(measured, start, end, tou_periods=tou_periods)
            source, basis = "registers", ""
            if p.interval_register is not None and intervals is not None:
                interval_usage = _interval_usage(p, intervals)
                if interval_usage is not None:
                    usage, source = interval_usage, "intervals"
            for reg, span, opening_id, closing_id in p.spans:
                reads.append(
                    BillReadData(
                        reg.id,
                        opening_id,
                        closing_id,
                        span.opening_milli,
                        span.closing_milli,
                        str(span.multiplier),
                        span.wh,
                        False,
                    )
                )
    except ConsumptionError as exc:
        return Skip("unusable reads", str(exc))
    except (EstimationError, UsageError) as exc:
        return Skip("cannot estimate" if estimated else "unusable reads", str(exc))
    holidays = book.holidays.get(versions[0][0].holiday_calendar, frozenset())
    load_kw = Decimal(account.sanctioned_load_w).scaleb(-3)
    contract = (
        None
        if account.contract_demand_va is None
        else Decimal(account.contract_demand_va).scaleb(-3)
    )
    try:
        exports = any(v.tariff.export is not None for v, _ in versions)
        if exports and not estimated and measured.export_wh is None:
            raise PricingError("the tariff bills solar export: the meter needs a 2.8.0 read")
        past = history(account, start, [v for v, _ in versions])
        quote = cache.price(versions, usage, load_kw, contract, holidays, tou_calendar, past)
    except PricingError as exc:
        return Skip("cannot price", str(exc))
    true_up = [
        EstimatedBill(b.number or f"#{b.id}", b.period_start, b.period_end, b.total_paise)
        for b in reversed(p.true_up)
    ]
    lines, amounts = cache.lines(quote, true_up if not estimated else ())
    period_end = end - timedelta(days=1)
    customer = _holder(account, period_end)
    if customer is None:
        return Skip("no account holder")
    demand = measured.max_demand_w
    if isinstance(usage, IntervalUsage) and wants_demand:
        demand = int(max(usage.kwh) * (3600 // int(usage.interval.total_seconds())) * 1000)
    snapshot = {
        "period": str(ctx.month),
        "usage": {
            "start": start.isoformat(),
            "end": end.isoformat(),
            "days": (end - start).days,
            "wh": measured.total_wh,
            "by_period": dict(measured.by_period_wh),
            "max_demand_w": demand,
            "source": source,
            **_energy_extras(measured, quote, past, per_kva),
        },
        "tariffs": [
            {
                "version_id": v.id,
                "code": v.tariff.code,
                "name": v.tariff.name,
                "sha256": v.sha256,
                "from": e.start.isoformat(),
                "to": e.end.isoformat() if e.end else None,
            }
            for v, e in versions
        ],
        **({"solar": _solar(measured, quote)} if exports else {}),
        "estimate": basis or None,
        "true_up": [
            {"bill_id": b.id, "label": b.number or f"#{b.id}", "total_paise": b.total_paise}
            for b in reversed(p.true_up)
        ]
        if not estimated
        else [],
    }
    return Draft(
        account_id=account.id,
        customer_id=customer,
        period_start=p.period_start,
        period_end=period_end,
        is_estimated=estimated,
        is_final=p.is_final,
        estimate_basis=basis,
        currency=quote.currency,
        consumption_wh=measured.total_wh,
        max_demand_w=demand or 0,
        lines=lines,
        charges_paise=amounts.charges_paise,
        rounding_paise=amounts.rounding_paise,
        arrears_paise=account.balance_paise,
        tariff_version_id=versions[-1][0].id,
        snapshot=snapshot,
        reads=reads,
    )


def _wh(kwh_value: Decimal) -> int:
    """Exact kWh (to the Wh, as netting keeps them) as integer Wh."""
    return int(kwh_value.scaleb(3).to_integral_value())


def _solar(measured: Measured, quote: Quote) -> dict[str, Any]:
    """Import, export, net, banked and settled units of a solar bill, in Wh.
    ``banked_out_wh`` is what the next bill starts from."""
    export = measured.export_wh or 0
    shown: dict[str, Any] = {
        "scheme": "gross",
        "import_wh": measured.total_wh,
        "export_wh": export,
        "net_wh": measured.total_wh - export,
    }
    n = quote.netting
    if n is not None:
        shown |= {
            "scheme": "net",
            "banked_in_wh": _wh(n.banked_in),
            "billed_wh": _wh(n.billed),
            "settled_wh": _wh(n.settled),
            "lapsed_wh": _wh(n.lapsed),
            "banked_out_wh": _wh(n.banked_out),
        }
    return shown


def _energy_extras(
    measured: Measured, quote: Quote, past: History, per_kva: bool
) -> dict[str, Any]:
    """kVAh and power factor, time-of-day maximum demands, and the earlier demands a
    ratchet priced with, where there are any (in kVA where the demand charges are)."""
    extras: dict[str, Any] = {}
    if measured.kvah_vah is not None:
        extras["kvah_vah"] = measured.kvah_vah
    if measured.max_demand_w_by_period:
        extras["max_demand_w_by_period"] = dict(measured.max_demand_w_by_period)
    if quote.power_factor is not None:
        extras["power_factor"] = str(quote.power_factor)
    if past.past_demands_kw:
        extras["past_demands_w"] = [_wh(d) for d in past.past_demands_kw]
    if per_kva:
        extras["demand_unit"] = "kVA"  # the maximum demands above are VA, not W
    return extras


def _tou(versions: Sequence[tuple[Version, Effective]]) -> tuple[tuple[str, ...], str]:
    for v, _ in versions:
        for category in v.tariff.categories:
            for charge in category.energy_charges:
                if charge.calendar is not None:
                    return v.tariff.calendars[charge.calendar].periods, charge.calendar
    return (), ""


def _holder(account: AccountInputs, day: date) -> int | None:
    found = None
    for h in account.holders:
        if h.move_in_on <= day:
            found = h.customer_id
    return found


def _history(account: AccountInputs) -> list[Period]:
    periods = []
    for bill in account.bills:
        if bill.is_estimated:
            continue
        usage = bill.usage
        if not usage:
            continue
        periods.append(
            Period(
                int(usage.get("days", 0)),
                int(usage.get("wh", 0)),
                {k: int(v) for k, v in usage.get("by_period", {}).items()},
                usage.get("max_demand_w"),
            )
        )
    return periods


def _in_kva(tariffs: Sequence[Version]) -> bool:
    """Whether the demand charges are per kVA (billed on the apparent-demand register)."""
    return any(c.unit == "kVA" for v in tariffs for c in v.tariff.demand_charges)


def _estimated(
    p: Plan,
    ctx: Context,
    start: date,
    end: date,
    tou_periods: Sequence[str],
    wants_demand: bool,
    reads: list[BillReadData],
) -> tuple[Usage, Measured, str]:
    account = p.account
    install = _installed_at(account, ctx)
    registers = install.registers if install else []
    reg_periods = [r.tou_period for r in registers if r.obis.startswith("1.8.") and r.tou_period]
    periods = [t for t in reg_periods if t in tou_periods]
    guess = estimate(
        (end - start).days,
        _history(account),
        category=account.category,
        sanctioned_load_w=account.sanctioned_load_w,
        tou_periods=periods,
        wants_demand=wants_demand,
    )
    measured = Measured(guess.wh, dict(guess.by_period_wh), guess.max_demand_w)
    if tou_periods and not periods:
        raise EstimationError("cannot estimate time-of-day use without TOU registers")
    prev = account.bills[0] if account.bills else None
    openings = (
        {r.register_id: (r.closing_read_id, r.closing_milli) for r in prev.reads}
        if prev is not None
        else p.openings
    )
    if install is not None:
        multiplier = install.multiplier_at(datetime.combine(start, datetime.min.time(), ctx.zone))
        for reg in registers:
            opening = openings.get(reg.id)
            if opening is None or not reg.obis.startswith("1.8."):
                continue
            wh = guess.wh if reg.obis == TOTAL_OBIS else guess.by_period_wh.get(reg.tou_period, 0)
            closing = closing_for(opening[1], wh, multiplier, reg.digits)
            reads.append(
                BillReadData(
                    reg.id, opening[0], None, opening[1], closing, str(multiplier), wh, True
                )
            )
    usage = register_usage(measured, start, end, tou_periods=tou_periods)
    return usage, measured, guess.basis


def _interval_usage(p: Plan, intervals: list[tuple[datetime, int, int]]) -> IntervalUsage | None:
    """The period's intervals, if they are complete and evenly spaced; else None."""
    assert p.opening_at is not None and p.closing is not None
    if not intervals:
        return None
    length = intervals[0][1]
    step = timedelta(seconds=length)
    expected = (p.closing.read_at - p.opening_at) / step
    if expected != len(intervals) or intervals[0][0] != p.opening_at:
        return None
    multiplier = p.closing_install.multiplier_at(p.closing.read_at)  # type: ignore[union-attr]
    values = []
    for i, (start, size, wh) in enumerate(intervals):
        if size != length or start != p.opening_at + i * step:
            return None
        values.append(kwh(wh) * Decimal(multiplier.ratio.numerator) / multiplier.ratio.denominator)
    try:
        return IntervalUsage(p.opening_at, step, tuple(values))
    except UsageError:
        return None
