"""Allocation and payment-state rules, with properties over random histories."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.allocation import (
    Allocation,
    AllocationError,
    OpenBill,
    allocate,
    apply_credit,
    net_by_bill,
    undo,
)
from domain.enums import PaymentStatus
from domain.payment_state import RANK, advance, from_gateway

D0 = date(2026, 1, 1)


def bill(i: int, owed: int) -> OpenBill:
    return OpenBill(i, D0 + timedelta(days=30 * i), owed)


def test_oldest_bill_first_then_credit() -> None:
    rows = allocate(1500, [bill(2, 700), bill(1, 500)])
    assert rows == [Allocation(1, 500), Allocation(2, 700), Allocation(None, 300)]


def test_partial_payment_settles_oldest_partly() -> None:
    assert allocate(300, [bill(1, 500), bill(2, 700)]) == [Allocation(1, 300)]


def test_no_bills_all_credit_and_zero_is_nothing() -> None:
    assert allocate(100, []) == [Allocation(None, 100)]
    assert allocate(0, [bill(1, 5)]) == []
    with pytest.raises(AllocationError):
        allocate(-1, [])


def test_credit_applied_to_next_bill() -> None:
    rows = apply_credit([("p1", 300), ("p2", 100)], [bill(3, 350)])
    assert rows == [
        ("p1", Allocation(None, -300)),
        ("p1", Allocation(3, 300)),
        ("p2", Allocation(None, -50)),
        ("p2", Allocation(3, 50)),
    ]


def test_undo_everything_and_partial() -> None:
    rows = [Allocation(1, 500), Allocation(2, 700), Allocation(None, 300)]
    assert net_by_bill(rows + undo(rows)) == {}
    part = undo(rows, 400)
    assert part == [Allocation(None, -300), Allocation(2, -100)]
    with pytest.raises(AllocationError):
        undo(rows, 1501)


def test_state_moves_forward_only() -> None:
    C, F, A, P = (
        PaymentStatus.CREATED,
        PaymentStatus.FAILED,
        PaymentStatus.AUTHORIZED,
        PaymentStatus.CAPTURED,
    )
    assert advance(C, P).captures
    assert advance(F, P).captures  # failed, then captured: it happens
    assert not advance(P, F).changed
    assert not advance(P, P).captures
    assert advance(A, P).captures
    assert not advance(C, PaymentStatus.REFUNDED).changed  # only captured money refunds
    assert advance(P, PaymentStatus.REVERSED).after == PaymentStatus.REVERSED
    assert not advance(PaymentStatus.REVERSED, P).changed
    assert from_gateway("captured") == P
    assert from_gateway("weird") == C


@given(st.lists(st.sampled_from(list(PaymentStatus)), max_size=12), st.randoms())
def test_any_order_of_news_gives_the_same_end(news: list[PaymentStatus], rnd: object) -> None:
    """Folding the same news in any order ends in one state, and rank never drops."""
    import random

    assert isinstance(rnd, random.Random)

    def fold(seq: list[PaymentStatus]) -> PaymentStatus:
        state = PaymentStatus.CREATED
        captures = 0
        for item in seq:
            t = advance(state, item)
            assert RANK[t.after] >= RANK[t.before]
            captures += t.captures
            state = t.after
        assert captures <= 1
        return state

    news_without_final: list[PaymentStatus] = [
        n for n in news if n not in (PaymentStatus.REFUNDED, PaymentStatus.REVERSED)
    ]
    shuffled = list(news_without_final)
    rnd.shuffle(shuffled)
    assert fold(news_without_final) == fold(shuffled)


# --- a random history of bills, payments, reversals and refunds -----------------------

operation = st.one_of(
    st.tuples(st.just("bill"), st.integers(1, 50_000)),
    st.tuples(st.just("pay"), st.integers(1, 80_000)),
    st.tuples(st.just("reverse"), st.integers(0, 1000)),
    st.tuples(st.just("refund"), st.integers(0, 1000), st.integers(1, 80_000)),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(operation, max_size=40))
def test_allocations_always_balance(ops: list[tuple[object, ...]]) -> None:
    bills: dict[int, int] = {}  # id -> amount billed
    payments: dict[int, int] = {}  # id -> amount received, net of refunds and reversals
    rows: list[tuple[int, Allocation]] = []  # (payment, allocation): append-only
    ledger = 0  # positive: the customer owes

    def paid(bill_id: int) -> int:
        return sum(a.amount_paise for _, a in rows if a.bill_id == bill_id)

    def open_bills() -> list[OpenBill]:
        return [bill(i, amount - paid(i)) for i, amount in bills.items()]

    def payment_rows(p: int) -> list[Allocation]:
        return [a for q, a in rows if q == p]

    for op in ops:
        kind = op[0]
        if kind == "bill":
            amount = int(op[1])  # type: ignore[call-overload]
            bills[len(bills) + 1] = amount
            ledger += amount
            credits = [(p, net_by_bill(payment_rows(p)).get(None, 0)) for p in sorted(payments)]
            rows.extend(apply_credit(credits, open_bills()))
        elif kind == "pay":
            amount = int(op[1])  # type: ignore[call-overload]
            p = len(payments) + 1
            payments[p] = amount
            ledger -= amount
            rows.extend((p, a) for a in allocate(amount, open_bills()))
        elif payments:
            p = sorted(payments)[int(op[1]) % len(payments)]  # type: ignore[call-overload]
            if kind == "reverse":
                back = undo(payment_rows(p))
            else:
                want = min(int(op[2]), payments[p])  # type: ignore[call-overload]
                back = undo(payment_rows(p), want)
            taken = -sum(a.amount_paise for a in back)
            payments[p] -= taken
            ledger += taken
            rows.extend((p, a) for a in back)
            # money taken back off a bill may be covered again by credit held elsewhere
            credits = [(q, net_by_bill(payment_rows(q)).get(None, 0)) for q in sorted(payments)]
            rows.extend(apply_credit(credits, open_bills()))

        for p, amount in payments.items():
            net = net_by_bill(payment_rows(p))
            assert all(v > 0 for v in net.values())  # never more taken back than given
            assert sum(net.values()) == amount  # allocations never exceed the payment
        for i, amount in bills.items():
            assert 0 <= paid(i) <= amount
        credit = sum(a.amount_paise for _, a in rows if a.bill_id is None)
        outstanding = sum(b.outstanding_paise for b in open_bills())
        assert credit == 0 or outstanding == 0  # credit never sits beside an unpaid bill
        assert ledger == outstanding - credit  # the ledger balances
