"""Every VEE rule of ``domain.vee`` with a case that fires and one that does not, and the
estimation methods of ``domain.interval_estimation`` with their arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest

from domain.interval_estimation import (
    Method,
    estimate_register_read,
    fill_gap,
    linear_fill,
    profile_fill,
)
from domain.vee import (
    ConfigError,
    Gap,
    Installation,
    Overlap,
    Rule,
    VeeConfig,
    apply_multiplier,
    average_daily_use,
    check_day,
    check_interval_duplicate,
    check_jump,
    check_timing,
    check_usage,
    is_suspect,
    multiplier,
    parse_config,
    register_advance,
    series_break,
)

IST = ZoneInfo("Asia/Kolkata")
NOW = datetime(2026, 4, 10, 12, 0, tzinfo=UTC)
INSTALLED = [Installation(datetime(2026, 1, 1, tzinfo=UTC))]
STEP = timedelta(minutes=15)


def rules(flags: list) -> set[Rule]:  # type: ignore[type-arg]
    return {flag.rule for flag in flags}


# --- register going backwards: rollover by digits vs. error ------------------------------


def test_register_backwards_is_an_error() -> None:
    advance = register_advance(500_000, 400_000, digits=6)
    assert advance.milli is None
    assert rules(list(advance.flags)) == {Rule.REGISTER_BACKWARDS}
    assert is_suspect(list(advance.flags))


def test_register_forwards_is_no_finding() -> None:
    advance = register_advance(400_000, 500_000, digits=6)
    assert advance == type(advance)(100_000, ())


def test_register_rollover_past_its_last_digit() -> None:
    # 999,990 kWh → 12 kWh on a 6-digit register: 22 kWh, not minus a million.
    advance = register_advance(999_990_000, 12_000, digits=6)
    assert advance.milli == 22_000
    assert rules(list(advance.flags)) == {Rule.REGISTER_ROLLOVER}
    assert not is_suspect(list(advance.flags))  # informational: the read stays valid


def test_fall_from_mid_range_is_not_a_rollover() -> None:
    advance = register_advance(500_000_000, 12_000, digits=6)
    assert advance.milli is None
    assert rules(list(advance.flags)) == {Rule.REGISTER_BACKWARDS}


def test_rollover_depends_on_the_registers_digits() -> None:
    # The same fall is a rollover on a 5-digit register (range 100,000 kWh) only.
    assert register_advance(99_990_000, 5_000, digits=5).milli == 15_000
    assert register_advance(99_990_000, 5_000, digits=6).milli is None


# --- high and low consumption against the meter's history --------------------------------


def test_high_consumption() -> None:
    flags = check_usage(Decimal(40_000), Decimal(1), Decimal(10_000), Decimal(30), active=True)
    assert rules(flags) == {Rule.HIGH_CONSUMPTION}
    assert flags[0].detail["kwh_per_day"] == "40.000"


def test_usage_within_k_times_the_average_is_fine() -> None:
    assert check_usage(Decimal(29_000), Decimal(1), Decimal(10_000), Decimal(30), active=True) == []
    assert check_usage(Decimal(3_400), Decimal(1), Decimal(10_000), Decimal(30), active=True) == []


def test_low_consumption() -> None:
    flags = check_usage(Decimal(3_000), Decimal(1), Decimal(10_000), Decimal(30), active=True)
    assert rules(flags) == {Rule.LOW_CONSUMPTION}


def test_k_is_configurable() -> None:
    strict = VeeConfig(high_factor=Decimal(2), low_factor=Decimal(2))
    assert rules(check_usage(Decimal(25_000), Decimal(1), Decimal(10_000), Decimal(30), active=True, config=strict)) == {Rule.HIGH_CONSUMPTION}  # fmt: skip


def test_too_little_history_gives_no_verdict() -> None:
    assert check_usage(Decimal(90_000), Decimal(1), Decimal(10_000), Decimal(3), active=True) == []
    assert check_usage(Decimal(90_000), Decimal(1), None, Decimal(0), active=True) == []


def test_average_daily_use_from_reads_allows_for_rollover_and_multiplier() -> None:
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    reads = [(t0, 999_000_000), (t0 + timedelta(days=10), 1_000_000)]  # 2 MWh... on 6 digits
    average, days = average_daily_use(reads, digits=6, factor=Fraction(40)) or (None, None)
    assert days == 10
    assert average == Decimal(2_000_000 * 40) / 10


def test_daily_rules_on_interval_totals() -> None:
    history = [10_000] * 20
    assert rules(check_day(50_000, history, active=True)) == {Rule.HIGH_CONSUMPTION}
    assert rules(check_day(2_000, history, active=True)) == {Rule.LOW_CONSUMPTION}
    assert check_day(11_000, history, active=True) == []
    assert check_day(50_000, history[:3], active=True) == []  # under min_history_days


# --- zero consumption on an active account -----------------------------------------------


def test_zero_consumption_on_an_active_account() -> None:
    flags = check_usage(Decimal(0), Decimal(3), Decimal(10_000), Decimal(30), active=True)
    assert rules(flags) == {Rule.ZERO_CONSUMPTION}
    assert rules(check_day(0, [10_000] * 20, active=True)) == {Rule.ZERO_CONSUMPTION}


def test_zero_consumption_on_a_disconnected_account_is_expected() -> None:
    assert check_usage(Decimal(0), Decimal(3), Decimal(10_000), Decimal(30), active=False) == []
    assert check_day(0, [10_000] * 20, active=False) == []


def test_zero_consumption_needs_enough_days() -> None:
    config = VeeConfig(zero_min_days=3)
    assert check_usage(Decimal(0), Decimal(2), None, Decimal(0), active=True, config=config) == []


# --- when a value was measured -----------------------------------------------------------


def test_read_dated_in_the_future() -> None:
    at = NOW + timedelta(hours=2)
    flags = check_timing(at, now=NOW, installations=INSTALLED, last_billed_at=None)
    assert rules(flags) == {Rule.FUTURE_READ}


def test_clock_skew_within_tolerance_is_not_the_future() -> None:
    at = NOW + timedelta(minutes=5)
    assert check_timing(at, now=NOW, installations=INSTALLED, last_billed_at=None) == []


def test_an_interval_is_in_the_future_until_it_has_ended() -> None:
    start = NOW - timedelta(minutes=10)
    flags = check_timing(start, end=start + timedelta(minutes=30), now=NOW,
                         installations=INSTALLED, last_billed_at=None)  # fmt: skip
    assert rules(flags) == {Rule.FUTURE_READ}
    done = check_timing(
        start - STEP, end=start, now=NOW, installations=INSTALLED, last_billed_at=None
    )
    assert done == []


def test_read_before_the_last_billed_read() -> None:
    billed = datetime(2026, 3, 31, 18, 30, tzinfo=UTC)
    flags = check_timing(billed - timedelta(days=1), now=NOW, installations=INSTALLED,
                         last_billed_at=billed)  # fmt: skip
    assert rules(flags) == {Rule.BEFORE_LAST_BILLED}
    assert check_timing(billed + timedelta(days=1), now=NOW, installations=INSTALLED,
                        last_billed_at=billed) == []  # fmt: skip


def test_read_older_than_the_meters_install_date() -> None:
    flags = check_timing(datetime(2025, 12, 1, tzinfo=UTC), now=NOW, installations=INSTALLED,
                         last_billed_at=None)  # fmt: skip
    assert rules(flags) == {Rule.BEFORE_INSTALL}
    never = check_timing(NOW, now=NOW, installations=[], last_billed_at=None)
    assert rules(never) == {Rule.BEFORE_INSTALL}
    assert check_timing(datetime(2026, 1, 2, tzinfo=UTC), now=NOW, installations=INSTALLED,
                        last_billed_at=None) == []  # fmt: skip


def test_read_after_the_meter_was_removed() -> None:
    removed = [Installation(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC))]
    flags = check_timing(datetime(2026, 3, 5, tzinfo=UTC), now=NOW, installations=removed,
                         last_billed_at=None)  # fmt: skip
    assert rules(flags) == {Rule.AFTER_REMOVAL}
    assert check_timing(datetime(2026, 2, 5, tzinfo=UTC), now=NOW, installations=removed,
                        last_billed_at=None) == []  # fmt: skip


# --- interval series ---------------------------------------------------------------------


def test_implausible_jump_between_consecutive_intervals() -> None:
    flag = check_jump(100, 2_500)
    assert flag is not None and flag.rule is Rule.INTERVAL_JUMP


def test_ordinary_rises_are_not_jumps() -> None:
    assert check_jump(100, 900) is None  # under jump_min_wh (500) above the last
    assert check_jump(400, 2_500) is None  # under jump_factor (10) times the last
    assert check_jump(0, 300) is None


def test_gap_in_an_interval_series() -> None:
    t = datetime(2026, 3, 1, tzinfo=UTC)
    found = series_break(t, 900, t + 4 * STEP, 900)
    assert isinstance(found, Gap)
    assert found.starts() == (t + STEP, t + 2 * STEP, t + 3 * STEP)
    assert found.flag.rule is Rule.INTERVAL_GAP and found.flag.detail["missing"] == "3"


def test_consecutive_intervals_have_no_gap() -> None:
    t = datetime(2026, 3, 1, tzinfo=UTC)
    assert series_break(t, 900, t + STEP, 900) is None


def test_overlapping_intervals() -> None:
    t = datetime(2026, 3, 1, tzinfo=UTC)
    found = series_break(t, 1800, t + STEP, 900)  # a 30-minute interval, then a 15 inside it
    assert isinstance(found, Overlap) and found.flag.rule is Rule.INTERVAL_OVERLAP


def test_duplicate_interval_with_another_value() -> None:
    flag = check_interval_duplicate(120, 150)
    assert flag is not None and flag.rule is Rule.INTERVAL_DUPLICATE
    assert check_interval_duplicate(120, 120) is None


# --- the meter multiplier ----------------------------------------------------------------


def test_multiplier_applied() -> None:
    factor = multiplier(200, 5, 1, 1)  # CT 200/5 A
    assert factor == 40
    assert apply_multiplier(231, factor) == 9_240
    assert multiplier(100, 5, 11_000, 110) == 2_000  # CT and PT


def test_no_transformer_no_change() -> None:
    assert apply_multiplier(231, multiplier(1, 1, 1, 1)) == 231


def test_multiplier_rounds_half_even_to_the_wh() -> None:
    assert apply_multiplier(1, Fraction(5, 2)) == 2
    assert apply_multiplier(3, Fraction(5, 2)) == 8


# --- estimation --------------------------------------------------------------------------


def test_linear_interpolation_for_a_short_gap() -> None:
    t = datetime(2026, 3, 1, tzinfo=UTC)
    estimates = linear_fill(100, 200, [t, t + STEP, t + 2 * STEP])
    assert [e.wh for e in estimates] == [125, 150, 175]
    assert {e.method for e in estimates} == {Method.LINEAR}


def test_same_day_type_profile_for_a_long_gap() -> None:
    # History: weekdays use 100 Wh at 10:00 local, weekends 300 Wh; the gap is a Saturday.
    history = []
    day = datetime(2026, 2, 2, 10, 0, tzinfo=IST)  # a Monday
    for n in range(21):
        moment = day + timedelta(days=n)
        history.append((moment.astimezone(UTC), 300 if moment.weekday() >= 5 else 100))
    saturday = datetime(2026, 2, 28, 10, 0, tzinfo=IST).astimezone(UTC)
    estimates = profile_fill([saturday], history, IST, frozenset({5, 6}))
    assert estimates is not None and estimates[0].wh == 300
    assert estimates[0].method is Method.PROFILE
    monday = datetime(2026, 3, 2, 10, 0, tzinfo=IST).astimezone(UTC)
    assert (profile_fill([monday], history, IST, frozenset({5, 6})) or [])[0].wh == 100


def test_fill_gap_chooses_the_method_by_length() -> None:
    t = datetime(2026, 3, 1, tzinfo=UTC)
    history = [(t - timedelta(days=7) + i * STEP, 80) for i in range(96 * 7)]
    short = fill_gap([t + i * STEP for i in range(4)], 100, 100, history, IST)
    assert {e.method for e in short} == {Method.LINEAR}
    long = fill_gap([t + i * STEP for i in range(5)], 100, 100, history, IST)
    assert {e.method for e in long} == {Method.PROFILE} and {e.wh for e in long} == {80}
    no_history = fill_gap([t + i * STEP for i in range(8)], 100, 180, [], IST)
    assert {e.method for e in no_history} == {Method.LINEAR}


def test_register_read_estimated_for_billing() -> None:
    last = datetime(2026, 3, 1, tzinfo=UTC)
    value = estimate_register_read(12_345_000, last, last + timedelta(days=10), Decimal(8_000), 6)
    assert value == 12_345_000 + 80_000


def test_estimated_register_read_wraps_and_divides_by_the_multiplier() -> None:
    last = datetime(2026, 3, 1, tzinfo=UTC)
    value = estimate_register_read(
        999_990_000, last, last + timedelta(days=1), Decimal(800_000), 6, Fraction(40)
    )
    assert value == (999_990_000 + 20_000) % 1_000_000_000


# --- the utility's configuration ---------------------------------------------------------


def test_configuration_defaults_and_overrides() -> None:
    assert parse_config({}) == VeeConfig()
    config = parse_config({
        "high_factor": "4", "history_days": 14, "future_tolerance_minutes": 2,
        "intervals_include_multiplier": True,
        "usage_calendar": {"periods": ["day", "night"], "default_period": "day",
                           "rules": [{"period": "night", "hours": ["22-06"]}]},
    })  # fmt: skip
    assert config.high_factor == 4 and config.history_days == 14
    assert config.future_tolerance == timedelta(minutes=2)
    assert config.intervals_include_multiplier
    assert config.usage_calendar.period_at(datetime(2026, 3, 1, 23, tzinfo=IST)) == "night"
    assert config.usage_calendar.period_at(datetime(2026, 3, 1, 12, tzinfo=IST)) == "day"


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"hihg_factor": "3"}, "unknown key 'hihg_factor'"),
        ({"high_factor": "-1"}, "high_factor must be above zero"),
        ({"history_days": 2.5}, "history_days must be a whole number"),
        ({"rollover_margin": "0.6"}, "rollover_margin must be below 0.5"),
        ({"usage_calendar": {"periods": ["a"], "rules": [{"period": "b"}]}}, "needs a period"),
    ],
)
def test_bad_configuration_is_refused_with_the_key(document: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ConfigError, match=message):
        parse_config(document)


def test_a_staff_decision_sets_quality_and_value() -> None:
    from domain.enums import ExceptionStatus, ReadQuality
    from domain.vee import review_outcome

    assert review_outcome(ExceptionStatus.ACCEPTED, 10, None) == (ReadQuality.VALID, 10)
    assert review_outcome(ExceptionStatus.REJECTED, 10, None) == (ReadQuality.REJECTED, 10)
    assert review_outcome(ExceptionStatus.REPLACED, 10, 7) == (ReadQuality.EDITED, 7)
    with pytest.raises(ValueError, match="no outcome"):
        review_outcome(ExceptionStatus.REPLACED, 10, None)
