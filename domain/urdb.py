"""Import of OpenEI Utility Rate Database (URDB) records into gridbill's tariff format.

A URDB record becomes an ordinary gridbill tariff document, which then goes through
``parse_tariff`` like any other, so a URDB tariff prices by exactly the same rules.
Semantics follow NREL REopt's reading of the format (see tests/fixtures/urdb/README.md):

* ``energyratestructure[period][tier]``: price = ``rate + adj``; ``max`` is the
  cumulative upper limit of the tier in the billing month (per day for "kWh daily"),
  applied to the energy within that period; the last tier is open;
* ``energyweekdayschedule`` / ``energyweekendschedule``: 12 × 24 zero-based period
  indices; Saturday and Sunday are weekend; URDB has no holidays, so those of the
  utility's calendar (given when pricing) follow the weekend schedule. A schedule with
  one period is a plain (non time-of-use) tariff;
* ``fixedmonthlycharge`` (when non-zero) or ``fixedchargefirstmeter`` in
  ``fixedchargeunits`` ($/month, $/day or $/year, prorated by days: no 30.4375);
* ``flatdemandstructure`` by ``flatdemandmonths``; ``demandratestructure`` with its own
  12 × 24 schedules for time-of-use demand; ``mincharge`` in ``minchargeunits``;
* ``coincidentratestructure`` with ``coincidentrateschedule`` (one 12 × 24 matrix, every
  day alike): a charge on the demand at the time of the utility's system peak. A meter
  cannot know when the system peaked, so the schedule's hours are where the peak is
  deemed to fall (OpenEI's definition: the hours of each period), and the charge is on
  the highest demand within them: a time-of-use demand charge on its own calendar.

URDB tariffs are in USD and have no whole-unit rounding; like NREL SAM's utility-rate
calculator, they keep every charge exact and round only the bill's total to the cent. Features that would change a
bill but are not modelled (demand ratchets, units other than kWh/kW)
are refused with the field named, never silently ignored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import cast

from domain.tariff import FORMAT, Tariff, TariffError, parse_tariff

ENERGY_UNITS = {"kWh": "per_month", "kWh daily": "per_day"}
CHARGE_UNITS = {"$/month": "month", "$/day": "day", "$/year": "year"}


def record_of(document: Mapping[str, object]) -> Mapping[str, object]:
    """The rate record in an API response ``{"items": [record]}``, or the record itself."""
    if "items" not in document:
        return document
    items = document["items"]
    if not isinstance(items, list) or len(items) != 1 or not isinstance(items[0], Mapping):
        raise TariffError("items", "must hold exactly one rate record")
    return cast(Mapping[str, object], items[0])


def from_urdb(document: Mapping[str, object], *, time_zone: str = "UTC") -> Tariff:
    """Convert a URDB record (or API response) to a gridbill :class:`Tariff`.

    URDB does not say which time zone its schedules are in; ``time_zone`` is the
    utility's (e.g. America/Los_Angeles), used for interval data that carries a zone.
    """
    return parse_tariff(to_document(record_of(document), time_zone=time_zone))


def to_document(record: Mapping[str, object], *, time_zone: str = "UTC") -> dict[str, object]:
    """The gridbill tariff document for a URDB record (see module docstring)."""
    _refuse_unsupported(record)
    doc: dict[str, object] = {
        "format": FORMAT,
        "code": str(record.get("label") or "URDB"),
        "name": " — ".join(str(record[k]) for k in ("utility", "name") if record.get(k))
        or "URDB tariff",
        "currency": "USD",
        "time_zone": time_zone,
        "source": _source(record),
        # URDB rates are applied as NREL SAM does: every charge exact, the bill rounded once.
        "rounding": {"point": "total"},
    }
    calendars: dict[str, object] = {}
    energy = _energy(record, calendars)
    if energy is not None:
        doc["energy_charges"] = [energy]
    fixed = _fixed(record)
    if fixed is not None:
        doc["fixed_charges"] = [fixed]
    demand = _flat_demand(record) + _tou_demand(record, calendars) + _coincident(record, calendars)
    window = _demand_window(record)
    if demand:
        doc["demand_charges"] = [c | ({"window_minutes": window} if window else {}) for c in demand]
    minimum = _minimum(record)
    if minimum is not None:
        doc["minimum_charge"] = minimum
    if calendars:
        doc["calendars"] = calendars
    return doc


def _source(record: Mapping[str, object]) -> str:
    where = record.get("uri") or f"label {record.get('label', '?')}"
    return f"OpenEI Utility Rate Database, {where}"


def _refuse_unsupported(record: Mapping[str, object]) -> None:
    for key in ("lookbackpercent", "lookbackrange"):
        if _number(record.get(key, 0), key) != 0:
            raise TariffError(key, "demand ratchets are not supported")


def _number(value: object, path: str) -> Decimal:
    if isinstance(value, float):
        raise TariffError(path, "must be read exactly: load the JSON with parse_float=Decimal")
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise TariffError(path, "must be a number")
    return Decimal(value)


def _tiers(
    value: object, path: str, *, units: Mapping[str, str] | None = None
) -> dict[str, object]:
    """One URDB period (a list of tiers) → our pricing object (rate or slabs)."""
    if not isinstance(value, list) or not value:
        raise TariffError(path, "must be a non-empty list of tiers")
    slabs: list[dict[str, str]] = []
    limits: set[str] = set()
    for t, tier in enumerate(value):
        here = f"{path}[{t}]"
        if not isinstance(tier, Mapping):
            raise TariffError(here, "must be an object")
        price = _number(tier.get("rate", 0), f"{here}.rate") + _number(
            tier.get("adj", 0), f"{here}.adj"
        )
        slab = {"rate": str(price)}
        if t < len(value) - 1:
            if "max" not in tier:
                raise TariffError(f"{here}.max", "is required on every tier but the last")
            slab["up_to"] = str(_number(tier["max"], f"{here}.max"))
        if units is not None:
            unit = tier.get("unit", "kWh")
            if unit not in units:
                raise TariffError(
                    f"{here}.unit", f"{unit!r} is not supported (only {', '.join(units)})"
                )
            limits.add(units[str(unit)])
        slabs.append(slab)
    if len(slabs) == 1:
        return {"rate": slabs[0]["rate"]}
    if len(limits) > 1:
        raise TariffError(path, "mixes tier units (kWh and kWh daily) in one period")
    pricing: dict[str, object] = {"slabs": slabs}
    if limits == {"per_day"}:
        pricing["slab_limits"] = "per_day"
    return pricing


def _matrix(record: Mapping[str, object], key: str, periods: int) -> list[list[int]]:
    value = record.get(key)
    if not isinstance(value, list) or len(value) != 12:
        raise TariffError(key, "must be 12 rows (months) of 24 hours")
    rows: list[list[int]] = []
    for m, row in enumerate(value):
        if not isinstance(row, list) or len(row) != 24:
            raise TariffError(f"{key}[{m}]", "must have 24 hours")
        for h, cell in enumerate(row):
            if isinstance(cell, bool) or not isinstance(cell, int) or not 0 <= cell < periods:
                raise TariffError(
                    f"{key}[{m}][{h}]", f"must be a period index from 0 to {periods - 1}"
                )
        rows.append(list(row))
    return rows


def _schedule_calendar(
    record: Mapping[str, object], keys: tuple[str, str], periods: int, prefix: str
) -> tuple[dict[str, object], list[int]]:
    """A calendar from weekday/weekend matrices, and the period indices it uses."""
    weekday = _matrix(record, keys[0], periods)
    weekend = _matrix(record, keys[1], periods) if keys[1] in record else weekday
    used = sorted({cell for matrix in (weekday, weekend) for row in matrix for cell in row})
    names = {i: f"{prefix}{i}" for i in used}
    calendar: dict[str, object] = {
        "periods": [names[i] for i in used],
        "holidays": "weekend",  # a holiday from the utility's calendar is billed as a weekend
        "schedule": {
            "weekday": [[names[c] for c in row] for row in weekday],
            "weekend": [[names[c] for c in row] for row in weekend],
        },
    }
    return calendar, used


def _periods(record: Mapping[str, object], key: str) -> Sequence[object]:
    value = record.get(key)
    if not isinstance(value, list) or not value:
        raise TariffError(key, "must be a non-empty list of periods")
    return value


def _energy(record: Mapping[str, object], calendars: dict[str, object]) -> dict[str, object] | None:
    if "energyratestructure" not in record:
        return None
    structure = _periods(record, "energyratestructure")
    keys = ("energyweekdayschedule", "energyweekendschedule")
    calendar, used = _schedule_calendar(record, keys, len(structure), "p")
    charge: dict[str, object] = {"code": "E", "description": "Energy charge"}
    rates = {i: _tiers(structure[i], f"energyratestructure[{i}]", units=ENERGY_UNITS) for i in used}
    if len(used) == 1:
        return charge | rates[used[0]]
    calendars["energy"] = calendar
    periods = {f"p{i}": rates[i] for i in used}
    if any("slabs" in rate for rate in periods.values()):
        # As NREL SAM (and REopt) read URDB: a month's tiers count its energy across periods.
        _same_tier_limits(periods)
        charge["tiers_on"] = "total_energy"
    return charge | {"calendar": "energy", "periods": periods}


def _same_tier_limits(periods: Mapping[str, dict[str, object]]) -> None:
    def limits(rate: dict[str, object]) -> tuple[object, ...]:
        slabs = rate.get("slabs", [{}])
        assert isinstance(slabs, list)
        return tuple(slab.get("up_to") for slab in slabs)

    if len({limits(rate) for rate in periods.values()}) != 1:
        raise TariffError(
            "energyratestructure",
            "tiers differ between periods: URDB counts a month's tiers across its periods, "
            "so every period needs the same tier limits",
        )


def _charge_per(record: Mapping[str, object], key: str) -> str:
    unit = record.get(key, "$/month")
    if unit not in CHARGE_UNITS:
        raise TariffError(key, f"{unit!r} is not one of {', '.join(CHARGE_UNITS)}")
    return CHARGE_UNITS[str(unit)]


def _fixed(record: Mapping[str, object]) -> dict[str, object] | None:
    monthly = _number(record.get("fixedmonthlycharge", 0), "fixedmonthlycharge")
    if monthly:
        return {"code": "F", "description": "Fixed charge", "rate": str(monthly)}
    first = _number(record.get("fixedchargefirstmeter", 0), "fixedchargefirstmeter")
    if not first:
        return None
    per = _charge_per(record, "fixedchargeunits")
    return {"code": "F", "description": "Fixed charge", "per": per, "rate": str(first)}


def _minimum(record: Mapping[str, object]) -> dict[str, object] | None:
    amount = _number(record.get("mincharge", 0), "mincharge")
    if not amount:
        return None
    per = _charge_per(record, "minchargeunits")
    return {
        "code": "MIN",
        "description": "Minimum charge shortfall",
        "per": per,
        "rate": str(amount),
    }


def _demand_window(record: Mapping[str, object]) -> int | None:
    """``demandwindow``: the minutes demand is averaged over (15 and 30 are common)."""
    if record.get("demandwindow") in (None, 0):
        return None
    minutes = _number(record["demandwindow"], "demandwindow")
    if minutes != minutes.to_integral_value() or not 1 <= minutes <= 60:
        raise TariffError("demandwindow", "must be a whole number of minutes from 1 to 60")
    return int(minutes)


def _demand_unit(record: Mapping[str, object], keys: tuple[str, str]) -> None:
    for key in keys:
        unit = record.get(key, "kW")
        if unit != "kW":
            raise TariffError(key, f"{unit!r} demand is not supported (only kW)")


def _has_charge(pricing: Mapping[str, object]) -> bool:
    if "rate" in pricing:
        return Decimal(str(pricing["rate"])) != 0
    slabs = cast(list[dict[str, str]], pricing["slabs"])
    return any(Decimal(s["rate"]) != 0 for s in slabs)


def _flat_demand(record: Mapping[str, object]) -> list[dict[str, object]]:
    if "flatdemandstructure" not in record:
        return []
    _demand_unit(record, ("flatdemandunit", "flatDemandUnits"))
    structure = _periods(record, "flatdemandstructure")
    months = record.get("flatdemandmonths", [0] * 12)
    if not isinstance(months, list) or len(months) != 12:
        raise TariffError("flatdemandmonths", "must be 12 period indices, January to December")
    charges: list[dict[str, object]] = []
    for index in sorted(set(months)):
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(structure):
            raise TariffError(
                "flatdemandmonths", f"{index!r} is not an index into flatdemandstructure"
            )
        pricing = _tiers(structure[index], f"flatdemandstructure[{index}]")
        if not _has_charge(pricing):
            continue
        charge: dict[str, object] = {"code": f"DF{index}", "description": "Demand charge"}
        in_months = [m + 1 for m, i in enumerate(months) if i == index]
        if len(in_months) < 12:
            charge["months"] = in_months
        charges.append(charge | pricing)
    return charges


def _tou_demand(
    record: Mapping[str, object], calendars: dict[str, object]
) -> list[dict[str, object]]:
    """Time-of-use demand: the highest demand within each period's hours, ``DT<i>``."""
    if "demandratestructure" not in record:
        return []
    _demand_unit(record, ("demandrateunit", "demandRateUnits"))
    keys = ("demandweekdayschedule", "demandweekendschedule")
    return _scheduled_demand(record, calendars, "demandratestructure", keys,
                             ("demand", "d", "DT", "Time-of-use demand charge"))  # fmt: skip


def _coincident(
    record: Mapping[str, object], calendars: dict[str, object]
) -> list[dict[str, object]]:
    """Coincident demand: the highest demand within each period's hours, ``DC<i>``."""
    if not record.get("coincidentratestructure"):
        return []
    _demand_unit(record, ("coincidentrateunit", "coincidentRateUnits"))
    keys = ("coincidentrateschedule", "coincidentrateschedule")  # every day alike
    return _scheduled_demand(record, calendars, "coincidentratestructure", keys,
                             ("coincident", "c", "DC", "Coincident demand charge"))  # fmt: skip


def _scheduled_demand(
    record: Mapping[str, object],
    calendars: dict[str, object],
    structure_key: str,
    schedule_keys: tuple[str, str],
    names: tuple[str, str, str, str],
) -> list[dict[str, object]]:
    """Demand charges priced per period of their own 12 × 24 schedule, on a calendar named
    ``names[0]`` with periods ``names[1]<i>`` and codes ``names[2]<i>``."""
    calendar_name, prefix, code, description = names
    structure = _periods(record, structure_key)
    calendar, used = _schedule_calendar(record, schedule_keys, len(structure), prefix)
    charges: list[dict[str, object]] = []
    for i in used:
        pricing = _tiers(structure[i], f"{structure_key}[{i}]")
        if _has_charge(pricing):
            charge = {"code": f"{code}{i}", "description": description}
            charges.append(charge | {"calendar": calendar_name, "period": f"{prefix}{i}"} | pricing)
    if charges:
        calendars[calendar_name] = calendar
    return charges
