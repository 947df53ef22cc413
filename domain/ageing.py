"""Receivables ageing: how long the money an account owes has been past due.

An account's receivable on a day is its ledger balance that day when positive. Its
credits (payments, credit notes, waivers) pay its debits oldest due date first, so what
stays unpaid is always the newest debts: :func:`unpaid_newest_first` walks the debits
from the newest and keeps the balance. Each unpaid part is aged by the days from its due
date to the day (:func:`bucket`): not yet due, 0–30, 31–60, 61–90 or over 90 days past due.
The buckets partition the receivable: they add up to it exactly, paisa for paisa.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class Bucket(StrEnum):
    """Where an unpaid amount stands on the day; the order is the order of columns."""

    NOT_DUE = "not_due"
    DAYS_0_30 = "0-30"
    DAYS_31_60 = "31-60"
    DAYS_61_90 = "61-90"
    OVER_90 = "over_90"


BUCKETS: tuple[Bucket, ...] = tuple(Bucket)

UP_TO: tuple[tuple[int, Bucket], ...] = (
    (-1, Bucket.NOT_DUE),
    (30, Bucket.DAYS_0_30),
    (60, Bucket.DAYS_31_60),
    (90, Bucket.DAYS_61_90),
)
"""Each bucket but the last with the most days past due it holds; the rest are OVER_90."""


def bucket(days_past_due: int) -> Bucket:
    """The bucket of an amount ``days_past_due`` days after its due date (negative: not due).

    Day 0 is the due date itself: still payable without a late fee, but no longer "not due".
    """
    for limit, name in UP_TO:
        if days_past_due <= limit:
            return name
    return Bucket.OVER_90


@dataclass(frozen=True, slots=True)
class Debit:
    """Something an account owes: ``ref`` names it (a ledger entry), ``due_on`` ages it."""

    ref: int
    due_on: date
    amount_paise: int


def unpaid_newest_first(debits: Sequence[Debit], credits_paise: int) -> list[tuple[Debit, int]]:
    """What of each debit stays unpaid when ``credits_paise`` pays them oldest due first.

    Debits with the same due date are paid in ``ref`` order. Returns the unpaid debits
    with their unpaid part (never zero), newest first; their sum is
    ``max(0, sum(debits) - credits)``: money is neither lost nor made.
    """
    if credits_paise < 0 or any(d.amount_paise <= 0 for d in debits):
        raise ValueError("debits are positive amounts and credits are not negative")
    remaining = sum(d.amount_paise for d in debits) - credits_paise
    unpaid: list[tuple[Debit, int]] = []
    for debit in sorted(debits, key=lambda d: (d.due_on, d.ref), reverse=True):
        if remaining <= 0:
            break
        part = min(debit.amount_paise, remaining)
        unpaid.append((debit, part))
        remaining -= part
    return unpaid


def age(unpaid: Iterable[tuple[date, int]], as_of: date) -> dict[Bucket, int]:
    """Unpaid amounts (due date, paise) summed by bucket on ``as_of``; every bucket present."""
    totals = dict.fromkeys(BUCKETS, 0)
    for due_on, amount in unpaid:
        totals[bucket((as_of - due_on).days)] += amount
    return totals
