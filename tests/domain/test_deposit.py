"""Security deposits: sizing, the yearly review, interest by the day, refund at move-out."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from hypothesis import given
from hypothesis import strategies as st

from domain.deposit import (
    FinancialYear,
    Held,
    held_spans,
    interest,
    required,
    review,
    settle_at_move_out,
)

D = Decimal


def test_two_months_of_average_billing_over_the_last_twelve_bills() -> None:
    # 14 bills; the last 12 are ten of 1,000, 994 and 1,012: average 12,006 ÷ 12 = 1,000.50, × 2
    bills = [D("5000"), D("5000")] + [D("1000")] * 10 + [D("994"), D("1012")]
    assert required(bills) == D("2001.00")
    assert required([]) == D("0.00")
    assert required([D("1234.40")], months=3) == D("3703.00")  # 3703.20 to the rupee


def test_the_review_asks_a_top_up_or_refunds_the_excess() -> None:
    bills = [D("1500")] * 12  # needs 3,000
    assert review(D("2000"), bills).top_up == D("1000.00")
    high = review(D("3600"), bills, refund_over=D("100"))
    assert (high.top_up, high.refund) == (D("0.00"), D("600.00"))
    close = review(D("3050"), bills, refund_over=D("100"))
    assert (close.top_up, close.refund) == (D("0.00"), D("0.00"))  # within the margin


def test_interest_by_the_day_on_what_was_held() -> None:
    # FY 2025-26 at 6.50%: 2,000 all year (365 days) = 130.00; a 1,000 top-up on
    # 1 Oct 2025 adds 1,000 × 182/365 × 6.5% = 32.41…; together 162.41.
    year = (date(2025, 4, 1), date(2026, 4, 1))
    held = [Held(D("2000"), date(2020, 1, 1), date(2030, 1, 1)),
            Held(D("1000"), date(2025, 10, 1), date(2030, 1, 1))]  # fmt: skip
    assert interest(held[:1], D("6.50"), *year) == D("130.00")
    assert interest(held, D("6.50"), *year) == D("162.41")


def test_the_deposit_pays_the_final_bill_and_the_rest_is_refunded() -> None:
    assert settle_at_move_out(D("3000"), D("45.10"), D("1200.55")) == (D("1200.55"), D("1844.55"))
    assert settle_at_move_out(D("1000"), D("0"), D("1500")) == (D("1000"), D("0"))
    assert settle_at_move_out(D("1000"), D("0"), D("-20")) == (D("0.00"), D("1000"))  # in credit


money = st.decimals(min_value=0, max_value=10**7, places=2, allow_nan=False, allow_infinity=False)


@given(money, money, money)
def test_move_out_conserves_money(held: Decimal, accrued: Decimal, payable: Decimal) -> None:
    applied, refunded = settle_at_move_out(held, accrued, payable)
    assert applied + refunded == held + accrued and applied >= 0 and refunded >= 0


@given(st.lists(money, min_size=1, max_size=24), money)
def test_a_review_lands_on_what_is_required(bills: list[Decimal], held: Decimal) -> None:
    r = review(held, bills)
    assert held + r.top_up - r.refund == r.required


movements = st.lists(
    st.tuples(
        st.dates(date(2024, 4, 1), date(2026, 3, 31)),
        st.integers(-50_000, 200_000).map(lambda p: D(p) / 100),
    ),
    max_size=6,
)


@given(movements)
def test_held_spans_hold_the_running_total_day_by_day(moves: list[tuple[date, Decimal]]) -> None:
    until = date(2026, 4, 1)
    spans = held_spans(moves, until)
    for day in (date(2024, 4, 1), date(2025, 1, 15), date(2025, 9, 30), date(2026, 3, 31)):
        total = sum((a for d, a in moves if d <= day), D("0.00"))
        inside = [s.amount for s in spans if s.start <= day < s.end]
        assert inside == ([total] if total > 0 and any(d <= day for d, _ in moves) else [])


@given(movements)
def test_a_years_interest_is_the_interest_on_each_days_balance(
    moves: list[tuple[date, Decimal]],
) -> None:
    year = FinancialYear.parse("2025-26")
    by_day = sum(
        (
            max(D(0), sum((a for d, a in moves if d <= year.start + timedelta(n)), D(0)))
            for n in range((year.end - year.start).days)
        ),
        D(0),
    )
    expected = (by_day * D("6.75") / 100 / 365).quantize(D("0.01"), rounding=ROUND_HALF_UP)
    got = interest(held_spans(moves, year.end), D("6.75"), year.start, year.end)
    assert abs(got - expected) <= D("0.01")  # Decimal division vs exact fractions


def test_financial_years() -> None:
    assert FinancialYear.of(date(2026, 3, 31)).label == "2025-26"
    assert FinancialYear.ended_before(date(2026, 4, 2)) == FinancialYear.parse("2025-26")
    assert FinancialYear.parse("2099-00").end == date(2100, 4, 1)
