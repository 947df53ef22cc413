"""Estimated consumption for a period without an actual read, and what trues it up.

An estimate is the account's **average daily use** over its most recent actually-read
periods (up to :data:`HISTORY_PERIODS`, Wh ÷ days, half-up to the Wh) × the days to
estimate. An account without such history is estimated from its **category's profile**:
Wh per day per kW of sanctioned load. Time-of-day registers are estimated in the shares
history (or the profile) gives them, and maximum demand as the average recorded maximum
(or the profile's load factor × sanctioned load).

The estimate is billed and flagged. When an actual read comes, the next bill prices the
actual consumption over the **whole span** since the last actual read (so slabs and
fixed charges are prorated over all its days) and credits back the estimated bills in
between (``domain.billing.true_up``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from domain.money import round_half_up

HISTORY_PERIODS = 3


@dataclass(frozen=True)
class Profile:
    """A category's typical use: Wh a day per kW of sanctioned load, TOU shares, load factor."""

    wh_per_day_per_kw: int
    tou_shares: Mapping[str, Fraction]
    demand_factor: Fraction  # maximum demand as a share of the sanctioned load


PROFILES: dict[str, Profile] = {
    "domestic": Profile(1150, {"peak": Fraction(33, 100), "off_peak": Fraction(8, 100)}, Fraction(1, 2)),
    "commercial": Profile(3000, {"peak": Fraction(34, 100), "off_peak": Fraction(8, 100)}, Fraction(1, 2)),
    "industrial": Profile(8400, {"peak": Fraction(28, 100), "off_peak": Fraction(30, 100)}, Fraction(7, 10)),
    "agricultural": Profile(4000, {"peak": Fraction(10, 100), "off_peak": Fraction(40, 100)}, Fraction(9, 10)),
    "public_lighting": Profile(11000, {"peak": Fraction(30, 100), "off_peak": Fraction(60, 100)}, Fraction(1)),
    "institutional": Profile(2500, {"peak": Fraction(34, 100), "off_peak": Fraction(8, 100)}, Fraction(1, 2)),
}  # fmt: skip


class EstimationError(ValueError):
    """Nothing to estimate from."""


@dataclass(frozen=True)
class Period:
    """One actually-read period of the account's history."""

    days: int
    wh: int
    by_period_wh: Mapping[str, int] = field(default_factory=dict)
    max_demand_w: int | None = None


@dataclass(frozen=True)
class Estimate:
    wh: int
    by_period_wh: Mapping[str, int]
    max_demand_w: int | None
    basis: str  # "average of 3 periods" or "profile: domestic", shown on the bill


def _whole(value: Fraction) -> int:
    return int(round_half_up(value, Decimal(1)))


def estimate(
    days: int,
    history: Sequence[Period],
    *,
    category: str,
    sanctioned_load_w: int,
    tou_periods: Sequence[str] = (),
    wants_demand: bool = False,
) -> Estimate:
    """Estimate ``days`` of use; ``history`` is newest first (only the first few count).

    ``tou_periods`` names the TOU registers to estimate (their period names), and
    ``wants_demand`` asks for a maximum demand too.
    """
    if days < 1:
        raise EstimationError(f"cannot estimate {days} days")
    recent = [p for p in history if p.days > 0][:HISTORY_PERIODS]
    profile = PROFILES.get(category)
    if recent:
        total_days = sum(p.days for p in recent)
        total_wh = sum(p.wh for p in recent)
        wh = _whole(Fraction(total_wh, total_days) * days)
        shares = _history_shares(recent, tou_periods, total_wh)
        demands = [p.max_demand_w for p in recent if p.max_demand_w is not None]
        basis = f"average of {len(recent)} period{'s' if len(recent) > 1 else ''}"
        if shares is None and profile is not None:
            shares = {p: profile.tou_shares.get(p, Fraction(0)) for p in tou_periods}
        demand = _whole(Fraction(sum(demands), len(demands))) if demands else None
    else:
        if profile is None:
            raise EstimationError(f"no history and no profile for category {category!r}")
        kw = Fraction(sanctioned_load_w, 1000)
        wh = _whole(profile.wh_per_day_per_kw * kw * days)
        shares = {p: profile.tou_shares.get(p, Fraction(0)) for p in tou_periods}
        demand = None
        basis = f"profile: {category}"
    if wants_demand and demand is None:
        factor = profile.demand_factor if profile is not None else Fraction(1, 2)
        demand = _whole(factor * sanctioned_load_w)
    by_period = {p: _whole(share * wh) for p, share in (shares or {}).items()}
    if sum(by_period.values()) > wh:  # rounding can never push the parts past the whole
        raise EstimationError("time-of-day shares exceed the total")
    return Estimate(wh, by_period, demand if wants_demand else None, basis)


def _history_shares(
    recent: Sequence[Period], tou_periods: Sequence[str], total_wh: int
) -> dict[str, Fraction] | None:
    if not tou_periods or total_wh <= 0:
        return None
    if not all(all(p in h.by_period_wh for p in tou_periods) for h in recent):
        return None
    return {p: Fraction(sum(h.by_period_wh[p] for h in recent), total_wh) for p in tou_periods}
