"""Builds the demo utility from a seed, as plain data and without any I/O.

Each concern draws from its own RNG stream (people, places, the grid, reads), so that the
same seed gives the same customers whatever the date, and a change to how reads are drawn
does not rename everybody. Shares are exact counts rather than coin flips, so a small demo
still has every kind of customer and meter the screens and tests look for.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from domain.enums import AccountCategory, MeterKind, Role

from . import names, places
from .holidays import holidays_of
from .meters import MeterBuilder
from .periods import build_timeline, read_months
from .plan import (
    DemoAccount,
    DemoCustomer,
    DemoCycle,
    DemoMeter,
    DemoPartner,
    DemoPremise,
    DemoRoute,
    DemoServicePoint,
    DemoUser,
    DemoUtility,
)
from .tariffs import (
    GROSS_METERED,
    KVAH_INDUSTRIAL,
    NET_METERED,
    TARIFF_BY_CATEGORY,
    TARIFFS,
    financial_year_start,
)

MIN_CUSTOMERS = 20
CYCLE_READ_DAYS = (1, 8, 15, 22)
ROUTE_CYCLES = (0, 0, 0, 1, 1, 1, 2, 2, 3, 3)  # route index -> cycle index, 10 routes
READER_ROUTES = 6  # the demo meter reader walks the first routes, the rest await a reader
SIGNED_UP = 5
EMAIL_DOMAIN = "example.com"
STAFF_DOMAIN = "gridbill.example"
PARTNER = DemoPartner(
    client_id="demo-energy-insights",
    name="Demo Energy Insights",
    scopes=("usage:read", "bills:read"),
    contact_email="api@energy-insights.example",
)

DOMESTIC_LOADS_KW = (1, 2, 3, 3, 3, 4, 4, 5, 5, 6, 7, 8, 10)
COMMERCIAL_LOADS_KW = (3, 5, 5, 7, 10, 10, 15, 20, 25, 30, 40, 50)
INDUSTRIAL_LOADS_KW = (20, 25, 30, 40, 50, 60, 75, 100, 125, 150)

T = TypeVar("T")


@dataclass(slots=True)
class Site:
    """One connection while it is being decided: who, where, what is billed, which meter."""

    index: int
    category: AccountCategory
    kind: MeterKind
    locality: places.Locality
    solar: bool = False
    gross: bool = False  # a rooftop-solar home on gross metering rather than net
    kvah: bool = False  # a factory billed in kVAh with power-factor bands
    rollover: bool = False
    walk_key: tuple[int, ...] = ()
    customer: DemoCustomer | None = None
    premise: DemoPremise | None = None
    service_point: DemoServicePoint | None = None
    account: DemoAccount | None = None
    meter: DemoMeter | None = None
    daily_wh: float = 0.0  # an average day's use, before the season
    solar_kw: int = 0  # rooftop plant size, for the solar homes


def build_demo_utility(*, seed: int, customers: int, today: date, zone: ZoneInfo) -> DemoUtility:
    """The whole demo utility for ``seed``, with reads up to the month before ``today``."""
    if customers < MIN_CUSTOMERS:
        raise ValueError(f"a demo utility needs at least {MIN_CUSTOMERS} customers")
    return _Builder(seed, customers, today, zone).build()


def _stream(seed: int, name: str) -> random.Random:
    return random.Random(f"gridbill-demo:{seed}:{name}")


class _Builder:
    def __init__(self, seed: int, customers: int, today: date, zone: ZoneInfo) -> None:
        self.count = customers
        self.today = today
        self.zone = zone
        self.people = _stream(seed, "people")
        self.places = _stream(seed, "places")
        self.grid = _stream(seed, "grid")
        self.reads = _stream(seed, "reads")
        # The gross-metered homes and the kVAh factory came later: they draw from a stream
        # of their own, so the rest of a seed's demo stays as it was.
        self.later = _stream(seed, "gross-and-kvah")
        self.months = read_months(today)
        self.cycles = _cycles(self.months)
        self.timelines = {
            c.code: build_timeline(c.read_dates[0], c.read_dates[-1], zone) for c in self.cycles
        }
        self.emails: set[str] = set()
        self.phones: set[str] = set()

    def build(self) -> DemoUtility:
        sites = _mix(self.grid, self.count)
        _gross_and_kvah(self.later, sites)
        for site in sites:
            self._locate(site)
            self._identify(site)
            self._connect(site)
        routes = _routes(self.cycles)
        meters = MeterBuilder(
            self.grid, self.reads, self.later, self.zone, self.cycles, self.timelines
        )
        for site in sites:
            site.meter = meters.meter_for(site)
        _walk_routes(routes, sites)
        for site in sites:
            assert site.meter is not None
            meters.read(site.meter, site)
        return self._utility(sites, routes)

    def _utility(self, sites: list[Site], routes: list[DemoRoute]) -> DemoUtility:
        first_read = min(cycle.read_dates[0] for cycle in self.cycles)
        years = range(first_read.year, self.today.year + 1)
        return DemoUtility(
            today=self.today,
            zone=self.zone,
            tariff_effective_from=financial_year_start(first_read),
            cycles=self.cycles,
            routes=routes,
            customers=[_get(site.customer) for site in sites],
            premises=[_get(site.premise) for site in sites],
            service_points=[_get(site.service_point) for site in sites],
            accounts=[_get(site.account) for site in sites],
            meters=[_get(site.meter) for site in sites],
            tariffs=TARIFFS,
            holidays=[holiday for year in years for holiday in holidays_of(year)],
            users=_staff(self._phone) + _signed_up(sites),
            partner=PARTNER,
            timelines=self.timelines,
        )

    # --- who ----------------------------------------------------------------------------

    def _identify(self, site: Site) -> None:
        rng = self.people
        if site.category is AccountCategory.DOMESTIC:
            first, surname = rng.choice(names.FIRST_NAMES), rng.choice(names.SURNAMES)
            name = f"{first} {surname}"
            email = self._email(f"{first}.{surname}") if rng.random() < 0.88 else None
            kyc = f"aadhaar:XXXX-XXXX-{rng.randrange(10_000):04d}"
        else:
            kinds = (
                names.INDUSTRIAL_KINDS
                if site.category is AccountCategory.INDUSTRIAL
                else names.COMMERCIAL_KINDS
            )
            name = f"{rng.choice(names.BUSINESS_PREFIXES)} {rng.choice(kinds)}"
            email = self._email(name) if rng.random() < 0.95 else None
            kyc = "gstin:" + _gstin(rng)
        premise = _get(site.premise)
        site.customer = DemoCustomer(
            number=f"BP{10_000_001 + site.index}",
            name=name,
            email=email,
            phone=self._phone(),
            postal_address=f"{premise.address_line1}, {premise.address_line2}, {premise.locality}, "
            f"{premise.city} {premise.postal_code}, {premise.state}",
            kyc_reference=kyc,
        )

    def _email(self, label: str) -> str:
        local = "".join(ch for ch in label.lower().replace(" ", ".") if ch.isalnum() or ch == ".")
        candidate, suffix = f"{local}@{EMAIL_DOMAIN}", 1
        while candidate in self.emails:
            suffix += 1
            candidate = f"{local}{suffix}@{EMAIL_DOMAIN}"
        self.emails.add(candidate)
        return candidate

    def _phone(self) -> str:
        """A unique Indian mobile number in E.164 form (+91 and ten digits starting with 9)."""
        while True:
            phone = f"+919{self.people.randrange(10**9):09d}"
            if phone not in self.phones:
                self.phones.add(phone)
                return phone

    # --- where --------------------------------------------------------------------------

    def _locate(self, site: Site) -> None:
        rng, place = self.places, site.locality
        road_no = rng.randrange(len(place.roads))
        number = rng.randint(1, 240)
        if site.category is AccountCategory.INDUSTRIAL:
            line1 = f"Plot No. {rng.choice('ABCDJ')}-{number}"
        elif site.category is AccountCategory.COMMERCIAL:
            line1 = f"Shop No. {rng.randint(1, 40)}, {rng.choice(places.SHOPPING_CENTRES)}"
        elif rng.random() < 0.65:
            line1 = (
                f"Flat {rng.randint(1, 7)}{rng.randint(1, 4):02d}, {rng.choice(places.BUILDINGS)}"
            )
        else:
            line1 = f"House No. {number}"
        site.walk_key = (road_no, number, site.index)
        site.premise = DemoPremise(
            code=f"PR-{place.code}-{site.index + 1:05d}",
            address_line1=line1,
            address_line2=place.roads[road_no],
            locality=place.name,
            city=places.CITY,
            state=places.STATE,
            postal_code=place.postal_code,
            latitude=round(place.latitude + rng.uniform(-0.006, 0.006), 6),
            longitude=round(place.longitude + rng.uniform(-0.006, 0.006), 6),
            access_notes=rng.choice(places.ACCESS_NOTES) if rng.random() < 0.1 else "",
        )

    # --- what is billed -----------------------------------------------------------------

    def _connect(self, site: Site) -> None:
        rng, place = self.grid, site.locality
        load_kw = rng.choice(_loads(site.category))
        phases = 3 if load_kw > 5 or site.category is AccountCategory.INDUSTRIAL else 1
        site.service_point = DemoServicePoint(
            code=f"SP-{place.code}-{site.index + 1:05d}",
            premise_code=_get(site.premise).code,
            supply_voltage_v=415 if phases == 3 else 230,
            phases=phases,
            feeder=f"11KV-{place.code}-{rng.randint(1, 4):02d}",
            transformer=f"DTC-{place.code}-{rng.randint(1, 40):03d}",
        )
        monthly_kwh = _monthly_kwh(rng, site.category, load_kw)
        site.daily_wh = monthly_kwh * 1000 / 30.4
        site.solar_kw = rng.choice((2, 3, 3, 5))
        cycle = self.cycles[_cycle_of(place)]
        site.account = DemoAccount(
            number=f"17{places.LOCALITIES.index(place):02d}{site.index + 1:08d}",
            service_point_code=site.service_point.code,
            customer_number=_get(site.customer).number,
            category=site.category,
            sanctioned_load_w=load_kw * 1000,
            contract_demand_va=round(load_kw * 10 / 0.9) * 100
            if site.category is AccountCategory.INDUSTRIAL
            else None,
            security_deposit_paise=max(1, round(monthly_kwh * 8 / 100)) * 100 * 100,
            cycle_code=cycle.code,
            connected_on=_connected_on(rng, cycle.read_dates[0]),
            tariff_code=_tariff_code(site),
        )


# --- the mix of customers and meters ------------------------------------------------------


def _mix(rng: random.Random, count: int) -> list[Site]:
    """Categories and meter kinds in exact shares, shuffled over the customer numbers."""
    industrial = max(1, round(count * 0.03))
    commercial = max(1, round(count * 0.12))
    categories = [AccountCategory.INDUSTRIAL] * industrial + [
        AccountCategory.COMMERCIAL
    ] * commercial
    categories += [AccountCategory.DOMESTIC] * (count - len(categories))
    rng.shuffle(categories)
    kinds = _kinds(rng, categories)
    sites = [Site(i, cat, kinds[i], _locality(rng, cat)) for i, cat in enumerate(categories)]
    domestic_read = [
        s for s in sites if s.category is AccountCategory.DOMESTIC and s.kind is not MeterKind.SMART
    ]
    for site in rng.sample(domestic_read, max(1, round(count * 0.02))):
        site.solar = True
    manual_homes = [s for s in domestic_read if s.kind is MeterKind.MANUAL and not s.solar]
    for site in rng.sample(manual_homes, max(1, round(count * 0.005))):
        site.rollover = True
    return sites


def _gross_and_kvah(rng: random.Random, sites: list[Site]) -> None:
    """Homes numbering about 1% of the customers (at least one) put rooftop solar on gross
    metering (all of its output exported, bought at the feed-in tariff), and about a third
    of the factories (at least one) are billed in kVAh with power-factor bands."""
    homes = [
        s
        for s in sites
        if s.category is AccountCategory.DOMESTIC
        and s.kind is not MeterKind.SMART
        and not (s.solar or s.rollover)
    ]
    for site in rng.sample(homes, max(1, round(len(sites) * 0.01))):
        site.solar = site.gross = True
    factories = [s for s in sites if s.category is AccountCategory.INDUSTRIAL]
    for site in rng.sample(factories, max(1, round(len(factories) / 3))):
        site.kvah = True


def _tariff_code(site: Site) -> str:
    if site.gross:
        return GROSS_METERED.code
    if site.solar:
        return NET_METERED.code
    if site.kvah:
        return KVAH_INDUSTRIAL.code
    return TARIFF_BY_CATEGORY[site.category].code


def _kinds(rng: random.Random, categories: list[AccountCategory]) -> list[MeterKind]:
    """~5% smart (a few of them commercial), ~25% probe (every factory: CT meters are read by
    probe), the rest manual."""
    count = len(categories)
    kinds = [
        MeterKind.PROBE if c is AccountCategory.INDUSTRIAL else MeterKind.MANUAL for c in categories
    ]
    smart = max(1, round(count * 0.05))
    shops = [i for i, c in enumerate(categories) if c is AccountCategory.COMMERCIAL]
    homes = [i for i, c in enumerate(categories) if c is AccountCategory.DOMESTIC]
    smart_shops = rng.sample(
        shops, min(len(shops), max(1, round(smart * 0.2)) if smart >= 3 else 0)
    )
    for i in smart_shops + rng.sample(homes, smart - len(smart_shops)):
        kinds[i] = MeterKind.SMART
    manual = [i for i, kind in enumerate(kinds) if kind is MeterKind.MANUAL]
    probes = max(0, round(count * 0.25) - kinds.count(MeterKind.PROBE))
    for i in rng.sample(manual, min(probes, len(manual))):
        kinds[i] = MeterKind.PROBE
    return kinds


def _locality(rng: random.Random, category: AccountCategory) -> places.Locality:
    pool = places.INDUSTRIAL if category is AccountCategory.INDUSTRIAL else places.RESIDENTIAL
    return rng.choice(pool)


def _loads(category: AccountCategory) -> tuple[int, ...]:
    if category is AccountCategory.INDUSTRIAL:
        return INDUSTRIAL_LOADS_KW
    if category is AccountCategory.COMMERCIAL:
        return COMMERCIAL_LOADS_KW
    return DOMESTIC_LOADS_KW


def _monthly_kwh(rng: random.Random, category: AccountCategory, load_kw: int) -> float:
    """A typical month's use: homes ~35 kWh per sanctioned kW, shops ~90, factories run
    their load a quarter to half of the time."""
    spread = rng.lognormvariate(0, 0.3)
    if category is AccountCategory.INDUSTRIAL:
        return load_kw * 24 * 30.4 * rng.uniform(0.25, 0.45)
    if category is AccountCategory.COMMERCIAL:
        return max(60.0, 90 * load_kw * spread)
    return min(1200.0, max(30.0, 35 * load_kw * spread))


def _connected_on(rng: random.Random, first_read: date) -> date:
    earliest, latest = date(1998, 1, 1), first_read - timedelta(days=120)
    return earliest + timedelta(days=rng.randrange((latest - earliest).days))


def _gstin(rng: random.Random) -> str:
    """A GSTIN-shaped code for Maharashtra (state 27): 2 digits, PAN-like 10, then 3 more."""
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    pan = (
        "".join(rng.choice(letters) for _ in range(5))
        + f"{rng.randrange(10_000):04d}"
        + rng.choice(letters)
    )
    return f"27{pan}1Z{rng.choice(letters + '0123456789')}"


# --- cycles and routes --------------------------------------------------------------------


def _cycles(months: tuple[date, ...]) -> list[DemoCycle]:
    return [
        DemoCycle(
            code=f"CYC-{n + 1:02d}",
            name=f"Cycle {n + 1} (read on day {day})",
            read_day=day,
            bill_day=day + 3,
            due_days=15,
            read_dates=tuple(month.replace(day=day) for month in months),
        )
        for n, day in enumerate(CYCLE_READ_DAYS)
    ]


def _route_index(place: places.Locality) -> int:
    return next(i for i, pair in enumerate(places.ROUTE_LOCALITIES) if place.code in pair)


def _cycle_of(place: places.Locality) -> int:
    return ROUTE_CYCLES[_route_index(place)]


def _routes(cycles: list[DemoCycle]) -> list[DemoRoute]:
    by_code = {place.code: place for place in places.LOCALITIES}
    return [
        DemoRoute(
            code=f"R{i + 1:02d}",
            name=" and ".join(by_code[code].name for code in pair),
            cycle_code=cycles[ROUTE_CYCLES[i]].code,
            has_reader=i < READER_ROUTES,
        )
        for i, pair in enumerate(places.ROUTE_LOCALITIES)
    ]


def _walk_routes(routes: list[DemoRoute], sites: list[Site]) -> None:
    """Order each route's meters as a reader walks them: locality by locality, road by road,
    up the house numbers. Smart meters are read remotely and are on no route."""
    walked = [s for s in sites if s.kind is not MeterKind.SMART]
    for i, route in enumerate(routes):
        pair = places.ROUTE_LOCALITIES[i]
        stops = sorted(
            (s for s in walked if s.locality.code in pair),
            key=lambda s: (pair.index(s.locality.code), *s.walk_key),
        )
        for position, site in enumerate(stops, start=1):
            meter = _get(site.meter)
            meter.route_code, meter.route_sequence = route.code, position * 10


# --- people who sign in -------------------------------------------------------------------


def _staff(phone: Callable[[], str]) -> list[DemoUser]:
    people = (
        ("admin", Role.ADMIN, "demo-admin-1"),
        ("staff1", Role.STAFF, "demo-staff-1"),
        ("staff2", Role.STAFF, "demo-staff-2"),
        ("reader", Role.METER_READER, "demo-reader-1"),
    )
    return [
        DemoUser(f"{key}@{STAFF_DOMAIN}", phone(), names.STAFF_NAMES[key], role, password)
        for key, role, password in people
    ]


def _signed_up(sites: list[Site]) -> list[DemoUser]:
    """Five customers who have signed up, chosen to show the most: a smart-meter home, a
    shop, a rooftop-solar home, then ordinary homes."""
    with_email = [s for s in sites if _get(s.customer).email]
    wanted: tuple[Callable[[Site], bool], ...] = (
        lambda s: s.kind is MeterKind.SMART and s.category is AccountCategory.DOMESTIC,
        lambda s: s.category is AccountCategory.COMMERCIAL,
        lambda s: s.solar and not s.gross,
        lambda s: s.kind is MeterKind.PROBE and s.category is AccountCategory.DOMESTIC,
        lambda s: s.kind is MeterKind.MANUAL and s.category is AccountCategory.DOMESTIC,
    )
    chosen: list[Site] = []
    for want in wanted:
        chosen += [s for s in with_email if want(s) and s not in chosen][:1]
    chosen += [s for s in with_email if s not in chosen][: SIGNED_UP - len(chosen)]
    users = []
    for n, site in enumerate(chosen, start=1):
        customer = _get(site.customer)
        assert customer.email is not None
        users.append(
            DemoUser(
                customer.email,
                customer.phone,
                customer.name,
                Role.CUSTOMER,
                f"demo-customer-{n}",
                customer.number,
            )
        )
    return users


def _get(value: T | None) -> T:
    assert value is not None
    return value
