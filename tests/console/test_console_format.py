"""Indian digit grouping for money and energy on console pages."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from console.indian_format import group, kwh, money


def test_lakhs_and_crores() -> None:
    assert group(0) == "0" and group(999) == "999" and group(1000) == "1,000"
    assert group(1234567) == "12,34,567" and group(123456789) == "12,34,56,789"
    assert money(123456789) == "₹12,34,567.89" and money(-5) == "-₹0.05"
    assert kwh(1234550) == "1,234.6 kWh" and kwh(49) == "0.0 kWh" and kwh(0) == "0.0 kWh"


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_grouping_loses_no_paisa_and_groups_by_two_after_the_thousands(paise: int) -> None:
    text = money(paise)
    assert int(re.sub(r"[^0-9]", "", text)) == abs(paise)
    whole = text.lstrip("-₹").split(".")[0].split(",")
    assert len(whole[-1]) == 3 or len(whole) == 1
    assert all(len(part) == 2 for part in whole[1:-1]) and 1 <= len(whole[0]) <= 3
