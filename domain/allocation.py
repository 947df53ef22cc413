"""How money received settles bills: oldest bill first, the rest held as account credit.

Pure rules on integer paise. A payment is split into :class:`Allocation` rows: parts applied
to bills (oldest first, a bill taking at most what is still owed on it) and, if anything is
left, a part held as account credit (``bill_id=None``). Allocations are append-only: credit
applied to a later bill is a pair of rows (``-x`` from credit, ``+x`` to the bill), and a
reversal or refund is negative rows, never an edit. So for every payment, the sum of its
rows is what it still contributes, and for every bill, the sum of its rows is what it has
been paid.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

K = TypeVar("K")


class AllocationError(ValueError):
    """An amount that cannot be allocated or taken back (negative, or more than there is)."""


@dataclass(frozen=True)
class OpenBill:
    """A bill that may take money: ``outstanding_paise`` is what is still owed on it."""

    bill_id: int
    period_start: date
    outstanding_paise: int

    @property
    def order(self) -> tuple[date, int]:
        return (self.period_start, self.bill_id)


@dataclass(frozen=True)
class Allocation:
    """``amount_paise`` of a payment applied to ``bill_id`` (``None``: account credit)."""

    bill_id: int | None
    amount_paise: int


def oldest_first(bills: Iterable[OpenBill]) -> list[OpenBill]:
    return sorted((b for b in bills if b.outstanding_paise > 0), key=lambda b: b.order)


def allocate(amount_paise: int, bills: Iterable[OpenBill]) -> list[Allocation]:
    """Split a payment over the open bills, oldest first; any remainder is credit."""
    if amount_paise < 0:
        raise AllocationError(f"cannot allocate a negative amount ({amount_paise})")
    rows: list[Allocation] = []
    left = amount_paise
    for bill in oldest_first(bills):
        if left == 0:
            break
        part = min(left, bill.outstanding_paise)
        rows.append(Allocation(bill.bill_id, part))
        left -= part
    if left:
        rows.append(Allocation(None, left))
    return rows


def apply_credit(
    credits: Sequence[tuple[K, int]], bills: Iterable[OpenBill]
) -> list[tuple[K, Allocation]]:
    """Apply credit held by earlier payments (oldest first) to open bills (oldest first).

    ``credits`` pairs a payment's key with the credit it holds. Each move is two rows for
    that payment: ``-x`` off credit and ``+x`` on the bill.
    """
    keys = [key for key, amount in credits if amount > 0]
    left = [amount for _, amount in credits if amount > 0]
    rows: list[tuple[K, Allocation]] = []
    for bill in oldest_first(bills):
        owed = bill.outstanding_paise
        for i, key in enumerate(keys):
            if owed == 0:
                break
            part = min(owed, left[i])
            if part == 0:
                continue
            rows.append((key, Allocation(None, -part)))
            rows.append((key, Allocation(bill.bill_id, part)))
            left[i] -= part
            owed -= part
    return rows


def net_by_bill(rows: Iterable[Allocation]) -> dict[int | None, int]:
    """What a payment's rows add up to, per bill (``None``: credit), zeros dropped."""
    net: dict[int | None, int] = {}
    for row in rows:
        net[row.bill_id] = net.get(row.bill_id, 0) + row.amount_paise
    return {k: v for k, v in net.items() if v}


def undo(rows: Sequence[Allocation], amount_paise: int | None = None) -> list[Allocation]:
    """Negative rows taking ``amount_paise`` (default: everything) back out of a payment.

    ``rows`` are the payment's allocation rows in the order they were made. Credit is taken
    back first, then bills, the most recently settled first, so a partial refund disturbs
    old bills last. Reversing everything undoes every allocation exactly.
    """
    net = net_by_bill(rows)
    if any(v < 0 for v in net.values()):
        raise AllocationError("a payment's allocations to a bill add up to less than zero")
    total = sum(net.values())
    wanted = total if amount_paise is None else amount_paise
    if wanted < 0 or wanted > total:
        raise AllocationError(f"cannot take back {wanted} paise of {total} allocated")
    order: list[int | None] = []
    for row in rows:
        if row.bill_id not in order:
            order.append(row.bill_id)
    if None in order:
        order.remove(None)
    order = [None, *reversed(order)]
    out: list[Allocation] = []
    left = wanted
    for bill_id in order:
        if left == 0:
            break
        have = net.get(bill_id, 0)
        if have <= 0:
            continue
        part = min(have, left)
        out.append(Allocation(bill_id, -part))
        left -= part
    return out
