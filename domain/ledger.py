"""What an account owes, from its ledger entries: balances, arrears and the late fee.

Entries are signed paise (positive: the customer owes more) with the date they take
effect; the ledger is append-only, so every figure here is a sum over entries up to a
date, and re-computing it later gives the same answer.

The late payment surcharge is charged on the next bill for the part of the previous bill
that was still unpaid at its due date. That overdue amount is reduced by each credit
(payment, adjustment, credit note) that took effect after the due date, oldest first;
each part accrues surcharge from the due date to the day it was paid, and what is still
unpaid on the new bill's date accrues to that date. The surcharge is computed exactly
and rounded half-up to the paisa once.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

from domain.money import exact, round_paise
from domain.tariff import LatePayment

DAYS_PER_MONTH = 30


@dataclass(frozen=True)
class Entry:
    kind: str
    amount_paise: int
    effective_on: date
    source_key: str = ""
    description: str = ""


def balance(entries: Iterable[Entry], as_of: date | None = None) -> int:
    """The sum of entries effective on or before ``as_of`` (all of them without a date)."""
    return sum(e.amount_paise for e in entries if as_of is None or e.effective_on <= as_of)


def credits_after(entries: Iterable[Entry], after: date, up_to: date) -> list[tuple[date, int]]:
    """Credits (as positive paise) effective in ``(after, up_to]``, oldest first."""
    found = [
        (e.effective_on, -e.amount_paise)
        for e in entries
        if e.amount_paise < 0 and after < e.effective_on <= up_to
    ]
    return sorted(found)


def overdue_at(
    balance_now: int, entries: Sequence[Entry], payable_paise: int, due_date: date
) -> int:
    """The part of a bill's payable amount still owed at the end of its due date.

    ``balance_now`` is the account's balance today and ``entries`` holds at least every
    entry effective after ``due_date``: the balance at the due date is what remains when
    those are taken off. Debits posted after the bill (a cheque-bounce fee, an adjustment)
    may raise that balance above the bill, but only the bill's payable amount is overdue.
    """
    after_due = sum(e.amount_paise for e in entries if e.effective_on > due_date)
    return max(0, min(payable_paise, balance_now - after_due))


def _months(rule: LatePayment, days_late: int) -> Fraction:
    if days_late <= rule.grace_days:
        return Fraction(0)
    if rule.accrual == "daily":
        return Fraction(days_late, DAYS_PER_MONTH)
    return Fraction(math.ceil(Fraction(days_late, DAYS_PER_MONTH)))


def late_fee(
    rule: LatePayment,
    overdue_paise: int,
    due_date: date,
    credits: Sequence[tuple[date, int]],
    bill_date: date,
) -> int:
    """The surcharge in paise on ``overdue_paise`` unpaid at ``due_date``, as of ``bill_date``."""
    if overdue_paise <= 0 or bill_date <= due_date:
        return 0
    remaining = overdue_paise
    owed = Fraction(0)
    rate = exact(rule.percent_per_month) / 100
    for day, amount in sorted(credits):
        if remaining <= 0 or day > bill_date:
            break
        part = min(remaining, amount)
        owed += part * rate * _months(rule, (day - due_date).days)
        remaining -= part
    owed += remaining * rate * _months(rule, (bill_date - due_date).days)
    return int(round_paise(owed / 100) * 100)


def rebilled_late_fee(
    rule: LatePayment,
    overdue_paise: int,
    difference_paise: int,
    due_date: date,
    credits: Sequence[tuple[date, int]],
    charged_on: date,
) -> int:
    """The surcharge a bill should have been charged had it been issued at its rebilled
    amount: the part unpaid at its due date moves by the rebill's difference (never below
    zero), and the later credits and the charging date stay as they were."""
    overdue = max(0, overdue_paise + difference_paise)
    return late_fee(rule, overdue, due_date, credits, charged_on)


def paise(amount: Decimal) -> int:
    """A Decimal amount already rounded to the paisa, as integer paise."""
    scaled = amount * 100
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} is not a whole number of paise")
    return int(scaled)
