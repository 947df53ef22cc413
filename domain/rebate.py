"""The prompt-payment rebate: when a bill earns it, and when a bounce takes it back.

A tariff's ``prompt_payment`` rule sets the rebate (a percent of named lines, computed at
issue by :func:`domain.billing.prompt_rebate` and frozen in the bill's snapshot with its
last day, ``by``). The bill earns it when what the account owes for that bill and every
earlier one (the ledger balance without later bills' own postings and without this bill's
own rebate) is settled on or before ``by``. It is credited once per bill. Money taken back
afterwards (a bounced cheque, a refund) that leaves the bill unsettled forfeits it: the
credit is reversed, and a payment still in time may earn it again.

Settled is judged on the ledger, not on payment allocations, so credits the customer was
given (a previous rebate, a credit note) count as paid: a customer who pays the payable
amount printed on the bill has paid in full.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class RebateTerms:
    """One issued bill's rebate as frozen at issue: ``rebate_paise`` if settled by ``by``."""

    bill_id: int
    number: str
    rebate_paise: int
    by: date


def earns(terms: RebateTerms, *, owed_paise: int, settled_on: date, live_paise: int) -> bool:
    """Whether a settlement on ``settled_on`` leaving ``owed_paise`` earns the rebate now.

    ``live_paise`` is the rebate already credited and not reversed (≤ 0 as a credit, or 0):
    a bill earns its rebate once.
    """
    return terms.rebate_paise > 0 and live_paise == 0 and owed_paise <= 0 and settled_on <= terms.by


def forfeits(*, owed_paise: int, live_paise: int) -> bool:
    """Whether a credited rebate must be reversed: the bill is no longer settled."""
    return live_paise != 0 and owed_paise > 0
