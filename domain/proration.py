"""Proration: how many "months" a span of days is, and where a billing period is split.

A billing period is priced in parts, each within one calendar month and under one tariff
version (and one value of every dated rate, e.g. a quarterly fuel adjustment). Each
part's share of a monthly quantity (a slab limit, a fixed charge) is its *month factor*:

* ``calendar_month`` basis: days in the part ÷ days in that calendar month, so a whole
  calendar month is exactly 1 and proration of a full month changes nothing;
* ``fixed_days`` basis (e.g. 30): days in the part ÷ 30, as utilities that bill
  "1.03 months" for 31 days do.

Within a part the factor is proportional to its days, so cutting a part in two and
pricing both halves gives exactly the same sums: this is why limits are never rounded.
"""

from __future__ import annotations

import calendar
import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction

from domain.tariff import Per, Proration


@dataclass(frozen=True)
class Span:
    """Whole days ``[start, end)``."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def contains(self, day: date) -> bool:
        return self.start <= day < self.end


def days_in_month(day: date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


def month_starts(span: Span) -> Iterable[date]:
    """First days of the calendar months after ``span.start`` that begin inside it."""
    day = _next_month(span.start)
    while day < span.end:
        yield day
        day = _next_month(day)


def _next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def split(span: Span, cuts: Iterable[date]) -> list[Span]:
    """``span`` cut at every calendar month start and at each of ``cuts`` inside it."""
    points = {d for d in cuts if span.start < d < span.end} | set(month_starts(span))
    edges = [span.start, *sorted(points), span.end]
    return [Span(a, b) for a, b in itertools.pairwise(edges)]


def month_factor(part: Span, proration: Proration) -> Fraction:
    """How many months ``part`` (within one calendar month) counts as."""
    if proration.basis == "fixed_days":
        return Fraction(part.days, proration.days)
    return Fraction(part.days, days_in_month(part.start))


def scale(per: Per, part: Span, proration: Proration) -> Fraction:
    """The multiplier of a rate stated per month, per day or per year for ``part``."""
    if per == "day":
        return Fraction(part.days)
    factor = month_factor(part, proration)
    return factor / 12 if per == "year" else factor
