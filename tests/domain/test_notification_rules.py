"""Pure rules behind notifications: quiet hours, DLT matching, retry backoff, dunning, usage."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.backoff import retry_delay
from domain.dlt import VARIABLE, matches
from domain.dunning import (
    DISCONNECTION_NOTICE,
    OVERDUE,
    REMINDER,
    Schedule,
    disconnection_allowed_from,
    step_due,
)
from domain.high_usage import is_high
from domain.quiet_hours import is_quiet, next_allowed

IST = ZoneInfo("Asia/Kolkata")
NIGHT = (time(21), time(8))
# Hypothesis wants naive bounds and adds the zone itself.
instants = st.datetimes(
    min_value=datetime(2020, 1, 1),  # noqa: DTZ001
    max_value=datetime(2035, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)


@given(instants)
def test_next_allowed_is_never_quiet_never_earlier_and_at_most_a_night_away(at: datetime) -> None:
    allowed = next_allowed(at, *NIGHT, IST)
    assert allowed >= at
    assert allowed - at <= timedelta(hours=11)
    assert not is_quiet(allowed.astimezone(IST).time(), *NIGHT)
    if not is_quiet(at.astimezone(IST).time(), *NIGHT):
        assert allowed == at


def test_quiet_hours_examples() -> None:
    assert is_quiet(time(23, 30), *NIGHT) and is_quiet(time(7, 59), *NIGHT)
    assert not is_quiet(time(8), *NIGHT) and not is_quiet(time(20, 59), *NIGHT)
    assert not is_quiet(time(3), time(0), time(0))  # "off"
    late = datetime(2026, 3, 11, 17, 0, tzinfo=UTC)  # 22:30 IST
    assert next_allowed(late, *NIGHT, IST) == datetime(2026, 3, 12, 2, 30, tzinfo=UTC)
    early = datetime(2026, 3, 11, 20, 0, tzinfo=UTC)  # 01:30 IST the 12th
    assert next_allowed(early, *NIGHT, IST) == datetime(2026, 3, 12, 2, 30, tzinfo=UTC)


@given(
    st.lists(st.text(alphabet="ab. :₹", min_size=1, max_size=6), min_size=1, max_size=4), st.data()
)
def test_a_text_made_from_its_template_matches_and_a_changed_fixed_part_does_not(
    fixed: list[str], data: st.DataObject
) -> None:
    registered = VARIABLE.join(fixed)
    values = [data.draw(st.text(alphabet="xyz0123456789", max_size=30)) for _ in fixed[1:]]
    text = fixed[0] + "".join(v + f for v, f in zip(values, fixed[1:], strict=True))
    assert matches(registered, text)
    assert not matches(registered, text + "!")
    assert not matches(registered, "!" + text)


def test_dlt_matching_examples() -> None:
    registered = "Gridbill: Bill {#var#} of {#var#} due {#var#}."
    assert matches(registered, "Gridbill: Bill BL/1 of ₹1,23,456.00 due 26 March 2026.")
    assert not matches(registered, "Gridbill: Bill BL/1 of ₹1,23,456.00 due 26 March 2026. ")
    assert not matches(registered, "Gridbill: bill BL/1 of ₹5 due today.")
    assert not matches(registered, "Gridbill: Bill " + "x" * 31 + " of ₹5 due today.")


@given(st.integers(1, 60), st.integers(1, 600), st.integers(600, 86_400))
def test_backoff_doubles_and_is_capped(attempt: int, base: int, cap: int) -> None:
    delay = retry_delay(attempt, base_s=base, cap_s=cap)
    assert delay == timedelta(seconds=min(cap, base * 2 ** (attempt - 1)))
    if attempt > 1:
        previous = retry_delay(attempt - 1, base_s=base, cap_s=cap)
        assert previous <= delay <= 2 * previous
    with pytest.raises(ValueError):
        retry_delay(0, base_s=base, cap_s=cap)


def test_dunning_steps_follow_the_due_date() -> None:
    schedule = Schedule(reminder_days_before=3, overdue_days_after=1, notice_days_after=7)
    due = date(2026, 3, 26)
    assert step_due(schedule, due_date=due, today=date(2026, 3, 22)) is None
    assert step_due(schedule, due_date=due, today=date(2026, 3, 23)) == REMINDER
    assert step_due(schedule, due_date=due, today=due) == REMINDER
    assert step_due(schedule, due_date=due, today=date(2026, 3, 27)) == OVERDUE
    assert step_due(schedule, due_date=due, today=date(2026, 4, 1)) == OVERDUE
    assert step_due(schedule, due_date=due, today=date(2026, 4, 2)) == DISCONNECTION_NOTICE


def test_fifteen_clear_days_exclude_the_day_of_notice_and_the_day_of_action() -> None:
    assert disconnection_allowed_from(date(2026, 4, 1), 15) == date(2026, 4, 17)
    with pytest.raises(ValueError, match="15 clear days"):
        Schedule(clear_days=14)


def test_high_usage_against_threshold_or_history() -> None:
    assert is_high(120_000, threshold_wh=100_000, history_wh=[]) == "threshold"
    assert is_high(90_000, threshold_wh=100_000, history_wh=[10_000] * 6) is None
    assert is_high(160_000, threshold_wh=None, history_wh=[100_000] * 3) == "history"
    assert is_high(150_000, threshold_wh=None, history_wh=[100_000] * 3) is None
    assert (
        is_high(500_000, threshold_wh=None, history_wh=[100_000] * 2) is None
    )  # too little history
