"""Subsidies billed to the government: what a bill's subsidy lines make it owe the utility.

A tariff credit with ``"billed_to": "government"`` (GNCTD's scheme in Delhi: the whole bill
up to 200 units a month, half of it capped at Rs 800 for 201 to 400 units) is priced like
any credit and printed on the customer's bill as a ``subsidy`` line, lowering what the
customer owes. The same amount is owed by the government: it is posted to the utility's
government receivable, never to the customer's ledger, one entry per scheme (the line's
code) per bill, and taken back when the bill is cancelled.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

SUBSIDY = "subsidy"


@dataclass(frozen=True)
class Claim:
    """``amount_paise`` (> 0) the government owes for scheme ``code`` on one bill."""

    code: str
    description: str
    amount_paise: int


def claims(lines: Iterable[tuple[str, str, str, int]]) -> list[Claim]:
    """The claims of a bill's lines ``(component, code, description, amount_paise)``, one per
    subsidy code, in line order. A subsidy line is a credit (≤ 0); its claim is positive."""
    found: dict[str, Claim] = {}
    for component, code, description, amount in lines:
        if component != SUBSIDY or amount == 0:
            continue
        before = found.get(code)
        total = (before.amount_paise if before else 0) - amount
        found[code] = Claim(code, before.description if before else description, total)
    return [c for c in found.values() if c.amount_paise]
