"""Every document and party number has one format, the one it always had."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.document_number import SERIES, counter_label, document_number, financial_year


def test_the_formats_numbers_have_always_had() -> None:
    assert document_number("bill", "2026-27", 123) == "BL/2026-27/000123"
    assert document_number("credit_note", "2026-27", 1) == "CN/2026-27/000001"
    assert document_number("debit_note", "2026-27", 1) == "DN/2026-27/000001"
    assert document_number("receipt", "2025-26", 42) == "RC/2025-26/000042"
    assert document_number("adjustment", "2025-26", 7) == "ADJ/2025-26/000007"
    assert document_number("support", "2026-27", 7) == "SR/2026-27/000007"
    assert document_number("customer", "all", 42) == "CU00000042"
    assert financial_year(date(2026, 3, 31)) == "2025-26"
    assert financial_year(date(2026, 4, 1)) == "2026-27"
    assert financial_year(date(2099, 4, 1)) == "2099-00"
    assert counter_label("customer", date(2026, 4, 1)) == "all"


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2098, 12, 31)))
def test_a_financial_year_runs_april_to_march(day: date) -> None:
    label = financial_year(day)
    start = int(label[:4])
    assert date(start, 4, 1) <= day <= date(start + 1, 3, 31)
    assert label == f"{start}-{str(start + 1)[2:]}"
    if (day.month, day.day) != (3, 31):
        assert financial_year(day + timedelta(days=1)) == label


@given(
    st.sampled_from(sorted(SERIES)),
    st.dates(min_value=date(2000, 1, 1), max_value=date(2098, 12, 31)),
    st.integers(min_value=1, max_value=999_999),
)
def test_numbers_sort_and_read_back(series: str, day: date, value: int) -> None:
    label = counter_label(series, day)
    number = document_number(series, label, value)
    spec = SERIES[series]
    found = re.fullmatch(rf"{spec.prefix}(?:/{label}/)?(\d{{{spec.digits}}})", number)
    assert found and int(found.group(1)) == value
    if value < 999_999:  # zero-padded: the next number sorts after as text too
        assert document_number(series, label, value + 1) > number


def test_numbers_start_at_one() -> None:
    with pytest.raises(ValueError, match="start at 1"):
        document_number("bill", "2026-27", 0)
