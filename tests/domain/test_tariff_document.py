"""Bad tariff documents are rejected with the field named and the problem said."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest
from tariff_helpers import FIXTURES, load_json

from domain.tariff import TariffError, parse_tariff

SLABS = [{"up_to": "200", "rate": "3"}, {"up_to": "400", "rate": "4.5"}, {"rate": "6.5"}]
CALENDAR = {"periods": ["peak", "night"], "rules": [{"period": "peak", "hours": ["18-22"]}]}


def doc(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "format": "gridbill-tariff/1",
        "code": "T",
        "name": "Test",
        "currency": "INR",
        "energy_charges": [{"code": "EC", "slabs": copy.deepcopy(SLABS)}],
    }
    return base | fields


def energy(**fields: Any) -> dict[str, Any]:
    return doc(energy_charges=[{"code": "EC"} | fields])


CASES = [
    (energy(slabs=[*SLABS[:2], {"rate": "-1"}]), "energy_charges[0].slabs[2].rate", "must be a non-negative decimal"),
    (energy(slabs=[*SLABS[:2], {"rate": 6.5}]), "energy_charges[0].slabs[2].rate", "not a float"),
    (energy(slabs=[{"up_to": "200", "rate": "3"}, {"up_to": "150", "rate": "4"}, {"rate": "5"}]),
     "energy_charges[0].slabs[1].up_to", "must be above the previous slab's limit 200"),
    (energy(slabs=[{"up_to": "200", "rate": "3"}]), "energy_charges[0].slabs[0].up_to", "the last slab has no up_to"),
    (energy(rate="3", mode="telescopic"), "energy_charges[0].mode", "only applies with slabs"),
    (energy(rates="3"), "energy_charges[0].rates", "unknown field"),
    (energy(rate="3", slabs=SLABS), "energy_charges[0]", "exactly one of rate or slabs"),
    ({k: v for k, v in doc().items() if k != "currency"}, "currency", "is required"),
    (doc(currency="rupees"), "currency", "ISO 4217"),
    (doc(time_zone="Asia/Bombay Central"), "time_zone", "not a known time zone"),
    ({k: v for k, v in doc().items() if k != "format"}, "format", "must be 'gridbill-tariff/1'"),
    ({"energyratestructure": []}, "format", "--urdb"),
    (doc(levies=[{"code": "ED", "percent": "16", "base": ["XX"]}]), "levies[0].base[0]", "'XX' is not the code"),
    (doc(levies=[{"code": "ED", "percent": "16"}]), "levies[0].base", "is required with percent"),
    (doc(levies=[{"code": "A", "percent": "1", "base": ["B"]}, {"code": "B", "percent": "1", "base": ["A"]}]),
     "levies", "circular"),
    (doc(credits=[{"code": "F", "free_units": "50", "charge": "WC"}]), "credits[0].charge", "'WC' is not an energy charge"),
    (doc(fixed_charges=[{"code": "EC", "rate": "10"}]), "charges", "code 'EC' is used twice"),
    (doc(fixed_charges=[{"code": "FC", "load_slabs": {"mode": "telescopic", "slabs": SLABS}}]),
     "fixed_charges[0].load_slabs", "a per_bill charge takes one rate chosen by the sanctioned load"),
    (doc(minimum_charge={"rate": "1", "load_slabs": {"slabs": SLABS}}),
     "minimum_charge", "needs exactly one of rate or load_slabs"),
    (doc(levies=[{"code": "ED", "percent": "5", "base": ["EC.9"]}]),
     "levies[0].base[0]", "'EC.9' is not the code of a charge, one of its slabs"),
    (doc(levies=[{"code": "SUR", "per_kwh": "1"}, {"code": "ET", "percent": "5", "base": ["EC", {"code": "SUR", "on": ["EC"]}]}]),
     "levies[1].base[1].code", "'SUR' is not a percentage levy or credit"),
    (doc(levies=[{"code": "SUR", "percent": "8", "base": ["EC"]}, {"code": "ET", "percent": "5", "base": [{"code": "SUR", "on": ["FC"]}]}]),
     "levies[1].base[0].on[0]", "'FC' is not in the base of 'SUR'"),
    (doc(proration={"slab_widths": "up"}), "proration.slab_widths", "must be one of"),
    (doc(rounding={"point": "bill"}), "rounding.point", "must be one of"),
    (doc(calendars={"day": CALENDAR}, energy_charges=[{"code": "EC", "calendar": "day", "periods": {"peak": {"rate": "8"}, "night": {"rate": "4"}}}]),
     "calendars.day", "no rule covers month 1, weekday, hour 00"),
    (doc(calendars={"day": CALENDAR | {"default_period": "night"}},
         energy_charges=[{"code": "EC", "calendar": "day", "periods": {"peak": {"rate": "8"}}}]),
     "energy_charges[0].periods", "has no rate for period 'night'"),
    (doc(calendars={"day": CALENDAR | {"default_period": "night"}},
         energy_charges=[{"code": "EC", "calendar": "week", "periods": {"peak": {"rate": "8"}}}]),
     "energy_charges[0].calendar", "'week' is not defined"),
    (doc(calendars={"day": {"periods": ["peak"], "rules": [{"period": "peak", "hours": ["25-3"]}]}}),
     "calendars.day.rules[0].hours[0]", "not an hour range"),
    (doc(demand_charges=[{"code": "DC", "rate": "300", "calendar": "day", "period": "evening"}],
         calendars={"day": CALENDAR | {"default_period": "night"}}),
     "demand_charges[0].period", "'evening' is not a period"),
    (doc(categories=[{"name": "all"}]), "energy_charges", "either at the top or inside categories"),
    (doc(energy_charges=[], categories=None) | {"energy_charges": []}, "", "no charges"),
    (doc(levies=[{"code": "FAC", "base": ["EC"], "percent": [
        {"from": "2024-04-01", "to": "2024-07-01", "rate": "2"}, {"from": "2024-06-01", "rate": "3"}]}]),
     "levies[0].percent[1].from", "overlaps the previous entry"),
    (doc(proration={"basis": "calendar_month", "days": 30}), "proration.days", "only applies with basis fixed_days"),
]  # fmt: skip


@pytest.mark.parametrize(("document", "path", "problem"), CASES)
def test_bad_documents_name_the_field(document: dict[str, Any], path: str, problem: str) -> None:
    document = {k: v for k, v in document.items() if v is not None}
    with pytest.raises(TariffError) as raised:
        parse_tariff(document)
    assert raised.value.path == path, str(raised.value)
    assert problem in raised.value.problem
    assert str(raised.value) == (
        f"{path}: {raised.value.problem}" if path else raised.value.problem
    )


@pytest.mark.parametrize(
    "path", sorted((FIXTURES / "tariffs").glob("*.json")), ids=lambda p: p.stem
)
def test_every_fixture_tariff_parses_and_cites_its_order(path: Any) -> None:
    t = parse_tariff(load_json(f"tariffs/{path.name}"))
    assert "Commission" in t.source and t.currency == "INR"


def test_numbers_may_be_strings_ints_or_decimals() -> None:
    t = parse_tariff(energy(slabs=[{"up_to": 200, "rate": Decimal("3.00")}, {"rate": "4.5"}]))
    slabs = t.categories[0].energy_charges[0].slabs
    assert slabs is not None and slabs.slabs[0].up_to == Decimal(200)
