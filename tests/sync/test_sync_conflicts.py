"""The conflict rules, case by case: pure functions over plain values."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest

from domain.field_conflicts import (
    ClockCorrection,
    Drop,
    EditVerdict,
    ReadPoint,
    RegisterFacts,
    Rule,
    StoredRead,
    classify_drop,
    clock_correction,
    cycle_flags,
    cycle_of,
    cycle_winner,
    decide_edit,
    drop_flags,
    expected_range,
    in_future,
    older_than_billed,
    replace_flags,
    reported_rule,
)

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
KWH6 = RegisterFacts(unit="kWh", digits=6, max_load_w=5000)


def point(uuid: str, value: int, at: datetime = T0, *, field: bool = True) -> ReadPoint:
    return ReadPoint(uuid=uuid, read_at=at, value_milli=value, cycle=(2026, 11), field=field)


# --- clock skew -------------------------------------------------------------------------


def test_clock_offset_is_receive_time_minus_device_clock() -> None:
    slow = clock_correction(T0, T0 - timedelta(hours=2))
    assert slow == ClockCorrection(offset_s=7200, skewed=True)
    assert slow.correct(T0 - timedelta(hours=3)) == T0 - timedelta(hours=1)
    fast = clock_correction(T0, T0 + timedelta(seconds=301))
    assert fast.offset_s == -301 and fast.skewed
    assert not clock_correction(T0, T0 - timedelta(seconds=300)).skewed
    assert clock_correction(T0, T0 - timedelta(milliseconds=400)).offset_s == 0


def test_capture_in_the_future() -> None:
    assert not in_future(T0 + timedelta(minutes=5), T0)
    assert in_future(T0 + timedelta(minutes=5, seconds=1), T0)


# --- cycles -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "read_day", "cycle"),
    [
        (date(2026, 11, 20), 20, (2026, 11)),
        (date(2026, 11, 4), 20, (2026, 10)),  # 15 days after Oct 20, 16 before Nov 20
        (date(2026, 11, 5), 20, (2026, 11)),  # 16 after, 15 before
        (date(2026, 12, 30), 1, (2027, 1)),
        (date(2026, 1, 2), 1, (2026, 1)),
        (date(2026, 2, 27), 31, (2026, 2)),  # February's read date is the 28th
    ],
)
def test_a_read_belongs_to_the_cycle_with_the_nearest_read_date(
    day: date, read_day: int, cycle: tuple[int, int]
) -> None:
    assert cycle_of(day, read_day) == cycle


# --- two reads of one register in one cycle ---------------------------------------------


def test_same_cycle_keeps_all_and_the_latest_wins_whatever_the_order() -> None:
    reads = [point("b", 100, T0), point("a", 200, T0 + timedelta(hours=1)), point("c", 150, T0)]
    expected = {
        "a": frozenset({Rule.SAME_CYCLE}),
        "b": frozenset({Rule.SAME_CYCLE, Rule.SUPERSEDED}),
        "c": frozenset({Rule.SAME_CYCLE, Rule.SUPERSEDED}),
    }
    for order in itertools.permutations(reads):
        assert cycle_flags(order) == expected
        assert cycle_winner(order).uuid == "a"
    # A tie on capture time goes to the greater UUID.
    assert cycle_winner([point("b", 1), point("c", 2)]).uuid == "c"


def test_one_field_read_per_cycle_is_no_conflict() -> None:
    assert cycle_flags([point("a", 1)]) == {"a": frozenset()}
    smart = point("s", 1, field=False)
    assert cycle_flags([point("a", 1), smart]) == {"a": frozenset(), "s": frozenset()}


# --- lower than the previous read -------------------------------------------------------


def test_a_higher_read_is_no_drop() -> None:
    assert classify_drop(KWH6, point("p", 100), point("r", 100)) is None
    assert drop_flags(KWH6, None, point("r", 0)) == frozenset()


def test_rollover_when_the_wrapped_usage_is_physically_possible() -> None:
    # 999,990 kWh → 40 kWh a month later: 50 kWh used, 5 kW × 720 h allows 3,600 kWh.
    previous = point("p", 999_990_000, T0 - timedelta(days=30))
    read = point("r", 40_000, T0)
    assert classify_drop(KWH6, previous, read) == (Drop.ROLLOVER, 50_000)
    assert drop_flags(KWH6, previous, read) == {Rule.ROLLOVER}


def test_error_when_the_wrapped_usage_is_impossible() -> None:
    # 12,345 kWh → 12,340 kWh: a rollover would mean ~1 million kWh in a month.
    previous = point("p", 12_345_000, T0 - timedelta(days=30))
    read = point("r", 12_340_000, T0)
    verdict = classify_drop(KWH6, previous, read)
    assert verdict is not None and verdict[0] is Drop.ERROR
    assert drop_flags(KWH6, previous, read) == {Rule.BACKWARDS}
    # Minutes apart, even a small wrap is impossible at 5 kW.
    assert (
        classify_drop(
            KWH6, point("p", 999_999_000, T0), point("r", 500_000, T0 + timedelta(minutes=1))
        )[0]
        is Drop.ERROR
    )  # type: ignore[index]


def test_rollover_follows_the_meter_data_rule_from_top_to_bottom_margin() -> None:
    """domain.vee.register_advance: from the top tenth of the range to the bottom tenth."""
    unknown = RegisterFacts(unit="kWh", digits=5, max_load_w=None)
    previous = point("p", 95_000_000, T0 - timedelta(days=1))
    assert classify_drop(unknown, previous, point("r", 4_000_000, T0)) == (Drop.ROLLOVER, 9_000_000)
    assert classify_drop(unknown, previous, point("r", 11_000_000, T0))[0] is Drop.ERROR  # type: ignore[index]
    lower = point("p", 85_000_000, T0 - timedelta(days=1))
    assert classify_drop(unknown, lower, point("r", 1_000_000, T0))[0] is Drop.ERROR  # type: ignore[index]


def test_demand_registers_may_go_down() -> None:
    demand = RegisterFacts(unit="kW", digits=4, max_load_w=5000)
    assert classify_drop(demand, point("p", 4_000), point("r", 1_000)) is None


# --- billed reads, edits ----------------------------------------------------------------


def test_older_than_the_last_billed_read() -> None:
    assert older_than_billed(T0 - timedelta(days=1), T0)
    assert not older_than_billed(T0, T0)
    assert not older_than_billed(T0, None)


def test_edits() -> None:
    fresh = StoredRead(revision=1, value_milli=100, billed=False, staff_edited=False)
    assert decide_edit(fresh, 1, 120) == (EditVerdict.APPLY, None)
    assert decide_edit(fresh, 1, 100) == (EditVerdict.UNCHANGED, None)
    billed = StoredRead(revision=1, value_milli=100, billed=True, staff_edited=False)
    assert decide_edit(billed, 1, 120) == (EditVerdict.SERVER_WINS, Rule.EDIT_BILLED)
    staff = StoredRead(revision=2, value_milli=110, billed=False, staff_edited=True)
    assert decide_edit(staff, 1, 120) == (EditVerdict.SERVER_WINS, Rule.EDIT_STAFF)
    # The device saw revision 2 (its own accepted edit) and edits again: applied.
    own = StoredRead(revision=2, value_milli=110, billed=False, staff_edited=False)
    assert decide_edit(own, 2, 120) == (EditVerdict.APPLY, None)
    assert decide_edit(own, 1, 120) == (EditVerdict.SERVER_WINS, Rule.EDIT_STAFF)


# --- flags ------------------------------------------------------------------------------


def test_flags_are_replaced_by_category_and_reported_by_priority() -> None:
    flags = replace_flags(
        ["clock_skew", Rule.ROLLOVER, "vee_spike"],
        frozenset({Rule.ROLLOVER, Rule.BACKWARDS}),
        {Rule.BACKWARDS},
    )
    assert flags == sorted(["clock_skew", Rule.BACKWARDS, "vee_spike"])
    assert reported_rule([Rule.CLOCK_SKEW, Rule.SAME_CYCLE]) is Rule.SAME_CYCLE
    assert (
        reported_rule([Rule.CLOCK_SKEW, Rule.OLDER_THAN_BILLED, Rule.BACKWARDS])
        is Rule.OLDER_THAN_BILLED
    )
    assert reported_rule(["vee_spike"]) is None


def test_expected_range_for_the_next_read() -> None:
    last = (T0 - timedelta(days=30), 10_300_000)
    earlier = (T0 - timedelta(days=60), 10_000_000)  # 10 kWh a day
    low, high = expected_range(KWH6, last, earlier, T0)  # type: ignore[misc]
    assert (low, high) == (10_300_000 + 150_000, 10_300_000 + 600_000)
    assert expected_range(KWH6, last, None, T0) is None
    near_top = expected_range(KWH6, (last[0], 999_800_000), (earlier[0], 999_500_000), T0)
    assert near_top is not None and near_top[1] < near_top[0]  # wraps past zero
