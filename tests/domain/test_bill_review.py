"""Review flags of draft bills: estimated, zero, far above or below the account's history."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from domain.bill_review import review_flags


def test_the_flags_name_what_to_look_at() -> None:
    history = [100_000, 110_000, 90_000]  # average 100 kWh
    assert review_flags(150_000, history_wh=history, is_estimated=False) == []
    assert review_flags(200_001, history_wh=history, is_estimated=False) == ["high"]
    assert review_flags(200_000, history_wh=history, is_estimated=False) == []
    assert review_flags(49_999, history_wh=history, is_estimated=True) == ["estimated", "low"]
    assert review_flags(0, history_wh=history, is_estimated=False) == ["zero"]
    assert review_flags(0, history_wh=[], is_estimated=True) == ["estimated", "zero"]
    assert (
        review_flags(10**9, history_wh=history[:2], is_estimated=False) == []
    )  # too little history


@given(
    st.integers(min_value=1, max_value=10**9),
    st.lists(st.integers(min_value=1, max_value=10**9), min_size=3, max_size=12),
    st.integers(min_value=2, max_value=50),
)
def test_scaling_usage_and_history_together_keeps_the_verdict(
    usage: int, history: list[int], factor: int
) -> None:
    """Flags depend on the ratio to the average only, never on the unit or the size."""
    before = review_flags(usage, history_wh=history, is_estimated=False)
    after = review_flags(
        usage * factor, history_wh=[h * factor for h in history], is_estimated=False
    )
    assert before == after
    assert not {"high", "low"} <= set(before)
