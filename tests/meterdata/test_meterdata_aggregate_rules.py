"""The rules of the usage aggregates: which qualities count and how intervals add up."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from domain.enums import ReadQuality
from domain.usage_aggregates import (
    COUNTED,
    EXPORT,
    IMPORT,
    NOT_AGGREGATED,
    WHOLE_DAY,
    UsageTotals,
    counts,
    demand_w,
    direction_of,
    first_of_month,
)

PERIODS = ("peak", "normal", "off_peak")
interval = st.tuples(
    st.sampled_from([1, 2]),  # account
    st.dates(min_value=date(2026, 1, 30), max_value=date(2026, 2, 2)),  # across a month end
    st.sampled_from(PERIODS),
    st.sampled_from([IMPORT, EXPORT, NOT_AGGREGATED]),
    st.sampled_from([q.value for q in ReadQuality]),
    st.integers(min_value=0, max_value=10_000),
)


def test_which_qualities_count() -> None:
    assert {q for q in ReadQuality if counts(q.value)} == {
        ReadQuality.VALID, ReadQuality.ESTIMATED, ReadQuality.EDITED,
    }  # fmt: skip
    assert set(COUNTED) == {"valid", "estimated", "edited"}
    assert [direction_of(o) for o in ("1.8.0", "2.8.0", "1.6.0")] == [IMPORT, EXPORT, "-"]
    assert demand_w(250, 900) == 1_000 and demand_w(1, 900) == 4


@given(st.lists(interval, max_size=60))
def test_totals_add_up_like_the_intervals(
    items: list[tuple[int, date, str, str, str, int]],
) -> None:
    totals = UsageTotals()
    for account, day, period, direction, quality, wh in items:
        totals.add(account, day, first_of_month(day), period, direction=direction,
                   quality=quality, wh=wh, demand=demand_w(wh, 900))  # fmt: skip
    daily = {(a, d, p): (i, e, s, m) for a, d, p, i, e, s, m in totals.daily()}
    monthly = {(a, d, p): (i, e, s, m) for a, d, p, i, e, s, m in totals.monthly()}
    counted = [x for x in items if counts(x[4]) and x[3] != NOT_AGGREGATED]
    assert bool(totals) == bool(counted)
    for rows, bucket in ((daily, lambda d: d), (monthly, first_of_month)):
        for (account, when, period), (imp, exp, est, dem) in rows.items():
            mine = [
                x for x in counted
                if x[0] == account and bucket(x[1]) == when and period in (x[2], WHOLE_DAY)
            ]  # fmt: skip
            assert imp == sum(x[5] for x in mine if x[3] == IMPORT)
            assert exp == sum(x[5] for x in mine if x[3] == EXPORT)
            assert est == sum(x[5] for x in mine if x[3] == IMPORT and x[4] == "estimated")
            assert dem == max([demand_w(x[5], 900) for x in mine if x[3] == IMPORT] or [0])
        # every counted interval is in its period's row and in the whole day's (month's)
        for account, day, period, _, _, _ in counted:
            assert (account, bucket(day), period) in rows
            assert (account, bucket(day), WHOLE_DAY) in rows
