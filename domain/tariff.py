"""The tariff document: gridbill's JSON format for a regulator's rate schedule.

``parse_tariff`` turns the JSON (already loaded, numbers as Decimal or strings) into frozen
dataclasses, or raises :class:`TariffError` naming the field and the problem, e.g.
``energy_charges[0].slabs[2].rate: must be a non-negative decimal``. The format is
documented for analysts in ``docs/tariffs.md``; this module is its single source of truth.

Every rate is a :class:`Slabs`: a flat rate is one open slab, so one piece of slab
arithmetic (``domain.slabs``) prices energy, load-slab fixed charges, demand tiers and
free units alike.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Literal, NoReturn, TypeVar, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain import tou
from domain.tou import Calendar, CalendarError, DayType, Rule

FORMAT = "gridbill-tariff/1"

SlabMode = Literal["telescopic", "non_telescopic"]
LimitUnit = Literal["month", "day"]
Per = Literal["month", "day", "year"]
FixedBasis = Literal["per_bill", "per_kw", "per_kva"]
AdjustmentKind = Literal["levy", "credit"]
AdjustmentHow = Literal["percent", "per_kwh", "per_month", "free_units"]
BilledTo = Literal["customer", "government"]
BILLED_TO: tuple[BilledTo, ...] = ("customer", "government")
ProrationBasis = Literal["calendar_month", "fixed_days"]
WidthRounding = Literal["none", "nearest", "down"]
RoundingPoint = Literal["line", "segment", "total"]

S = TypeVar("S", bound=str)
T = TypeVar("T")

PRORATION_BASES: tuple[ProrationBasis, ...] = ("calendar_month", "fixed_days")
SLAB_MODES: tuple[SlabMode, ...] = ("telescopic", "non_telescopic")
FIXED_BASES: tuple[FixedBasis, ...] = ("per_bill", "per_kw", "per_kva")
WIDTH_ROUNDINGS: tuple[WidthRounding, ...] = ("none", "nearest", "down")
ROUNDING_POINTS: tuple[RoundingPoint, ...] = ("line", "segment", "total")


class TariffError(ValueError):
    """A tariff document that cannot be used: ``path`` names the field, ``problem`` says why."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}" if path else problem)


# --- the model ------------------------------------------------------------------------


@dataclass(frozen=True)
class Slab:
    up_to: Decimal | None  # cumulative upper limit, inclusive; None for the last slab
    rate: Decimal


@dataclass(frozen=True)
class Slabs:
    """Rates by quantity: telescopic (each unit at its slab's rate) or non-telescopic
    (every unit at the rate of the slab the total falls in). ``limits_per`` says whether
    the limits are per month (prorated by the month factor) or per day (× days)."""

    slabs: tuple[Slab, ...]
    mode: SlabMode = "telescopic"
    limits_per: LimitUnit = "month"

    @property
    def is_flat(self) -> bool:
        return len(self.slabs) == 1


@dataclass(frozen=True)
class FixedCharge:
    code: str
    description: str
    basis: FixedBasis
    per: Per
    pricing: Slabs
    chosen_by: Literal["flat", "load", "kwh"]
    load_rounding: Literal["exact", "up"] = "exact"


@dataclass(frozen=True)
class EnergyCharge:
    """A rate or slabs on energy; time of use gives each period its own. ``tiers_on``
    says what a time-of-use charge's slabs count: each period's energy, or the month's
    total energy across periods, its tiers shared out in proportion (URDB, NREL SAM)."""

    code: str
    description: str
    slabs: Slabs | None = None
    calendar: str | None = None
    periods: Mapping[str, Slabs] = field(default_factory=dict)
    tiers_on: Literal["period_energy", "total_energy"] = "period_energy"


@dataclass(frozen=True)
class DemandFloor:
    percent: Decimal
    of: Literal["sanctioned_load", "contract_demand"]


@dataclass(frozen=True)
class DemandCharge:
    code: str
    description: str
    unit: Literal["kW", "kVA"]
    pricing: Slabs
    calendar: str | None = None
    period: str | None = None
    months: frozenset[int] | None = None
    floor: DemandFloor | None = None
    ratchet: Ratchet | None = None
    window_minutes: int | None = None  # demand averaged over clock windows of this length


@dataclass(frozen=True)
class Ratchet:
    """Billing demand is at least ``percent`` of the highest demand recorded in the
    previous ``months`` bills (a demand ratchet)."""

    percent: Decimal
    months: int


@dataclass(frozen=True)
class NetMetering:
    """Rooftop solar, net metered: export nets import, a surplus is banked to later bills
    and settled at ``settlement_rate`` on the bill holding the last day of
    ``settlement_month`` (March: a year from April to March). Banked units above
    ``banking_cap_kwh`` lapse."""

    settlement_month: int
    settlement_rates: tuple[DatedRate, ...]
    banking_cap_kwh: Decimal | None = None


@dataclass(frozen=True)
class GrossMetering:
    """Rooftop solar, gross metered: every exported unit is bought at the feed-in rate,
    and import is billed in full."""

    feed_in_rates: tuple[DatedRate, ...]


@dataclass(frozen=True)
class PowerFactorBand:
    """``above`` < PF ≤ ``up_to``: a surcharge (positive percent) or rebate (negative)."""

    above: Decimal | None
    up_to: Decimal | None
    percent: Decimal


@dataclass(frozen=True)
class PowerFactor:
    """A surcharge or rebate on ``base`` by the period's average power factor, kWh ÷ kVAh,
    rounded half up to ``decimals`` places."""

    bands: tuple[PowerFactorBand, ...]
    base: tuple[str, ...]
    decimals: int = 2


@dataclass(frozen=True)
class MinimumCharge:
    """The least the named lines may come to; the rate may be chosen by sanctioned load
    (``chosen_by == "load"``: "₹120/kW up to 2 kW, ₹70/kW above")."""

    code: str
    description: str
    basis: Literal["per_bill", "per_kw"]
    per: Per
    pricing: Slabs
    base: tuple[str, ...]
    chosen_by: Literal["flat", "load"] = "flat"


@dataclass(frozen=True)
class DatedRate:
    start: date
    end: date | None  # exclusive
    rate: Decimal

    def covers(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day < self.end)


def rate_on(rates: Sequence[DatedRate], day: date) -> Decimal | None:
    """The rate in force on ``day``: a levy's, a feed-in or settlement rate's (None if none)."""
    return next((r.rate for r in rates if r.covers(day)), None)


@dataclass(frozen=True)
class KwhBand:
    """Eligibility by monthly consumption: ``above`` < kWh ≤ ``up_to`` (prorated)."""

    above: Decimal | None
    up_to: Decimal | None


@dataclass(frozen=True)
class LevyPart:
    """The part of a percentage levy or credit that fell on some of its base's lines:
    a tax counted on "8% of energy" names the surcharge's part on ``EC`` only."""

    code: str
    on: tuple[str, ...]


@dataclass(frozen=True)
class Adjustment:
    """A levy (duty, tax, surcharge, fuel adjustment) or a credit (subsidy, rebate).

    ``base`` names lines by code (a whole charge ``EC``, or one slab ``EC.2``); ``parts``
    names parts of other percentage levies (:class:`LevyPart`).
    """

    code: str
    description: str
    kind: AdjustmentKind
    how: AdjustmentHow
    rates: tuple[DatedRate, ...]
    base: tuple[str, ...] = ()
    charge: str | None = None  # free units: the energy charge whose units are free
    cap_per_month: Decimal | None = None
    band: KwhBand | None = None
    parts: tuple[LevyPart, ...] = ()
    billed_to: BilledTo = "customer"  # a credit the government pays: a subsidy line

    def rate_on(self, day: date) -> Decimal | None:
        return rate_on(self.rates, day)


@dataclass(frozen=True)
class Category:
    """Fixed and energy charges that apply when the total falls within ``up_to`` kWh."""

    name: str
    up_to: Decimal | None
    fixed_charges: tuple[FixedCharge, ...]
    energy_charges: tuple[EnergyCharge, ...]


@dataclass(frozen=True)
class Proration:
    basis: ProrationBasis = "calendar_month"
    days: int = 30
    slab_widths: WidthRounding = "none"  # round each prorated slab width to whole units


@dataclass(frozen=True)
class LatePayment:
    percent_per_month: Decimal
    grace_days: int
    accrual: Literal["daily", "per_month_or_part"]


@dataclass(frozen=True)
class PromptPayment:
    percent: Decimal
    within_days: int
    base: tuple[str, ...]


@dataclass(frozen=True)
class Tariff:
    code: str
    name: str
    currency: str
    time_zone: str
    source: str
    proration: Proration
    categories: tuple[Category, ...]
    calendars: Mapping[str, Calendar]
    demand_charges: tuple[DemandCharge, ...]
    minimum_charge: MinimumCharge | None
    adjustments: tuple[Adjustment, ...]
    total_rounding: Decimal | None = None
    rounding_point: RoundingPoint = "line"
    late_payment: LatePayment | None = None
    prompt_payment: PromptPayment | None = None
    notes: str = ""
    energy_unit: Literal["kWh", "kVAh"] = "kWh"
    export: NetMetering | GrossMetering | None = None
    power_factor: PowerFactor | None = None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def rate_change_dates(self) -> frozenset[date]:
        """Dates within which a dated rate (e.g. a quarterly fuel adjustment) changes."""
        return frozenset(
            d for a in self.adjustments for r in a.rates for d in (r.start, r.end) if d
        )


def charge_codes(tariff: Tariff) -> frozenset[str]:
    codes = {f.code for c in tariff.categories for f in c.fixed_charges}
    codes |= {e.code for c in tariff.categories for e in c.energy_charges}
    codes |= {d.code for d in tariff.demand_charges}
    if tariff.minimum_charge:
        codes.add(tariff.minimum_charge.code)
    return frozenset(codes)


def line_codes(tariff: Tariff) -> frozenset[str]:
    """Every code a bill line of this tariff can carry: charges, their slabs and periods."""
    codes = set(charge_codes(tariff))
    for category in tariff.categories:
        for fixed in category.fixed_charges:
            codes |= _numbered(fixed.code, fixed.pricing)
        for energy in category.energy_charges:
            if energy.slabs is not None:
                codes |= _numbered(energy.code, energy.slabs)
            for name, pricing in energy.periods.items():
                codes.add(f"{energy.code}.{name}")
                codes |= _numbered(f"{energy.code}.{name}", pricing)
    for demand in tariff.demand_charges:
        codes |= _numbered(demand.code, demand.pricing)
    return frozenset(codes)


def _numbered(code: str, pricing: Slabs) -> set[str]:
    return {f"{code}.{i}" for i in range(1, len(pricing.slabs) + 1)}


def in_base(code: str, base: Sequence[str]) -> bool:
    """Whether a line is named by a base: ``EC`` covers ``EC``, ``EC.1`` and ``EC.peak``."""
    return any(code == b or code.startswith(f"{b}.") for b in base)


def adjustment_order(adjustments: Sequence[Adjustment]) -> tuple[Adjustment, ...]:
    """Adjustments so that each comes after those in its base, document order otherwise.

    Raises :class:`TariffError` on a cycle (a levy that is, through others, on itself).
    """
    by_code = {a.code: a for a in adjustments}
    done: list[Adjustment] = []
    placed: set[str] = set()
    pending = list(adjustments)
    while pending:
        ready = [
            a
            for a in pending
            if all(b in placed or b not in by_code for b in (*a.base, *(p.code for p in a.parts)))
        ]
        if not ready:
            codes = ", ".join(a.code for a in pending)
            raise TariffError("levies", f"circular bases among {codes}")
        first = ready[0]
        done.append(first)
        placed.add(first.code)
        pending.remove(first)
    return tuple(done)


# --- reading the JSON -----------------------------------------------------------------

TOP_KEYS = frozenset(
    {
        "format",
        "code",
        "name",
        "currency",
        "time_zone",
        "source",
        "notes",
        "proration",
        "fixed_charges",
        "energy_charges",
        "categories",
        "calendars",
        "demand_charges",
        "minimum_charge",
        "levies",
        "credits",
        "rounding",
        "late_payment",
        "prompt_payment",
        "energy_unit",
        "export",
        "power_factor",
    }
)


def _at(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _fail(path: str, problem: str) -> NoReturn:
    raise TariffError(path, problem)


def _object(value: object, path: str, allowed: frozenset[str]) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        _fail(path, "must be an object")
    for key in value:
        if key not in allowed:
            _fail(_at(path, str(key)), f"unknown field (allowed: {', '.join(sorted(allowed))})")
    return cast(Mapping[str, object], value)


def _mapping(value: object, path: str) -> Mapping[str, object]:
    """An object whose keys are names the document chooses (periods, calendars)."""
    if not isinstance(value, Mapping):
        _fail(path, "must be an object")
    return cast(Mapping[str, object], value)


def _required(obj: Mapping[str, object], key: str, path: str) -> object:
    if key not in obj or obj[key] is None:
        _fail(_at(path, key), "is required")
    return obj[key]


def _list(value: object, path: str, *, non_empty: bool = True) -> Sequence[object]:
    if not isinstance(value, list | tuple):
        _fail(path, "must be a list")
    if non_empty and not value:
        _fail(path, "must not be empty")
    return value


def _text(value: object, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        _fail(path, "must be a non-empty string")
    return value


def _code(value: object, path: str) -> str:
    text = _text(value, path)
    if not (text[0].isalpha() and all(ch.isalnum() or ch in "_-" for ch in text)):
        _fail(path, "must be a code of letters, digits, '_' or '-', starting with a letter")
    return text


def _choice(value: object, path: str, options: tuple[S, ...]) -> S:
    for option in options:
        if value == option:
            return option
    _fail(path, f"must be one of {', '.join(options)}")


def _decimal(value: object, path: str, *, positive: bool = False, signed: bool = False) -> Decimal:
    kind = "positive" if positive else "" if signed else "non-negative"
    kind = f"{kind} " if kind else ""
    if isinstance(value, float):
        _fail(path, f'must be a {kind}decimal written exactly (a string like "0.1"), not a float')
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        _fail(path, f"must be a {kind}decimal")
    try:
        number = Decimal(value)
    except InvalidOperation:
        _fail(path, f"must be a {kind}decimal")
    if not number.is_finite() or (number < 0 and not signed) or (positive and number <= 0):
        _fail(path, f"must be a {kind}decimal")
    return number


def _int(value: object, path: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        _fail(path, f"must be a whole number from {low} to {high}")
    try:
        number = Decimal(value)
    except InvalidOperation:
        _fail(path, f"must be a whole number from {low} to {high}")
    if number != number.to_integral_value() or not low <= number <= high:
        _fail(path, f"must be a whole number from {low} to {high}")
    return int(number)


def _date(value: object, path: str) -> date:
    try:
        return date.fromisoformat(_text(value, path))
    except ValueError:
        _fail(path, "must be a date like 2024-04-01")


def parse_tariff(document: Mapping[str, object]) -> Tariff:
    """Validate a tariff document and build the model; see ``docs/tariffs.md``."""
    if not isinstance(document, Mapping):
        _fail("", "a tariff document is a JSON object")
    if document.get("format") != FORMAT:
        hint = " (a URDB record? import it with --urdb)" if _looks_like_urdb(document) else ""
        _fail("format", f"must be {FORMAT!r}{hint}")
    doc = _object(document, "", TOP_KEYS)
    total_rounding, rounding_point = _rounding(doc.get("rounding", {}), "rounding")
    tariff = Tariff(
        code=_text(_required(doc, "code", ""), "code"),
        name=_text(_required(doc, "name", ""), "name"),
        currency=_currency(_required(doc, "currency", ""), "currency"),
        time_zone=_zone(doc.get("time_zone", "Asia/Kolkata"), "time_zone"),
        source=_optional(doc, "source", _text) or "",
        proration=_proration(doc.get("proration", {}), "proration"),
        categories=_categories(doc),
        calendars=_calendars(doc.get("calendars", {}), "calendars"),
        demand_charges=_demand_list(doc.get("demand_charges", []), "demand_charges"),
        minimum_charge=_optional(doc, "minimum_charge", _minimum),
        adjustments=_adjustments(doc, "levies", "levy") + _adjustments(doc, "credits", "credit"),
        total_rounding=total_rounding,
        rounding_point=rounding_point,
        late_payment=_optional(doc, "late_payment", _late),
        prompt_payment=_optional(doc, "prompt_payment", _prompt),
        notes=_optional(doc, "notes", _text) or "",
        energy_unit=_choice(doc.get("energy_unit", "kWh"), "energy_unit", ("kWh", "kVAh")),
        export=_optional(doc, "export", _export),
        power_factor=_optional(doc, "power_factor", _power_factor),
    )
    _check_references(tariff, "categories" in doc)
    return tariff


def _each(value: object, path: str, read: Callable[[object, str], T]) -> tuple[T, ...]:
    """``read`` applied to each item of a non-empty list, with the item's path."""
    return tuple(read(item, _at(path, i)) for i, item in enumerate(_list(value, path)))


def _month(value: object, path: str) -> int:
    return _int(value, path, 1, 12)


def _day_type(value: object, path: str) -> DayType:
    return _choice(value, path, tou.DAY_TYPES)


def _optional(doc: Mapping[str, object], key: str, read: Callable[[object, str], T]) -> T | None:
    return read(doc[key], key) if doc.get(key) is not None else None


def _demand_list(value: object, path: str) -> tuple[DemandCharge, ...]:
    return tuple(
        _demand(v, _at(path, i)) for i, v in enumerate(_list(value, path, non_empty=False))
    )


def _looks_like_urdb(document: Mapping[str, object]) -> bool:
    items = document.get("items")
    record = items[0] if isinstance(items, list) and items else document
    return isinstance(record, Mapping) and "energyratestructure" in record


def _currency(value: object, path: str) -> str:
    text = _text(value, path)
    if len(text) != 3 or not text.isalpha() or not text.isupper():
        _fail(path, "must be an ISO 4217 code like INR or USD")
    return text


def _zone(value: object, path: str) -> str:
    text = _text(value, path)
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        _fail(path, f"{text!r} is not a known time zone (like Asia/Kolkata)")
    return text


def _proration(value: object, path: str) -> Proration:
    obj = _object(value, path, frozenset({"basis", "days", "slab_widths"}))
    basis = _choice(obj.get("basis", "calendar_month"), _at(path, "basis"), PRORATION_BASES)
    days = _int(obj.get("days", 30), _at(path, "days"), 28, 31)
    if "days" in obj and basis != "fixed_days":
        _fail(_at(path, "days"), "only applies with basis fixed_days")
    widths = _choice(obj.get("slab_widths", "none"), _at(path, "slab_widths"), WIDTH_ROUNDINGS)
    return Proration(basis, days, widths)


def _slab_list(value: object, path: str, mode: SlabMode, limits_per: LimitUnit) -> Slabs:
    items = _list(value, path)
    slabs: list[Slab] = []
    previous = Decimal(0)
    for i, item in enumerate(items):
        here = _at(path, i)
        obj = _object(item, here, frozenset({"up_to", "rate"}))
        rate = _decimal(_required(obj, "rate", here), _at(here, "rate"))
        last = i == len(items) - 1
        if last and obj.get("up_to") is not None:
            _fail(_at(here, "up_to"), "the last slab has no up_to: it takes everything above")
        up_to = (
            None
            if last
            else _decimal(_required(obj, "up_to", here), _at(here, "up_to"), positive=True)
        )
        if up_to is not None and up_to <= previous:
            _fail(_at(here, "up_to"), f"must be above the previous slab's limit {previous}")
        previous = up_to if up_to is not None else previous
        slabs.append(Slab(up_to, rate))
    return Slabs(tuple(slabs), mode, limits_per)


RATE_KEYS = frozenset({"rate", "slabs", "mode", "slab_limits"})


def _pricing(obj: Mapping[str, object], path: str, *, signed: bool = False) -> Slabs:
    """A ``rate`` or ``slabs`` (with ``mode`` and ``slab_limits``) in ``obj``.

    ``signed`` allows a negative flat rate: a time-of-day rebate on off-peak energy.
    """
    has_rate, has_slabs = "rate" in obj, "slabs" in obj
    if has_rate == has_slabs:
        _fail(path, "needs exactly one of rate or slabs")
    if has_rate:
        for key in ("mode", "slab_limits"):
            if key in obj:
                _fail(_at(path, key), "only applies with slabs")
        return Slabs((Slab(None, _decimal(obj["rate"], _at(path, "rate"), signed=signed)),))
    mode = _choice(obj.get("mode", "telescopic"), _at(path, "mode"), SLAB_MODES)
    limits = _choice(
        obj.get("slab_limits", "per_month"), _at(path, "slab_limits"), ("per_month", "per_day")
    )
    return _slab_list(
        obj["slabs"], _at(path, "slabs"), mode, "month" if limits == "per_month" else "day"
    )


def _categories(doc: Mapping[str, object]) -> tuple[Category, ...]:
    if "categories" not in doc:
        fixed = _fixed_list(doc.get("fixed_charges", []), "fixed_charges")
        energy = _energy_list(doc.get("energy_charges", []), "energy_charges")
        return (Category("all consumption", None, fixed, energy),)
    for key in ("fixed_charges", "energy_charges"):
        if key in doc:
            _fail(key, "give charges either at the top or inside categories, not both")
    items = _list(doc["categories"], "categories")
    categories: list[Category] = []
    previous = Decimal(0)
    for i, item in enumerate(items):
        here = _at("categories", i)
        obj = _object(item, here, frozenset({"name", "up_to", "fixed_charges", "energy_charges"}))
        last = i == len(items) - 1
        if last and obj.get("up_to") is not None:
            _fail(_at(here, "up_to"), "the last category has no up_to: it takes everything above")
        up_to = (
            None
            if last
            else _decimal(_required(obj, "up_to", here), _at(here, "up_to"), positive=True)
        )
        if up_to is not None and up_to <= previous:
            _fail(_at(here, "up_to"), f"must be above the previous category's limit {previous}")
        previous = up_to if up_to is not None else previous
        categories.append(
            Category(
                name=_text(_required(obj, "name", here), _at(here, "name")),
                up_to=up_to,
                fixed_charges=_fixed_list(obj.get("fixed_charges", []), _at(here, "fixed_charges")),
                energy_charges=_energy_list(
                    obj.get("energy_charges", []), _at(here, "energy_charges")
                ),
            )
        )
    return tuple(categories)


def _fixed_list(value: object, path: str) -> tuple[FixedCharge, ...]:
    return tuple(_fixed(v, _at(path, i)) for i, v in enumerate(_list(value, path, non_empty=False)))


FIXED_KEYS = frozenset(
    {"code", "description", "basis", "per", "rate", "load_slabs", "by_kwh", "load_rounding"}
)


def _fixed(value: object, path: str) -> FixedCharge:
    obj = _object(value, path, FIXED_KEYS)
    basis = _choice(obj.get("basis", "per_bill"), _at(path, "basis"), FIXED_BASES)
    given = [k for k in ("rate", "load_slabs", "by_kwh") if k in obj]
    if len(given) != 1:
        _fail(path, "needs exactly one of rate, load_slabs or by_kwh")
    chosen_by: Literal["flat", "load", "kwh"] = "flat"
    if "rate" in obj:
        pricing = Slabs((Slab(None, _decimal(obj["rate"], _at(path, "rate"))),))
    elif "by_kwh" in obj:
        chosen_by = "kwh"
        pricing = _slab_list(obj["by_kwh"], _at(path, "by_kwh"), "non_telescopic", "month")
    else:
        chosen_by = "load"
        pricing = _load_slabs(obj["load_slabs"], _at(path, "load_slabs"))
        if basis == "per_bill" and pricing.mode == "telescopic":
            _fail(
                _at(path, "load_slabs"),
                "a per_bill charge takes one rate chosen by the sanctioned load: mode whole_load",
            )
    return FixedCharge(
        code=_code(_required(obj, "code", path), _at(path, "code")),
        description=_text(obj.get("description", "Fixed charge"), _at(path, "description")),
        basis=basis,
        per=_choice(obj.get("per", "month"), _at(path, "per"), ("month", "day", "year")),
        pricing=pricing,
        chosen_by=chosen_by,
        load_rounding=_choice(
            obj.get("load_rounding", "exact"), _at(path, "load_rounding"), ("exact", "up")
        ),
    )


def _load_slabs(value: object, path: str) -> Slabs:
    obj = _object(value, path, frozenset({"mode", "slabs"}))
    mode = _choice(obj.get("mode", "whole_load"), _at(path, "mode"), ("whole_load", "telescopic"))
    slab_mode: SlabMode = "non_telescopic" if mode == "whole_load" else "telescopic"
    return _slab_list(_required(obj, "slabs", path), _at(path, "slabs"), slab_mode, "month")


def _energy_list(value: object, path: str) -> tuple[EnergyCharge, ...]:
    return tuple(
        _energy(v, _at(path, i)) for i, v in enumerate(_list(value, path, non_empty=False))
    )


def _energy(value: object, path: str) -> EnergyCharge:
    obj = _object(
        value, path, RATE_KEYS | {"code", "description", "calendar", "periods", "tiers_on"}
    )
    code = _code(_required(obj, "code", path), _at(path, "code"))
    description = _text(obj.get("description", "Energy charge"), _at(path, "description"))
    if "periods" not in obj:
        for key in ("calendar", "tiers_on"):
            if key in obj:
                _fail(_at(path, key), "only applies with periods")
        return EnergyCharge(code, description, slabs=_pricing(obj, path))
    for key in RATE_KEYS & set(obj):
        _fail(_at(path, key), "a time-of-use charge gives its rates under periods")
    calendar = _text(_required(obj, "calendar", path), _at(path, "calendar"))
    periods_path = _at(path, "periods")
    periods = _mapping(obj["periods"], periods_path)
    if not periods:
        _fail(periods_path, "must give at least one period")
    rates = {
        str(name): _pricing(
            _object(spec, _at(periods_path, str(name)), RATE_KEYS),
            _at(periods_path, str(name)),
            signed=True,
        )
        for name, spec in periods.items()
    }
    bases: tuple[Literal["period_energy", "total_energy"], ...] = ("period_energy", "total_energy")
    tiers_on = _choice(obj.get("tiers_on", "period_energy"), _at(path, "tiers_on"), bases)
    if tiers_on == "total_energy":
        shapes = {(p.mode, p.limits_per, tuple(s.up_to for s in p.slabs)) for p in rates.values()}
        if len(shapes) != 1 or next(iter(shapes))[0] != "telescopic":
            _fail(
                _at(path, "tiers_on"),
                "total_energy needs telescopic slabs with the same limits in every period",
            )
    return EnergyCharge(code, description, calendar=calendar, periods=rates, tiers_on=tiers_on)


DEMAND_KEYS = RATE_KEYS | {
    "code",
    "description",
    "unit",
    "calendar",
    "period",
    "months",
    "floor",
    "ratchet",
    "window_minutes",
}


def _demand(value: object, path: str) -> DemandCharge:
    obj = _object(value, path, DEMAND_KEYS)
    if ("calendar" in obj) != ("period" in obj):
        _fail(path, "calendar and period go together (a time-of-use demand charge)")
    floor = None
    if "floor" in obj:
        fpath = _at(path, "floor")
        fobj = _object(obj["floor"], fpath, frozenset({"percent", "of"}))
        floor = DemandFloor(
            _decimal(_required(fobj, "percent", fpath), _at(fpath, "percent")),
            _choice(
                _required(fobj, "of", fpath),
                _at(fpath, "of"),
                ("sanctioned_load", "contract_demand"),
            ),
        )
    months = None
    if "months" in obj:
        mpath = _at(path, "months")
        months = frozenset(_each(obj["months"], mpath, _month))
    pricing = _pricing(obj, path)
    if pricing.limits_per != "month" or pricing.mode != "telescopic":
        _fail(_at(path, "slabs"), "demand tiers are telescopic on kW (no mode or slab_limits)")
    return DemandCharge(
        code=_code(_required(obj, "code", path), _at(path, "code")),
        description=_text(obj.get("description", "Demand charge"), _at(path, "description")),
        unit=_choice(obj.get("unit", "kW"), _at(path, "unit"), ("kW", "kVA")),
        pricing=pricing,
        calendar=_text(obj["calendar"], _at(path, "calendar")) if "calendar" in obj else None,
        period=_text(obj["period"], _at(path, "period")) if "period" in obj else None,
        months=months,
        floor=floor,
        ratchet=_ratchet(obj["ratchet"], _at(path, "ratchet")) if "ratchet" in obj else None,
        window_minutes=_int(obj["window_minutes"], _at(path, "window_minutes"), 1, 60)
        if "window_minutes" in obj
        else None,
    )


def _ratchet(value: object, path: str) -> Ratchet:
    obj = _object(value, path, frozenset({"percent", "months"}))
    return Ratchet(
        _decimal(_required(obj, "percent", path), _at(path, "percent"), positive=True),
        _int(_required(obj, "months", path), _at(path, "months"), 1, 36),
    )


def _export(value: object, path: str) -> NetMetering | GrossMetering:
    obj = _mapping(value, path)
    scheme = _choice(obj.get("scheme"), _at(path, "scheme"), ("net_metering", "gross_metering"))
    if scheme == "gross_metering":
        obj = _object(value, path, frozenset({"scheme", "feed_in_rate"}))
        rates = _rates(_required(obj, "feed_in_rate", path), _at(path, "feed_in_rate"))
        return GrossMetering(rates)
    keys = frozenset({"scheme", "settlement_month", "settlement_rate", "banking_cap_kwh"})
    obj = _object(value, path, keys)
    cap = obj.get("banking_cap_kwh")
    return NetMetering(
        settlement_month=_month(obj.get("settlement_month", 3), _at(path, "settlement_month")),
        settlement_rates=_rates(
            _required(obj, "settlement_rate", path), _at(path, "settlement_rate")
        ),
        banking_cap_kwh=None if cap is None else _decimal(cap, _at(path, "banking_cap_kwh")),
    )


def _power_factor(value: object, path: str) -> PowerFactor:
    obj = _object(value, path, frozenset({"bands", "base", "decimals"}))
    bands_path = _at(path, "bands")
    bands = []
    for i, item in enumerate(_list(_required(obj, "bands", path), bands_path)):
        here = _at(bands_path, i)
        band = _object(item, here, frozenset({"above", "up_to", "percent"}))
        above = _decimal(band["above"], _at(here, "above")) if "above" in band else None
        up_to = _decimal(band["up_to"], _at(here, "up_to")) if "up_to" in band else None
        for limit, key in ((above, "above"), (up_to, "up_to")):
            if limit is not None and limit > 1:
                _fail(_at(here, key), "a power factor is at most 1")
        if above is not None and up_to is not None and up_to <= above:
            _fail(_at(here, "up_to"), "must be above 'above'")
        percent = _decimal(_required(band, "percent", here), _at(here, "percent"), signed=True)
        bands.append(PowerFactorBand(above, up_to, percent))
    return PowerFactor(
        bands=tuple(bands),
        base=_codes(_required(obj, "base", path), _at(path, "base")),
        decimals=_int(obj.get("decimals", 2), _at(path, "decimals"), 1, 4),
    )


MINIMUM_KEYS = frozenset({"code", "description", "basis", "per", "rate", "load_slabs", "base"})


def _minimum(value: object, path: str) -> MinimumCharge:
    obj = _object(value, path, MINIMUM_KEYS)
    if ("rate" in obj) == ("load_slabs" in obj):
        _fail(path, "needs exactly one of rate or load_slabs")
    bases: tuple[Literal["per_bill", "per_kw"], ...] = ("per_bill", "per_kw")
    basis = _choice(obj.get("basis", "per_bill"), _at(path, "basis"), bases)
    chosen_by: Literal["flat", "load"] = "flat"
    if "rate" in obj:
        pricing = Slabs((Slab(None, _decimal(obj["rate"], _at(path, "rate"))),))
    else:
        chosen_by = "load"
        pricing = _load_slabs(obj["load_slabs"], _at(path, "load_slabs"))
        if basis == "per_bill" and pricing.mode == "telescopic":
            _fail(
                _at(path, "load_slabs"),
                "a per_bill minimum takes one rate chosen by the sanctioned load: mode whole_load",
            )
    return MinimumCharge(
        code=_code(obj.get("code", "MIN"), _at(path, "code")),
        description=_text(
            obj.get("description", "Minimum charge shortfall"), _at(path, "description")
        ),
        basis=basis,
        per=_choice(obj.get("per", "month"), _at(path, "per"), ("month", "day", "year")),
        pricing=pricing,
        base=_codes(obj.get("base", []), _at(path, "base"), non_empty=False),
        chosen_by=chosen_by,
    )


def _codes(value: object, path: str, *, non_empty: bool = True) -> tuple[str, ...]:
    """Codes of lines, as a base names them: a charge ``EC`` or its slab or period ``EC.2``."""
    items = _list(value, path, non_empty=non_empty)
    return tuple(_line_code(v, _at(path, i)) for i, v in enumerate(items))


def _line_code(value: object, path: str) -> str:
    text = _text(value, path)
    for piece in text.split("."):
        if not (piece and (piece[0].isalnum()) and all(ch.isalnum() or ch in "_-" for ch in piece)):
            _fail(
                path,
                "must be a code (letters, digits, '_', '-'), or a code and its slab or period ('EC.2')",
            )
    return text


ADJUSTMENT_KEYS = frozenset(
    {"code", "description", "percent", "per_kwh", "per_month", "base", "when_kwh"}
)
CREDIT_KEYS = ADJUSTMENT_KEYS | {"free_units", "charge", "cap_per_month", "billed_to"}
HOWS: tuple[AdjustmentHow, ...] = ("percent", "per_kwh", "per_month", "free_units")


def _adjustments(
    doc: Mapping[str, object], key: str, kind: AdjustmentKind
) -> tuple[Adjustment, ...]:
    items = _list(doc.get(key, []), key, non_empty=False)
    return tuple(_adjustment(v, _at(key, i), kind) for i, v in enumerate(items))


def _adjustment(value: object, path: str, kind: AdjustmentKind) -> Adjustment:
    obj = _object(value, path, CREDIT_KEYS if kind == "credit" else ADJUSTMENT_KEYS)
    hows = [h for h in HOWS if h in obj]
    if len(hows) != 1:
        options = (
            "percent, per_kwh, per_month or free_units"
            if kind == "credit"
            else "percent, per_kwh or per_month"
        )
        _fail(path, f"needs exactly one of {options}")
    how = hows[0]
    base, parts = _base(obj["base"], _at(path, "base")) if "base" in obj else ((), ())
    if (how == "percent") != ("base" in obj):
        _fail(_at(path, "base"), "is required with percent, and only applies to it")
    if (how == "free_units") != ("charge" in obj):
        _fail(_at(path, "charge"), "names the energy charge whose units are free (free_units only)")
    return Adjustment(
        code=_code(_required(obj, "code", path), _at(path, "code")),
        description=_text(obj.get("description", obj.get("code")), _at(path, "description")),
        kind=kind,
        how=how,
        rates=_rates(obj[how], _at(path, how)),
        base=base,
        parts=parts,
        charge=_code(obj["charge"], _at(path, "charge")) if "charge" in obj else None,
        cap_per_month=_decimal(obj["cap_per_month"], _at(path, "cap_per_month"))
        if "cap_per_month" in obj
        else None,
        band=_band(obj["when_kwh"], _at(path, "when_kwh")) if "when_kwh" in obj else None,
        billed_to=_choice(obj.get("billed_to", "customer"), _at(path, "billed_to"), BILLED_TO),
    )


def _base(value: object, path: str) -> tuple[tuple[str, ...], tuple[LevyPart, ...]]:
    """A levy's base: codes of lines (``"EC"``, ``"EC.2"``) and parts of other levies
    (``{"code": "SUR", "on": ["EC"]}``: the surcharge's part on energy)."""
    codes: list[str] = []
    parts: list[LevyPart] = []
    for i, item in enumerate(_list(value, path)):
        here = _at(path, i)
        if isinstance(item, Mapping):
            obj = _object(item, here, frozenset({"code", "on"}))
            code = _code(_required(obj, "code", here), _at(here, "code"))
            parts.append(LevyPart(code, _codes(_required(obj, "on", here), _at(here, "on"))))
        else:
            codes.append(_line_code(item, here))
    return tuple(codes), tuple(parts)


def _rates(value: object, path: str) -> tuple[DatedRate, ...]:
    """A plain decimal, or a schedule ``[{"from", "to", "rate"}]`` (e.g. by quarter)."""
    if not isinstance(value, list | tuple):
        return (DatedRate(date.min, None, _decimal(value, path)),)
    rates: list[DatedRate] = []
    for i, item in enumerate(_list(value, path)):
        here = _at(path, i)
        obj = _object(item, here, frozenset({"from", "to", "rate"}))
        start = _date(_required(obj, "from", here), _at(here, "from"))
        end = _date(obj["to"], _at(here, "to")) if obj.get("to") is not None else None
        if end is not None and end <= start:
            _fail(_at(here, "to"), "must be after from (to is exclusive)")
        if rates and (rates[-1].end is None or start < rates[-1].end):
            _fail(_at(here, "from"), "overlaps the previous entry (entries go in date order)")
        rates.append(
            DatedRate(start, end, _decimal(_required(obj, "rate", here), _at(here, "rate")))
        )
    return tuple(rates)


def _band(value: object, path: str) -> KwhBand:
    obj = _object(value, path, frozenset({"above", "up_to"}))
    above = _decimal(obj["above"], _at(path, "above")) if "above" in obj else None
    up_to = _decimal(obj["up_to"], _at(path, "up_to")) if "up_to" in obj else None
    if above is None and up_to is None:
        _fail(path, "needs above, up_to or both")
    if above is not None and up_to is not None and up_to <= above:
        _fail(_at(path, "up_to"), "must be above 'above'")
    return KwhBand(above, up_to)


def _rounding(value: object, path: str) -> tuple[Decimal | None, RoundingPoint]:
    """``{"total": "1", "point": "line"}``: the whole-unit rounding of the total, and where
    amounts are rounded to the paisa (each line, each calendar-month segment of a line,
    or only the total)."""
    obj = _object(value, path, frozenset({"total", "point"}))
    total = _decimal(obj["total"], _at(path, "total"), positive=True) if "total" in obj else None
    point = _choice(obj.get("point", "line"), _at(path, "point"), ROUNDING_POINTS)
    return total, point


def _late(value: object, path: str) -> LatePayment:
    obj = _object(value, path, frozenset({"percent_per_month", "grace_days", "accrual"}))
    return LatePayment(
        _decimal(_required(obj, "percent_per_month", path), _at(path, "percent_per_month")),
        _int(obj.get("grace_days", 0), _at(path, "grace_days"), 0, 365),
        _choice(obj.get("accrual", "daily"), _at(path, "accrual"), ("daily", "per_month_or_part")),
    )


def _prompt(value: object, path: str) -> PromptPayment:
    obj = _object(value, path, frozenset({"percent", "within_days", "base"}))
    percent = _decimal(_required(obj, "percent", path), _at(path, "percent"))
    if percent > 100:
        _fail(_at(path, "percent"), "must be at most 100")
    return PromptPayment(
        percent,
        _int(_required(obj, "within_days", path), _at(path, "within_days"), 0, 365),
        _codes(_required(obj, "base", path), _at(path, "base")),
    )


# --- calendars ------------------------------------------------------------------------

CALENDAR_KEYS = frozenset({"periods", "default_period", "weekend", "holidays", "rules", "schedule"})


def _calendars(value: object, path: str) -> dict[str, Calendar]:
    obj = _mapping(value, path)
    return {
        str(name): _calendar(str(name), spec, _at(path, str(name))) for name, spec in obj.items()
    }


def _calendar(name: str, value: object, path: str) -> Calendar:
    obj = _object(value, path, CALENDAR_KEYS)
    periods = _each(_required(obj, "periods", path), _at(path, "periods"), _text)
    if len(set(periods)) != len(periods):
        _fail(_at(path, "periods"), "names a period twice")
    wpath = _at(path, "weekend")
    weekend = frozenset(
        tou.WEEKDAY_NAMES.index(_choice(d, _at(wpath, i), tou.WEEKDAY_NAMES))
        for i, d in enumerate(
            _list(obj.get("weekend", ["saturday", "sunday"]), wpath, non_empty=False)
        )
    )
    holidays_as = _choice(obj.get("holidays", "weekend"), _at(path, "holidays"), tou.DAY_TYPES)
    if ("rules" in obj) == ("schedule" in obj):
        _fail(path, "needs exactly one of rules or schedule")
    try:
        if "schedule" in obj:
            schedules = _schedules(obj["schedule"], _at(path, "schedule"), periods)
            return tou.from_schedules(name, periods, schedules, weekend, holidays_as)
        default = None
        if obj.get("default_period") is not None:
            default = _choice(obj["default_period"], _at(path, "default_period"), periods)
        rules = _rules(obj["rules"], _at(path, "rules"), periods)
        return tou.from_rules(name, periods, rules, default, weekend, holidays_as)
    except CalendarError as exc:
        _fail(path, str(exc))


def _rules(value: object, path: str, periods: tuple[str, ...]) -> list[Rule]:
    rules: list[Rule] = []
    for i, item in enumerate(_list(value, path)):
        here = _at(path, i)
        obj = _object(item, here, frozenset({"period", "months", "days", "hours"}))
        period = _choice(_required(obj, "period", here), _at(here, "period"), periods)
        mpath, dpath, hpath = _at(here, "months"), _at(here, "days"), _at(here, "hours")
        months = frozenset(_each(obj.get("months", list(tou.MONTHS)), mpath, _month))
        days = frozenset(_each(obj.get("days", list(tou.DAY_TYPES)), dpath, _day_type))
        hours: set[int] = set()
        for j, text in enumerate(_list(obj.get("hours", ["00-24"]), hpath)):
            try:
                hours |= tou.parse_hours(_text(text, _at(hpath, j)))
            except CalendarError as exc:
                _fail(_at(hpath, j), str(exc))
        rules.append(Rule(period, months, days, frozenset(hours)))
    return rules


def _schedules(
    value: object, path: str, periods: tuple[str, ...]
) -> dict[DayType, list[list[str]]]:
    obj = _object(value, path, frozenset(tou.DAY_TYPES))
    if "weekday" not in obj:
        _fail(_at(path, "weekday"), "is required")
    schedules: dict[DayType, list[list[str]]] = {}
    for day_type in tou.DAY_TYPES:
        if day_type not in obj:
            continue
        dpath = _at(path, day_type)
        rows = _list(obj[day_type], dpath)
        if len(rows) != 12:
            _fail(dpath, "must have 12 rows, January to December")
        matrix: list[list[str]] = []
        for m, row in enumerate(rows):
            cells = _list(row, _at(dpath, m))
            if len(cells) != 24:
                _fail(_at(dpath, m), "must have 24 hours")
            matrix.append([_choice(c, _at(_at(dpath, m), h), periods) for h, c in enumerate(cells)])
        schedules[day_type] = matrix
    return schedules


# --- cross-references -----------------------------------------------------------------


def _check_references(tariff: Tariff, in_categories: bool) -> None:
    _check_unique_codes(tariff)
    adjustment_codes = {a.code for a in tariff.adjustments}
    if tariff.power_factor:
        adjustment_codes.add("PF")  # the power-factor line, which levies may be on
    known = line_codes(tariff) | adjustment_codes
    for i, category in enumerate(tariff.categories):
        where = f"categories[{i}]." if in_categories else ""
        for j, energy in enumerate(category.energy_charges):
            _check_tou_energy(tariff, energy, f"{where}energy_charges[{j}]")
    for i, demand in enumerate(tariff.demand_charges):
        if demand.calendar is not None:
            calendar = _known_calendar(tariff, demand.calendar, f"demand_charges[{i}].calendar")
            if demand.period not in calendar.periods:
                _fail(
                    f"demand_charges[{i}].period",
                    f"{demand.period!r} is not a period of calendar {demand.calendar!r}",
                )
    if tariff.minimum_charge:
        _check_base(tariff.minimum_charge.base, known, "minimum_charge.base")
    energy_codes = {e.code for c in tariff.categories for e in c.energy_charges}
    levies = [a for a in tariff.adjustments if a.kind == "levy"]
    credits = [a for a in tariff.adjustments if a.kind == "credit"]
    located = [(f"levies[{i}]", a) for i, a in enumerate(levies)]
    located += [(f"credits[{i}]", a) for i, a in enumerate(credits)]
    for where, adj in located:
        if adj.code in adj.base:
            _fail(f"{where}.base", "must not include the levy itself")
        _check_base(adj.base, known, f"{where}.base")
        _check_parts(tariff, adj, f"{where}.base")
        if adj.charge is not None and adj.charge not in energy_codes:
            _fail(f"{where}.charge", f"{adj.charge!r} is not an energy charge code")
    if tariff.prompt_payment:
        _check_base(tariff.prompt_payment.base, known, "prompt_payment.base")
    if tariff.power_factor:
        _check_base(tariff.power_factor.base, known, "power_factor.base")
    if tariff.energy_unit == "kVAh" and isinstance(tariff.export, NetMetering):
        _fail("export", "net metering nets kWh: a tariff billed in kVAh cannot net export")
    adjustment_order(tariff.adjustments)
    if not charge_codes(tariff):
        _fail("", "the tariff has no charges")


def _check_unique_codes(tariff: Tariff) -> None:
    shared = [d.code for d in tariff.demand_charges] + [a.code for a in tariff.adjustments]
    if tariff.minimum_charge:
        shared.append(tariff.minimum_charge.code)
    for i, category in enumerate(tariff.categories):
        # A category's own codes may repeat across categories (a levy on "EC" finds it in
        # whichever category applies) but must be unique within it and beside the rest.
        own = [f.code for f in category.fixed_charges] + [e.code for e in category.energy_charges]
        seen: set[str] = set()
        for code in own + shared:
            if code in seen:
                where = f"categories[{i}]" if len(tariff.categories) > 1 else "charges"
                _fail(where, f"code {code!r} is used twice: codes name lines and levy bases")
            seen.add(code)


def _known_calendar(tariff: Tariff, name: str, path: str) -> Calendar:
    if name not in tariff.calendars:
        _fail(path, f"{name!r} is not defined under calendars")
    return tariff.calendars[name]


def _check_tou_energy(tariff: Tariff, energy: EnergyCharge, path: str) -> None:
    if energy.calendar is None:
        return
    calendar = _known_calendar(tariff, energy.calendar, f"{path}.calendar")
    for name in energy.periods:
        if name not in calendar.periods:
            _fail(f"{path}.periods.{name}", f"is not a period of calendar {energy.calendar!r}")
    for name in calendar.periods:
        if name not in energy.periods:
            _fail(
                f"{path}.periods",
                f"has no rate for period {name!r} of calendar {energy.calendar!r}",
            )


def _check_base(base: tuple[str, ...], known: frozenset[str], path: str) -> None:
    for i, code in enumerate(base):
        if code not in known:
            _fail(
                f"{path}[{i}]",
                f"{code!r} is not the code of a charge, one of its slabs or periods, a levy or a credit",
            )


def _check_parts(tariff: Tariff, adjustment: Adjustment, path: str) -> None:
    by_code = {a.code: a for a in tariff.adjustments}
    for i, part in enumerate(adjustment.parts):
        here = f"{path}[{len(adjustment.base) + i}]"
        named = by_code.get(part.code)
        if named is None or named.how != "percent":
            _fail(f"{here}.code", f"{part.code!r} is not a percentage levy or credit")
        if named.code == adjustment.code:
            _fail(f"{here}.code", "must not be the levy itself")
        for j, code in enumerate(part.on):
            if not in_base(code, named.base):
                _fail(f"{here}.on[{j}]", f"{code!r} is not in the base of {part.code!r}")
