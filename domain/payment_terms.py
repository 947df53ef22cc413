"""What paying late costs and paying early saves, by a tariff's rules.

A quote prices consumption; these two depend on when the bill is paid, so bill runs and
payment posting apply them, not ``price``. Both are rounded half-up to 0.01.

* Late payment surcharge: ``percent_per_month`` of the amount overdue, once the grace
  days have passed, for every day late (``daily``: percent × days ÷ 30) or for every
  30-day month or part of one (``per_month_or_part``).
* Prompt-payment rebate: ``percent`` of the named lines of the bill when paid within
  ``within_days`` of the bill date; returned negative, as a credit.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

from domain.money import exact, round_paise
from domain.pricing import Quote
from domain.tariff import LatePayment, PromptPayment, in_base

DAYS_PER_MONTH = 30


def late_payment_surcharge(rule: LatePayment, overdue: Decimal, days_late: int) -> Decimal:
    """The surcharge on ``overdue`` paid ``days_late`` days after the due date."""
    if days_late <= rule.grace_days or overdue <= 0:
        return Decimal("0.00")
    if rule.accrual == "daily":
        months = Fraction(days_late, DAYS_PER_MONTH)
    else:
        months = Fraction(math.ceil(Fraction(days_late, DAYS_PER_MONTH)))
    return round_paise(exact(overdue) * exact(rule.percent_per_month) / 100 * months)


def prompt_payment_rebate(rule: PromptPayment, quote: Quote, days_after_bill: int) -> Decimal:
    """The rebate (≤ 0) for paying ``days_after_bill`` days after the bill date."""
    if days_after_bill > rule.within_days:
        return Decimal("0.00")
    base = sum((ln.amount for ln in quote.lines if in_base(ln.code, rule.base)), Decimal(0))
    rebate = round_paise(exact(base) * exact(rule.percent) / 100)
    return -rebate if rebate else Decimal("0.00")
