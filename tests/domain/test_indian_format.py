"""Indian money and number formatting: lakh/crore grouping, sign, exact round trips."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from babel.numbers import format_currency, format_decimal
from hypothesis import given
from hypothesis import strategies as st

from domain.indian_format import ASCII_RUPEE, count, group, kwh, parse_rupees, rupees

PAISE = st.integers(min_value=-(10**15), max_value=10**15)
INDIAN = re.compile(r"\d{1,2}(,\d\d)*,\d{3}|\d{1,3}")


def test_lakh_and_crore() -> None:
    assert rupees(123456789) == "₹12,34,567.89"
    assert rupees(10_000_000) == "₹1,00,000.00"  # one lakh rupees
    assert rupees(1_000_000_000) == "₹1,00,00,000.00"  # one crore
    assert rupees(12345678) == "₹1,23,456.78" and rupees(-100000) == "-₹1,000.00"
    assert rupees(-5) == "-₹0.05" and rupees(0) == "₹0.00"
    assert rupees(-123456789, symbol=ASCII_RUPEE) == "-Rs 12,34,567.89"
    assert count(972002) == "9,72,002" and count(-1000) == "-1,000"
    assert kwh(123456500) == "1,23,456.5" and kwh(4_000) == "4" and kwh(1) == "0.001"
    assert kwh(12345678, grouped=False) == "12345.678"
    assert kwh(1234567, places=2) == "1,234.57" and kwh(5, places=2) == "0"


@given(PAISE)
def test_rupees_round_trip_to_the_same_decimal(paise: int) -> None:
    assert parse_rupees(rupees(paise)) == Decimal(paise).scaleb(-2)
    assert parse_rupees(rupees(paise, symbol=ASCII_RUPEE), symbol=ASCII_RUPEE) * 100 == paise


@given(st.integers(min_value=1, max_value=10**15))
def test_the_sign_goes_before_the_symbol_and_only_on_negatives(paise: int) -> None:
    assert rupees(-paise) == "-" + rupees(paise)
    assert not rupees(paise).startswith("-") and rupees(paise).startswith("₹")


@given(st.integers(min_value=0, max_value=10**18))
def test_grouping_is_three_then_twos(n: int) -> None:
    text = group(n)
    assert INDIAN.fullmatch(text) and text.replace(",", "") == str(n)


@given(PAISE)
def test_amounts_read_as_cldr_en_in_writes_them(paise: int) -> None:
    # What notifications printed through Babel before: unchanged to the character.
    assert rupees(paise) == format_currency(Decimal(paise) / 100, "INR", locale="en_IN")


@given(st.integers(min_value=0, max_value=10**14))
def test_energy_is_exact_and_grouped(wh: int) -> None:
    text = kwh(wh)
    whole = text.split(".")[0]
    assert INDIAN.fullmatch(whole)
    assert Decimal(text.replace(",", "")) == Decimal(wh).scaleb(-3)


@given(st.integers(min_value=0, max_value=99_999_994))
def test_message_energy_below_a_lakh_kwh_is_as_before(wh: int) -> None:
    # Below 1,00,000 kWh Indian and western grouping agree: messages read as they did.
    before = format_decimal(Decimal(wh) / 1000, "#,##0.##", locale="en_IN")
    assert kwh(wh, places=2) == before


@pytest.mark.parametrize(
    "text",
    ["₹123,456.00", "₹1,23,456", "₹1,23,456.5", "Rs 1.00", "₹,100.00", "--₹1.00", "₹01,000.00x"],
)
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_rupees(text)


def test_grouping_a_negative_is_the_callers_mistake() -> None:
    with pytest.raises(ValueError, match="sign"):
        group(-1)
