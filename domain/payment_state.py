"""The forward-only life of a payment: whatever order the news arrives in, state never goes back.

Razorpay may tell us about one payment three times (the app's callback, ``payment.captured``,
``order.paid``) in any order, may send ``payment.failed`` before ``payment.captured`` for the
same payment, and retries deliveries. Every piece of news is folded in with :func:`advance`,
which only ever moves a payment forward, so late or repeated news changes nothing.

Ranks: ``created`` < ``failed`` < ``authorized`` < ``captured`` < ``refunded`` / ``reversed``.
A failed payment can still be captured (the docs warn of exactly that sequence), a captured
one can never fail, and ``refunded`` and ``reversed`` (a bounced cheque) are final.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.enums import PaymentStatus

RANK: dict[PaymentStatus, int] = {
    PaymentStatus.CREATED: 0,
    PaymentStatus.FAILED: 1,
    PaymentStatus.AUTHORIZED: 2,
    PaymentStatus.CAPTURED: 3,
    PaymentStatus.REFUNDED: 4,
    PaymentStatus.REVERSED: 4,
}

FINAL = frozenset({PaymentStatus.REFUNDED, PaymentStatus.REVERSED})
#: States in which the money is ours: allocated to bills and posted to the ledger.
SETTLED = frozenset({PaymentStatus.CAPTURED})

GATEWAY_STATUS: dict[str, PaymentStatus] = {
    "created": PaymentStatus.CREATED,
    "authorized": PaymentStatus.AUTHORIZED,
    "captured": PaymentStatus.CAPTURED,
    "failed": PaymentStatus.FAILED,
    "refunded": PaymentStatus.CAPTURED,  # a refunded gateway payment was captured first
}


@dataclass(frozen=True)
class Transition:
    """What folding one piece of news into a payment's state did."""

    before: PaymentStatus
    after: PaymentStatus

    @property
    def changed(self) -> bool:
        return self.before != self.after

    @property
    def captures(self) -> bool:
        """True exactly once in a payment's life: when its money should be posted."""
        return self.after == PaymentStatus.CAPTURED and self.before != PaymentStatus.CAPTURED


def advance(current: PaymentStatus, incoming: PaymentStatus) -> Transition:
    """Fold ``incoming`` into ``current``: move forward, or stay where we are."""
    if current in FINAL or RANK[incoming] <= RANK[current]:
        return Transition(current, current)
    if incoming in FINAL and current != PaymentStatus.CAPTURED:
        # Only a captured payment can be refunded or reversed.
        return Transition(current, current)
    return Transition(current, incoming)


def from_gateway(status: str) -> PaymentStatus:
    """Our status for a Razorpay payment ``status``; unknown values count as ``created``."""
    return GATEWAY_STATUS.get(status, PaymentStatus.CREATED)
