"""The demo's meters: which meter each connection has, its registers, and what they read.

Walked meters (manual and probe) are read on the cycle's read day as the reader walks the
route, from about 09:30. Smart meters report a midnight register snapshot and 15-minute
intervals; their register reads are the sums of those intervals, so the two always agree.
Factories are CT-operated: the register turns once for every ``ct_primary/ct_secondary``
units that flow, and the multiplier puts that back.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from domain.enums import AccountCategory, MeterKind, RegisterUnit

from .consumption import SmartProfile, interval_values, period_energy_wh, period_totals
from .periods import Timeline, at_local
from .plan import DemoCycle, DemoMeter, DemoRead, DemoRegister
from .readings import cumulative_values, new_uuid, probe_telegram, resolution_milli, rollover_milli

if TYPE_CHECKING:
    from .generator import Site

Make = tuple[str, str, str]  # manufacturer, serial prefix, model

MAKES: dict[tuple[MeterKind, int], tuple[Make, ...]] = {
    (MeterKind.MANUAL, 1): (("HPL Electric", "HPL", "1P Static"), ("Genus Power", "GEN", "GEM 1P"), ("L&T", "LT", "ER100")),
    (MeterKind.MANUAL, 3): (("L&T", "LT", "ER300P"), ("Genus Power", "GEN", "GEM 3P")),
    (MeterKind.PROBE, 1): (("Secure Meters", "SEC", "Sprint 350"), ("Landis+Gyr", "LG", "E150")),
    (MeterKind.PROBE, 3): (("Secure Meters", "SEC", "Premier 300"), ("Landis+Gyr", "LG", "E350")),
    (MeterKind.SMART, 1): (("Genus Power", "GEN", "Smart 1P NB-IoT"), ("Secure Meters", "SEC", "Beanstalk SM110")),
    (MeterKind.SMART, 3): (("Secure Meters", "SEC", "Beanstalk SM310"),),
}  # fmt: skip
CT_MAKE: Make = ("Secure Meters", "SEC", "Elite 440 CT")
CT_PRIMARIES_A = (50, 100, 150, 200, 300)
CT_SECONDARY_A = 5
DECIMALS = {MeterKind.MANUAL: 0, MeterKind.PROBE: 2, MeterKind.SMART: 3}
WALK_START = time(9, 30)
MINUTES_PER_STOP = 4


class MeterBuilder:
    """Draws meters from the grid stream and their reads from the reads stream (the
    gross-metered homes' export and the kVAh registers from the ``later`` stream)."""

    def __init__(
        self,
        grid: random.Random,
        reads: random.Random,
        later: random.Random,
        zone: ZoneInfo,
        cycles: Sequence[DemoCycle],
        timelines: dict[str, Timeline],
    ) -> None:
        self.grid = grid
        self.rng = reads
        self.later = later
        self.zone = zone
        self.cycles = {cycle.code: cycle for cycle in cycles}
        self.timelines = timelines

    def meter_for(self, site: Site) -> DemoMeter:
        assert (
            site.account is not None and site.service_point is not None and site.premise is not None
        )
        rng, kind = self.grid, site.kind
        ct_primary = _ct_primary(site.account.sanctioned_load_w) if _is_ct(site) else 1
        make, prefix, model = (
            CT_MAKE if ct_primary > 1 else rng.choice(MAKES[kind, site.service_point.phases])
        )
        number = 21_000_000 + site.index * 17 + rng.randrange(17)
        cycle = self.cycles[site.account.cycle_code]
        installed_on = self._installed_on(kind, site.account.connected_on, cycle.read_dates[0])
        meter = DemoMeter(
            serial=f"{prefix}{number:08d}",
            make=make,
            model=model,
            kind=kind,
            phases=site.service_point.phases,
            manufactured_year=installed_on.year - rng.randint(0, 1),
            probe_address=f"{number:08d}" if kind is MeterKind.PROBE else "",
            service_point_code=site.service_point.code,
            cycle_code=cycle.code,
            installed_at=at_local(installed_on, time(11, rng.randrange(60)), self.zone),
            seal_numbers=f"MS{rng.randrange(10**6):06d}, MS{rng.randrange(10**6):06d}",
            ct_primary_a=ct_primary,
            ct_secondary_a=CT_SECONDARY_A if ct_primary > 1 else 1,
            latitude=site.premise.latitude,
            longitude=site.premise.longitude,
        )
        if kind is MeterKind.SMART:
            commercial = site.category is AccountCategory.COMMERCIAL
            meter.smart = SmartProfile(rng.getrandbits(63), round(site.daily_wh), commercial)
        meter.registers = _registers(site.category, kind, site.solar, site.kvah)
        return meter

    def _installed_on(self, kind: MeterKind, connected: date, first_read: date) -> date:
        """Smart meters came in a recent roll-out; old connections often had a replacement."""
        rng = self.grid
        if kind is MeterKind.SMART:
            earliest = max(connected, first_read - timedelta(days=300))
            return earliest + timedelta(
                days=rng.randrange((first_read - timedelta(days=20) - earliest).days)
            )
        if (first_read - connected).days > 3650 and rng.random() < 0.6:
            earliest = first_read - timedelta(days=3650)
            return earliest + timedelta(days=rng.randrange(3620))
        return connected

    def read(self, meter: DemoMeter, site: Site) -> None:
        if meter.smart is not None:
            self._read_smart(meter, meter.smart)
        else:
            self._read_walked(meter, site)

    # --- walked meters ------------------------------------------------------------------

    def _read_walked(self, meter: DemoMeter, site: Site) -> None:
        """Every register of the meter read at one stop of the walk, each read day."""
        rng, dates = self.rng, self.cycles[meter.cycle_code].read_dates
        values = self._walked_values(meter, site, dates)
        for k, day in enumerate(dates):
            read_at = self._walk_time(day, meter.route_sequence)
            lag = rng.randint(1, 10) if meter.kind is MeterKind.PROBE else rng.randint(5, 90)
            telegram = None
            if meter.kind is MeterKind.PROBE:
                snapshot = [(reg, values[reg.obis_code][k]) for reg in meter.registers]
                identification = f"{meter.serial[:3]}5{meter.model.replace(' ', '')}"
                telegram = probe_telegram(identification, meter.probe_address, snapshot)
            for register in meter.registers:
                value = values[register.obis_code][k]
                received = read_at + timedelta(minutes=lag)
                ids = self.later if _came_later(register, site) else rng
                register.reads.append(DemoRead(new_uuid(ids), value, read_at, received, telegram))

    def _walked_values(
        self, meter: DemoMeter, site: Site, dates: Sequence[date]
    ) -> dict[str, list[int]]:
        """Each register's shown value on each read day, by OBIS code."""
        rng = self.rng
        energy = [period_energy_wh(rng, site.daily_wh, a, b) for a, b in pairwise(dates)]
        multiplier = meter.ct_primary_a // meter.ct_secondary_a
        shares = {
            "1.8.0": 1.0,
            "1.8.1": _peak_share(rng, site),
            "1.8.2": _off_peak_share(rng, site),
        }
        opening = self._opening_wh(site, meter, energy)
        values: dict[str, list[int]] = {}
        for register in meter.registers:
            obis = register.obis_code
            if obis == "1.6.0":
                values[obis] = self._demand_values(register, site, energy, dates, multiplier)
            elif obis == "2.8.0":
                values[obis] = self._export_values(register, site, dates)
            elif obis == "9.8.0":
                values[obis] = self._kvah_values(register, opening, energy, multiplier)
            else:
                values[obis] = self._energy_values(
                    register, opening, energy, multiplier, shares[obis]
                )
        return values

    def _energy_values(
        self, register: DemoRegister, opening: int, energy: list[int], multiplier: int, share: float
    ) -> list[int]:
        """Import (1.8.0) or a TOU part of it: ``share`` of the meter's energy so far and of
        each period (a little varied), turned by the CT ratio."""
        rng = self.rng
        advances = [
            round(e * share * (rng.uniform(0.96, 1.04) if share < 1 else 1)) // multiplier
            for e in energy
        ]
        start = round(opening * share) // multiplier
        return cumulative_values(start, advances, register.digits, register.decimals)

    def _export_values(
        self, register: DemoRegister, site: Site, dates: Sequence[date]
    ) -> list[int]:
        """Rooftop solar export: about 4 kWh per installed kW a day; a net-metered home uses
        some itself and exports 40% of it, a gross-metered plant exports all of it."""
        rng = self.later if site.gross else self.rng
        daily = site.solar_kw * 4000 * (1.0 if site.gross else 0.4)
        exported = [period_energy_wh(rng, daily, a, b, solar=True) for a, b in pairwise(dates)]
        return cumulative_values(
            rng.randint(200, 6000) * 1000, exported, register.digits, register.decimals
        )

    def _kvah_values(
        self, register: DemoRegister, opening: int, energy: list[int], multiplier: int
    ) -> list[int]:
        """Apparent energy (9.8.0): each period's kWh over a power factor between 0.86 and
        0.99, so the bills land in the penalty, neutral and incentive bands."""
        rng = self.later
        advances = [round(e / rng.uniform(0.86, 0.99)) // multiplier for e in energy]
        return cumulative_values(
            round(opening / 0.93) // multiplier, advances, register.digits, register.decimals
        )

    def _opening_wh(self, site: Site, meter: DemoMeter, energy: list[int]) -> int:
        """Energy through the meter before the opening read. A rollover meter (domestic,
        whole CT-less kWh) is just short of its last digit, so it passes zero in the six
        months."""
        rng = self.rng
        if site.rollover:
            return rollover_milli(meter.registers[0].digits) - round(
                sum(energy) * rng.uniform(0.3, 0.7)
            )
        top = {AccountCategory.DOMESTIC: 60_000, AccountCategory.COMMERCIAL: 300_000}.get(
            site.category, 400_000
        )
        return rng.randint(500, top) * 1000 + rng.randrange(1000)

    def _demand_values(
        self,
        register: DemoRegister,
        site: Site,
        energy: list[int],
        dates: Sequence[date],
        multiplier: int,
    ) -> list[int]:
        """Monthly maximum demand in W (kW register, thousandths): average power over the
        period divided by a load factor, never far above the sanctioned load."""
        rng = self.rng
        assert site.account is not None
        cap = site.account.sanctioned_load_w * 1.1
        low, high = (0.35, 0.6) if site.category is AccountCategory.INDUSTRIAL else (0.25, 0.45)
        demands = []
        for e, (start, end) in zip(energy, pairwise(dates), strict=True):
            hours = (end - start).days * 24
            demands.append(min(cap, e / hours / rng.uniform(low, high)))
        demands.insert(0, demands[0] * rng.uniform(0.9, 1.05))  # the month before the opening read
        resolution = resolution_milli(register.decimals)
        return [round(d / multiplier / resolution) * resolution for d in demands]

    def _walk_time(self, day: date, sequence: int) -> datetime:
        stop = max(0, sequence // 10 - 1)
        minutes = stop * MINUTES_PER_STOP + self.rng.randint(0, 3)
        start = at_local(day, WALK_START, self.zone)
        return start + timedelta(minutes=minutes, seconds=self.rng.randrange(60))

    # --- smart meters -------------------------------------------------------------------

    def _read_smart(self, meter: DemoMeter, profile: SmartProfile) -> None:
        """Midnight snapshots that are exactly the running sums of the meter's intervals."""
        rng, cycle = self.rng, self.cycles[meter.cycle_code]
        timeline = self.timelines[meter.cycle_code]
        instants = [at_local(day, time(0), self.zone) for day in cycle.read_dates]
        totals = period_totals(
            interval_values(profile, timeline), timeline, [timeline.index_of(t) for t in instants]
        )
        advances = {
            "1.8.0": [t.import_wh for t in totals],
            "1.8.1": [t.peak_wh for t in totals],
            "1.8.2": [t.off_peak_wh for t in totals],
        }
        opening = rng.randint(2_000, 80_000) * 1000 + rng.randrange(1000)
        for register in meter.registers:
            if register.obis_code == "1.6.0":
                demands = [t.max_demand_w for t in totals]
                values = [round(demands[0] * rng.uniform(0.9, 1.05)), *demands]
            else:
                advance = advances[register.obis_code]
                start = opening * sum(advance) // sum(advances["1.8.0"])  # TOU: the same share
                values = cumulative_values(start, advance, register.digits, register.decimals)
            for instant, value in zip(instants, values, strict=True):
                received = instant + timedelta(hours=2, minutes=rng.randrange(30))
                register.reads.append(DemoRead(new_uuid(rng), value, instant, received))


def _is_ct(site: Site) -> bool:
    return site.category is AccountCategory.INDUSTRIAL


def _ct_primary(load_w: int) -> int:
    """The smallest standard CT that carries the sanctioned load's current with 25% margin."""
    amps = load_w / (math.sqrt(3) * 415 * 0.9) * 1.25
    return next((primary for primary in CT_PRIMARIES_A if primary >= amps), CT_PRIMARIES_A[-1])


def _peak_share(rng: random.Random, site: Site) -> float:
    return (
        rng.uniform(0.25, 0.32)
        if site.category is AccountCategory.INDUSTRIAL
        else rng.uniform(0.30, 0.38)
    )


def _off_peak_share(rng: random.Random, site: Site) -> float:
    return (
        rng.uniform(0.25, 0.35)
        if site.category is AccountCategory.INDUSTRIAL
        else rng.uniform(0.05, 0.12)
    )


def _came_later(register: DemoRegister, site: Site) -> bool:
    """A gross-metered home's export or a kVAh register: its reads' ids come from the later
    stream, so the reads stream (and every read after these) is as it was without them."""
    return register.obis_code == "9.8.0" or (site.gross and register.obis_code == "2.8.0")


def _registers(
    category: AccountCategory, kind: MeterKind, solar: bool, kvah: bool = False
) -> list[DemoRegister]:
    """1.8.0 import on every meter; TOU registers and maximum demand for shops and factories;
    2.8.0 export where a home has rooftop solar; 9.8.0 kVAh where a factory is billed on it."""
    decimals = DECIMALS[kind]
    digits = (
        6
        if kind is MeterKind.MANUAL
        or (kind is MeterKind.PROBE and category is AccountCategory.DOMESTIC)
        else 7
    )
    registers = [DemoRegister("1.8.0", RegisterUnit.KWH, digits, decimals)]
    if category is not AccountCategory.DOMESTIC:
        registers += [
            DemoRegister("1.8.1", RegisterUnit.KWH, digits, decimals, "peak"),
            DemoRegister("1.8.2", RegisterUnit.KWH, digits, decimals, "off_peak"),
            DemoRegister("1.6.0", RegisterUnit.KW, 4, max(2, decimals)),
        ]
    if solar:
        registers.append(DemoRegister("2.8.0", RegisterUnit.KWH, digits, decimals))
    if kvah:
        registers.append(DemoRegister("9.8.0", RegisterUnit.KVAH, digits, decimals))
    return registers
