"""Typed values to exact thousandths, the register's digits, and the expected range."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from field_app.hints import (
    BadValue,
    RegisterSpec,
    format_milli,
    in_expected_range,
    parse_value,
    value_from_probe,
)

SPEC = RegisterSpec(digits=5, decimals=1, low_milli=10_450_000, high_milli=10_900_000)


@pytest.mark.parametrize(
    ("text", "milli"),
    [("10452.3", 10_452_300), ("0", 0), ("99999.999", 99_999_999), (" 1,234.5 ", 1_234_500)],
)
def test_parse_value(text: str, milli: int) -> None:
    assert parse_value(text, SPEC) == milli


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "type the reading"),
        ("12a", "not a number"),
        ("-1", "0 or more"),
        ("1.0001", "at most 3 decimals"),
        ("100000", "at most 5 digits"),
        ("NaN", "0 or more"),
        ("1e400", "at most 5 digits"),
    ],
)
def test_bad_values(text: str, message: str) -> None:
    with pytest.raises(BadValue, match=message):
        parse_value(text, SPEC)


def test_expected_range_and_rollover() -> None:
    assert in_expected_range(10_452_300, SPEC) is True
    assert in_expected_range(10_000_000, SPEC) is False
    assert in_expected_range(1, RegisterSpec(5, 1)) is None
    wrap = RegisterSpec(5, 1, low_milli=99_990_000, high_milli=120_000)
    assert in_expected_range(99_995_000, wrap) and in_expected_range(100_000, wrap)
    assert in_expected_range(50_000_000, wrap) is False


def test_probe_values() -> None:
    assert value_from_probe("2714.841", "kWh", SPEC) == 2_714_841
    assert value_from_probe("15882.6927", "kWh", SPEC) == 15_882_692  # cut like the display
    assert value_from_probe("2714841", "Wh", SPEC) == 2_714_841
    with pytest.raises(BadValue, match="more digits"):
        value_from_probe("123456.1", "kWh", SPEC)
    with pytest.raises(BadValue, match="not a number"):
        value_from_probe("B31", None, SPEC)


@given(st.integers(0, 99_999_999))
def test_format_and_parse_round_trip(milli: int) -> None:
    assert parse_value(format_milli(milli), SPEC) == milli
