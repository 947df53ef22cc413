"""Money rounding in integers gives exactly what rounding the Fraction gives.

``round_half_up`` and ``exact`` compute with integer numerators and denominators (pricing
calls them tens of times a bill); the reference here is the definition, half-up on the
exact rational value, written with :class:`fractions.Fraction`.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.money import display_quantity, exact, ratio, round_half_up, round_paise

fast = settings(max_examples=300, deadline=None)

decimals = st.decimals(
    allow_nan=False, allow_infinity=False, places=6, max_value=10**9, min_value=-(10**9)
)
fractions = st.fractions(max_denominator=10**6).filter(lambda f: abs(f) < 10**9)
values = st.one_of(decimals, fractions, st.integers(-(10**9), 10**9))
quanta = st.sampled_from(
    [Decimal("0.01"), Decimal("0.001"), Decimal("1"), Decimal("0.05"), Decimal("10")]
)


def reference(value: Decimal | Fraction | int, quantum: Decimal) -> Decimal:
    """Half-up (ties away from zero) on the exact rational, as the rule is written."""
    ratio_ = Fraction(value) / Fraction(quantum)
    units = math.floor(abs(ratio_) + Fraction(1, 2))
    return (Decimal(-units if ratio_ < 0 else units) * quantum).quantize(quantum)


@fast
@given(values, quanta)
def test_round_half_up_is_the_exact_rule(value: Decimal | Fraction | int, quantum: Decimal) -> None:
    got = round_half_up(value, quantum)
    assert got == reference(value, quantum)
    assert got.as_tuple().exponent == quantum.as_tuple().exponent


@fast
@given(values)
def test_exact_is_the_fraction(value: Decimal | Fraction | int) -> None:
    assert exact(value) == Fraction(value)
    assert Fraction(*ratio(value)) == Fraction(value)
    assert ratio(value)[1] > 0


@pytest.mark.parametrize(
    ("value", "rounded"),
    [
        ("0.005", "0.01"),
        ("-0.005", "-0.01"),
        ("0.0049", "0.00"),
        ("12.345", "12.35"),
        (
            Fraction(12345, 1000) * Fraction(10, 31) + Fraction(12345, 1000) * Fraction(21, 31),
            "12.35",
        ),
        (Fraction(1, 3), "0.33"),
        (Fraction(-2, 3), "-0.67"),
    ],
)
def test_ties_go_away_from_zero(value: str | Fraction, rounded: str) -> None:
    assert round_paise(value) == Decimal(rounded)


def test_display_quantity_drops_trailing_zeros() -> None:
    assert str(display_quantity(Fraction(6000, 31))) == "193.548"
    assert str(display_quantity(Decimal("200.000"))) == "200"


@pytest.mark.parametrize("bad", [1.5, True])
def test_floats_and_bools_are_refused(bad: object) -> None:
    with pytest.raises(TypeError):
        exact(bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        round_paise(bad)  # type: ignore[arg-type]
