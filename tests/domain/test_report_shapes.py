"""Report figures are exact: paise, Wh, shares, load factors, and written in Indian grouping."""

from __future__ import annotations

from decimal import Decimal

import pytest
from babel.numbers import format_decimal
from hypothesis import given
from hypothesis import strategies as st

from domain.report_shapes import figure, kwh, rupees, share


def test_conversions_are_exact() -> None:
    assert rupees(12345) == Decimal("123.45") and rupees(-5) == Decimal("-0.05")
    assert kwh(1500) == Decimal("1.500")
    assert share(1, 3) == Decimal("0.3333") and share(5, 0) == Decimal("0")


@pytest.mark.parametrize(
    ("value", "places", "text"),
    [
        (0, 0, "0"),
        (999, 0, "999"),
        (1000, 0, "1,000"),
        (123456, 0, "1,23,456"),
        (12345678, 0, "1,23,45,678"),
        (Decimal("1234567.5"), 2, "12,34,567.50"),
        (Decimal("-100000.05"), 2, "-1,00,000.05"),
    ],
)
def test_figures_round_then_group_the_indian_way(
    value: Decimal | int, places: int, text: str
) -> None:
    assert figure(value, places) == text


@given(st.integers(-(10**15), 10**15))
def test_figures_agree_with_babel(paise: int) -> None:
    amount = rupees(paise)
    assert figure(amount, 2) == format_decimal(amount, "#,##,##0.00", locale="en_IN")
