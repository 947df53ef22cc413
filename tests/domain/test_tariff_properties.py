"""Properties of every bill, on the real tariffs in tests/fixtures/tariffs/.

* the total is the sum of the lines;
* under a slab tariff, more kWh never makes a smaller bill;
* a period split in two by a tariff change prices exactly like the unsplit period when
  both versions are the same tariff (this is what exact, unrounded slab limits buy);
* proration by days of a whole calendar month changes nothing: the bill equals the
  monthly tariff applied as printed (an independent reference computation here).
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st
from tariff_helpers import tariff

from domain.money import round_paise
from domain.pricing import Effective, price
from domain.tariff import Tariff
from domain.usage import IntervalUsage, TotalUsage

TARIFFS = {
    name: tariff(name)
    for name in (
        "derc_2019_20_domestic",
        "kserc_2019_lt1_domestic",
        "msedcl_2020_21_lt1b_residential",
    )
}
LOAD = Decimal("3")

names = st.sampled_from(sorted(TARIFFS))
kwhs = st.decimals(min_value=0, max_value=5000, places=3, allow_nan=False, allow_infinity=False)
starts = st.dates(min_value=date(2023, 1, 1), max_value=date(2025, 12, 31))
lengths = st.integers(min_value=1, max_value=75)
fast = settings(max_examples=60, deadline=None)


def bill(
    t: Tariff | list[Effective], kwh: Decimal, start: date, days: int
) -> tuple[Decimal, list[tuple[str, Decimal]]]:
    quote = price(t, TotalUsage(kwh, start, start + timedelta(days=days)), sanctioned_load_kw=LOAD)
    return quote.total, [(line.code, line.amount) for line in quote.lines]


@fast
@given(names, kwhs, starts, lengths)
def test_total_is_the_sum_of_the_lines(name: str, kwh: Decimal, start: date, days: int) -> None:
    total, lines = bill(TARIFFS[name], kwh, start, days)
    assert total == sum((amount for _, amount in lines), Decimal(0))
    assert all(amount == round_paise(amount) for _, amount in lines)


@fast
@given(names, kwhs, kwhs, starts, lengths)
def test_more_usage_never_costs_less(
    name: str, a: Decimal, b: Decimal, start: date, days: int
) -> None:
    low, high = sorted((a, b))
    assert bill(TARIFFS[name], low, start, days)[0] <= bill(TARIFFS[name], high, start, days)[0]


@fast
@given(names, kwhs, starts, lengths, st.integers(min_value=1, max_value=74))
def test_split_by_an_identical_tariff_prices_like_the_whole(
    name: str, kwh: Decimal, start: date, days: int, cut: int
) -> None:
    t = TARIFFS[name]
    change = start + timedelta(days=min(cut, days - 1) if days > 1 else 0)
    versions = [Effective(t, date(2000, 1, 1), change), Effective(t, change)]
    assert bill(versions, kwh, start, days) == bill(t, kwh, start, days)


@fast
@given(st.integers(min_value=1, max_value=96), st.integers(min_value=0, max_value=30))
def test_split_of_interval_data_prices_like_the_whole(seed: int, cut: int) -> None:
    # Same property on a load profile: each interval is priced in the part it falls in.
    zone = ZoneInfo("Asia/Kolkata")
    start = datetime(2024, 7, 1, tzinfo=zone)
    values = tuple(Decimal((i * seed) % 97) / 10 for i in range(31 * 24))
    usage = IntervalUsage(start, timedelta(hours=1), values)
    t = TARIFFS["msedcl_2020_21_lt1b_residential"]
    change = date(2024, 7, 1) + timedelta(days=cut)
    versions = [Effective(t, date(2000, 1, 1), change), Effective(t, change)]
    assert price(versions, usage, sanctioned_load_kw=LOAD) == price(
        t, usage, sanctioned_load_kw=LOAD
    )


DERC_SLABS = [(Decimal(200), Decimal("3.00")), (Decimal(400), Decimal("4.50")),
              (Decimal(800), Decimal("6.50")), (Decimal(1200), Decimal("7.00")), (None, Decimal("8.00"))]  # fmt: skip


def derc_as_printed(kwh: Decimal, load_kw: Decimal) -> Decimal:
    """The DERC schedule applied to one month by hand: no proration anywhere."""
    fixed_rate = next(r for up_to, r in [(2, 20), (5, 50), (15, 100), (25, 200), (None, 250)]
                      if up_to is None or load_kw <= up_to)  # fmt: skip
    lines = [round_paise(load_kw * fixed_rate)]
    lower = Decimal(0)
    for up_to, rate in DERC_SLABS:
        upper = kwh if up_to is None else min(kwh, up_to)
        if upper > lower:
            lines.append(round_paise((upper - lower) * rate))
        lower = up_to if up_to is not None else lower
    return sum(lines, Decimal(0))


@fast
@given(kwhs, st.integers(min_value=2023, max_value=2026), st.integers(min_value=1, max_value=12),
       st.decimals(min_value="0.5", max_value=40, places=1))  # fmt: skip
def test_proration_of_a_whole_month_changes_nothing(
    kwh: Decimal, year: int, month: int, load: Decimal
) -> None:
    start = date(year, month, 1)
    days = calendar.monthrange(year, month)[1]
    usage = TotalUsage(kwh, start, start + timedelta(days=days))
    quote = price(TARIFFS["derc_2019_20_domestic"], usage, sanctioned_load_kw=load)
    assert quote.total == derc_as_printed(kwh, load)
