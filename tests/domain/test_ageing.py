"""The ageing rules: buckets partition the receivable, and allocation conserves money."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.ageing import BUCKETS, Bucket, Debit, age, bucket, unpaid_newest_first

DAY = date(2026, 4, 30)


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (-1, Bucket.NOT_DUE),
        (0, Bucket.DAYS_0_30),
        (30, Bucket.DAYS_0_30),
        (31, Bucket.DAYS_31_60),
        (60, Bucket.DAYS_31_60),
        (61, Bucket.DAYS_61_90),
        (90, Bucket.DAYS_61_90),
        (91, Bucket.OVER_90),
    ],
)
def test_bucket_edges(days: int, expected: Bucket) -> None:
    assert bucket(days) is expected


debits = st.lists(
    st.builds(
        Debit,
        ref=st.integers(1, 10_000),
        due_on=st.dates(date(2024, 1, 1), date(2026, 12, 31)),
        amount_paise=st.integers(1, 10**9),
    ),
    max_size=30,
    unique_by=lambda d: d.ref,
)


@given(debits, st.integers(0, 10**10))
def test_oldest_first_allocation_conserves_money(found: list[Debit], credits: int) -> None:
    unpaid = unpaid_newest_first(found, credits)
    owed = sum(d.amount_paise for d in found)
    assert sum(part for _, part in unpaid) == max(0, owed - credits)
    assert all(0 < part <= debit.amount_paise for debit, part in unpaid)
    # only the newest debts stay unpaid: every unpaid debit is newer than every paid one
    unpaid_refs = {debit.ref for debit, _ in unpaid}
    paid = [d for d in found if d.ref not in unpaid_refs]
    fully_unpaid = [debit for debit, part in unpaid if part == debit.amount_paise]
    for debit in fully_unpaid:
        assert all((p.due_on, p.ref) < (debit.due_on, debit.ref) for p in paid)


@given(debits, st.integers(0, 10**10), st.dates(date(2024, 1, 1), date(2027, 12, 31)))
def test_buckets_partition_the_receivable(found: list[Debit], credits: int, as_of: date) -> None:
    unpaid = unpaid_newest_first(found, credits)
    buckets = age(((d.due_on, part) for d, part in unpaid), as_of)
    assert list(buckets) == list(BUCKETS)
    assert sum(buckets.values()) == max(0, sum(d.amount_paise for d in found) - credits)
    assert all(v >= 0 for v in buckets.values())


def test_a_payment_clears_the_oldest_bill_first() -> None:
    old = Debit(1, DAY - timedelta(days=95), 1000)
    new = Debit(2, DAY - timedelta(days=5), 700)
    unpaid = unpaid_newest_first([new, old], 900)
    assert unpaid == [(new, 700), (old, 100)]
    assert age(((d.due_on, p) for d, p in unpaid), DAY)[Bucket.OVER_90] == 100


def test_negative_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        unpaid_newest_first([Debit(1, DAY, -5)], 0)
