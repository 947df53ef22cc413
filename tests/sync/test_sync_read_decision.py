"""Which outcome a pushed read gets (``domain.field_reads``): pure, tested without a database.

Case by case for each outcome, then as properties: deciding changes nothing (twice gives
the same decision), and the flags a set of reads leaves on a register do not depend on
the order in which they arrive. ``without_nul`` (``domain.nesting``) is checked against
its twin question ``holds_nul``.
"""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.enums import ReadSource, SyncItemResult
from domain.field_conflicts import ClockCorrection, RegisterFacts, Rule
from domain.field_reads import FieldRegister, ReadDecision, Window, decide_read
from domain.nesting import NUL_SYMBOL, holds_nul, without_nul

ZONE = ZoneInfo("Asia/Kolkata")
T0 = datetime(2026, 11, 20, 5, 0, tzinfo=UTC)
RECEIVED = T0 + timedelta(days=120)
REGISTER = FieldRegister(
    id=7,
    meter_id=3,
    facts=RegisterFacts(unit="kWh", digits=4, max_load_w=5000),
    read_day=20,
    zone=ZONE,
)
ON_TIME = ClockCorrection(0, skewed=False)


def decide(
    around: Window,
    uuid: str,
    value: int,
    at: datetime,
    **overrides: Any,
) -> ReadDecision:
    args: dict[str, Any] = {
        "uuid": uuid,
        "register_id": REGISTER.id,
        "value_milli": value,
        "read_at": at,
        "stored_register_id": None,
        "register": REGISTER,
        "window": around,
        "received_at": RECEIVED,
        "correction": ON_TIME,
        "on_my_routes": True,
        "last_billed_at": None,
    }
    args.update(overrides)
    return decide_read(**args)


def stored_window(*reads: tuple[str, int, datetime]) -> Window:
    points = sorted(
        (REGISTER.point(u, at, v, ReadSource.MANUAL) for u, v, at in reads), key=lambda p: p.key
    )
    return Window(points, {p.uuid: [] for p in points})


# --- case by case -------------------------------------------------------------------------


def test_a_first_read_is_accepted_with_no_flags() -> None:
    decision = decide(stored_window(), "a", 1_000_000, T0)
    assert (decision.result, decision.rule, decision.flags) == (SyncItemResult.ACCEPTED, None, ())
    assert decision.stored and decision.retags == ()


def test_a_uuid_already_stored_is_a_duplicate_on_its_register_and_refused_on_another() -> None:
    same = decide(stored_window(), "a", 1, T0, stored_register_id=REGISTER.id)
    assert (same.result, same.stored) == (SyncItemResult.DUPLICATE, False)
    other = decide(stored_window(), "a", 1, T0, stored_register_id=99)
    assert other.result is SyncItemResult.REJECTED and other.refusal is not None
    assert other.refusal.code == "uuid_in_use"


@pytest.mark.parametrize(
    ("overrides", "value", "code"),
    [
        ({"register": None, "window": None}, 1, "unknown_register"),
        ({}, 10_000_000, "too_many_digits"),  # 4 digits: at most 9999.999 kWh
        ({"read_at": RECEIVED + timedelta(minutes=6)}, 1, "capture_in_future"),
    ],
)
def test_refusals(overrides: dict[str, Any], value: int, code: str) -> None:
    decision = decide(stored_window(), "a", value, T0, **overrides)
    assert decision.result is SyncItemResult.REJECTED and not decision.stored
    assert decision.refusal is not None and decision.refusal.code == code


def test_older_than_the_billed_read_wins_over_every_other_rule_reported() -> None:
    window = stored_window(("p", 5_000_000, T0 - timedelta(days=40)))
    decision = decide(
        window,
        "a",
        4_000_000,  # lower than its predecessor, and not a rollover
        T0,
        last_billed_at=T0 + timedelta(days=1),
        correction=ClockCorrection(600, skewed=True),
        on_my_routes=False,
    )
    assert decision.result is SyncItemResult.CONFLICT_RESOLVED
    assert decision.rule is Rule.OLDER_THAN_BILLED
    assert set(decision.flags) == {
        Rule.OLDER_THAN_BILLED,
        Rule.BACKWARDS,
        Rule.METER_MOVED,
        Rule.CLOCK_SKEW,
    }
    assert decision.previous is not None and decision.previous.uuid == "p"


def test_a_rollover_and_the_successor_retagged() -> None:
    window = stored_window(
        ("p", 9_990_000, T0 - timedelta(days=40)), ("n", 500_000, T0 + timedelta(days=40))
    )
    decision = decide(window, "a", 10_000, T0)  # 9990 → 10 kWh: past zero
    assert decision.rule is Rule.ROLLOVER
    assert ("n", frozenset({Rule.ROLLOVER, Rule.BACKWARDS}), frozenset()) in decision.retags


def test_a_second_read_in_a_cycle_supersedes_the_first() -> None:
    window = stored_window(("first", 1_000_000, T0))
    decision = decide(window, "second", 1_100_000, T0 + timedelta(days=1))
    assert decision.rule is Rule.SAME_CYCLE
    assert decision.cycle_winner is not None and decision.cycle_winner.uuid == "second"
    window.admit(decision)
    assert window.flags == {
        "first": [Rule.SAME_CYCLE, Rule.SUPERSEDED],
        "second": [Rule.SAME_CYCLE],
    }
    assert window.changed == {"first"}


# --- properties -----------------------------------------------------------------------------

reads = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=9_999_999),  # a 4-digit kWh register
        st.integers(min_value=0, max_value=90 * 24),  # hours after T0: about three cycles
    ),
    min_size=1,
    max_size=6,
)


def admitted(batch: list[tuple[str, int, datetime]]) -> dict[str, list[str]]:
    window = stored_window()
    for uuid, value, at in batch:
        decision = decide(window, uuid, value, at)
        assert decision.stored
        window.admit(decision)
    return window.flags


@settings(max_examples=150, deadline=None)
@given(reads, st.data())
def test_the_flags_left_do_not_depend_on_the_order_of_the_reads(
    values: list[tuple[int, int]], data: st.DataObject
) -> None:
    batch = [(f"r{i}", v, T0 + timedelta(hours=h)) for i, (v, h) in enumerate(values)]
    order = data.draw(st.permutations(batch))
    assert admitted(order) == admitted(batch)


@settings(max_examples=150, deadline=None)
@given(reads, st.integers(min_value=0, max_value=9_999_999), st.integers(0, 90 * 24))
def test_deciding_changes_nothing_and_twice_gives_the_same_decision(
    values: list[tuple[int, int]], value: int, hours: int
) -> None:
    batch = [(f"r{i}", v, T0 + timedelta(hours=h)) for i, (v, h) in enumerate(values)]
    window = stored_window()
    for uuid, v, at in batch:
        window.admit(decide(window, uuid, v, at))
    before = (list(window.points), json.dumps(window.flags, sort_keys=True))
    first = decide(window, "new", value, T0 + timedelta(hours=hours))
    assert (list(window.points), json.dumps(window.flags, sort_keys=True)) == before
    assert decide(window, "new", value, T0 + timedelta(hours=hours)) == first
    assert (first.rule is None) == (first.result is SyncItemResult.ACCEPTED)
    assert first.rule is None or first.rule in first.flags


def test_three_reads_in_every_order_leave_the_same_flags() -> None:
    batch = [
        ("a", 9_990_000, T0),
        ("b", 20_000, T0 + timedelta(days=2)),
        ("c", 30_000, T0 + timedelta(days=31)),
    ]
    results = {json.dumps(admitted(list(p)), sort_keys=True) for p in itertools.permutations(batch)}
    assert len(results) == 1
    assert admitted(batch)["b"] == [Rule.ROLLOVER, Rule.SAME_CYCLE]


# --- NUL, stored as ␀ -----------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet=st.sampled_from("ab\x00␀")),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(alphabet=st.sampled_from("k\x00")), children, max_size=3)
    ),
    max_leaves=10,
)


@given(json_values)
def test_without_nul_leaves_no_nul_and_changes_nothing_else(value: Any) -> None:
    cleaned = without_nul(value)
    assert not holds_nul(cleaned)
    assert without_nul(cleaned) == cleaned
    if not holds_nul(value):
        assert cleaned == value
    if holds_nul(value):
        assert NUL_SYMBOL in json.dumps(cleaned, ensure_ascii=False)
