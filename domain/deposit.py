"""A consumer's security deposit: how much to hold, what to review, the interest it earns.

Indian law has the shape (the Electricity Act, 2003, section 47; the state supply codes,
for example DERC's Supply Code and Performance Standards Regulations, 2017): a licensee
may ask for security equal to the consumer's average billing for a number of months
(two, for monthly billing), reviews it once a year against the last twelve months'
bills, asks for a top-up or refunds the excess, pays interest at the bank rate (or what
the commission sets) credited once a year on the bill, and refunds the deposit, with
interest, against the final bill when the consumer leaves.

Amounts are Decimal rupees; interest is simple, by the day (actual days ÷ 365), computed
exactly and rounded half up to the paisa once, on the credit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

from domain.money import RUPEE, exact, round_half_up, round_paise

REVIEW_MONTHS = 12  # bills the yearly review averages


@dataclass(frozen=True)
class Review:
    """The yearly review's outcome: ask for ``top_up`` or refund ``refund`` (one is zero)."""

    required: Decimal
    held: Decimal
    top_up: Decimal
    refund: Decimal


@dataclass(frozen=True)
class Held:
    """An amount held from ``start`` (inclusive) to ``end`` (exclusive)."""

    amount: Decimal
    start: date
    end: date


def required(bills: Sequence[Decimal], months: int = 2) -> Decimal:
    """The deposit for ``months`` of average billing over the last twelve bills, to the
    whole rupee (half up). No bills yet: nothing can be asked on history."""
    recent = list(bills)[-REVIEW_MONTHS:]
    if months < 1:
        raise ValueError("a deposit covers at least one month of billing")
    if not recent:
        return Decimal("0.00")
    average = sum((exact(b) for b in recent), Fraction(0)) / len(recent)
    return round_half_up(average * months, RUPEE).quantize(Decimal("0.01"))


def review(held: Decimal, bills: Sequence[Decimal], *, months: int = 2,
           refund_over: Decimal = Decimal("0")) -> Review:  # fmt: skip
    """Compare what is held with what the last year's bills call for.

    A shortfall is asked as a top-up; an excess above ``refund_over`` rupees is refunded
    (codes let small differences be, rather than move money both ways each year).
    """
    need = required(bills, months)
    if held < need:
        return Review(need, held, need - held, Decimal("0.00"))
    excess = held - need
    refund = excess if excess > refund_over else Decimal("0.00")
    return Review(need, held, Decimal("0.00"), refund)


def interest(held: Sequence[Held], annual_percent: Decimal, start: date, end: date) -> Decimal:
    """Simple interest on what was held over ``[start, end)`` at ``annual_percent`` a year,
    by the day (actual ÷ 365), rounded half up to the paisa once."""
    if annual_percent < 0:
        raise ValueError("an interest rate cannot be negative")
    total = Fraction(0)
    for h in held:
        days = (min(h.end, end) - max(h.start, start)).days
        if days > 0:
            total += exact(h.amount) * days * exact(annual_percent) / 100 / 365
    return round_paise(total)


def settle_at_move_out(
    held: Decimal, accrued_interest: Decimal, final_payable: Decimal
) -> tuple[Decimal, Decimal]:
    """The deposit and its interest against the final bill: ``(applied, refunded)``.

    What the final bill still asks is paid from the deposit first; the rest is refunded.
    """
    available = held + accrued_interest
    applied = min(available, max(final_payable, Decimal("0.00")))
    return applied, available - applied


@dataclass(frozen=True)
class FinancialYear:
    """An Indian financial year, 1 April to 31 March: ``[start, end)``, named ``2025-26``."""

    start: date
    end: date  # exclusive: the next 1 April

    @property
    def label(self) -> str:
        return f"{self.start.year}-{self.end.year % 100:02d}"

    @classmethod
    def of(cls, day: date) -> FinancialYear:
        """The year holding ``day``."""
        first = day.year if day.month >= 4 else day.year - 1
        return cls(date(first, 4, 1), date(first + 1, 4, 1))

    @classmethod
    def ended_before(cls, day: date) -> FinancialYear:
        """The last year wholly before ``day``: what a yearly review on ``day`` looks back on."""
        current = cls.of(day)
        return cls(date(current.start.year - 1, 4, 1), current.start)

    @classmethod
    def parse(cls, text: str) -> FinancialYear:
        """``2025-26`` (or ``2025``, its first year)."""
        head, _, tail = text.strip().partition("-")
        if not head.isdigit() or len(head) != 4:
            raise ValueError(f"{text!r} is not a financial year like 2025-26")
        year = cls(date(int(head), 4, 1), date(int(head) + 1, 4, 1))
        if tail and tail != year.label[5:]:
            raise ValueError(f"{text!r} is not a financial year: did you mean {year.label}?")
        return year


def held_spans(movements: Sequence[tuple[date, Decimal]], until: date) -> list[Held]:
    """What was held from day to day, from the deposit's movements (effective day, signed
    amount) up to ``until``: a span per change, each holding the running total."""
    spans: list[Held] = []
    total = Decimal("0.00")
    ordered = sorted(movements, key=lambda m: m[0])
    for i, (day, amount) in enumerate(ordered):
        total += amount
        end = ordered[i + 1][0] if i + 1 < len(ordered) else until
        if total > 0 and end > day:
            spans.append(Held(total, day, min(end, until)))
    return spans
