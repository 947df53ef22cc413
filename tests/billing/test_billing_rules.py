"""The pure billing rules: reads to consumption, estimates, dates, numbers, the late fee."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from demo.tariffs import TARIFFS
from domain.billing import (
    BillingMonth,
    EstimatedBill,
    PeriodError,
    bill_lines,
    due_date,
    nearest,
    upi_link,
)
from domain.consumption import (
    ConsumptionError,
    Measured,
    Multiplier,
    Span,
    advance_milli,
    closing_for,
    measure,
    register_usage,
)
from domain.document_number import document_number, financial_year
from domain.estimation import EstimationError, Period, estimate
from domain.ledger import Entry, credits_after, late_fee, overdue_at
from domain.pricing import price
from domain.tariff import LatePayment, parse_tariff
from domain.usage import TotalUsage, UsageByPeriod


@pytest.mark.parametrize("demo", TARIFFS, ids=lambda t: t.code)
def test_every_demo_tariff_parses_in_the_real_format(demo: object) -> None:
    tariff = parse_tariff(demo.document)  # type: ignore[attr-defined]
    assert demo.document["format"] == "gridbill-tariff/1"  # type: ignore[attr-defined]
    assert tariff.code == demo.code and tariff.late_payment is not None  # type: ignore[attr-defined]


def test_demo_tariffs_price_like_their_orders() -> None:
    """LT-1A: 166 kWh in 31 days on 30-day months (the figures of a demo bill, by hand)."""
    lt1a = parse_tariff(TARIFFS[0].document)
    quote = price(
        lt1a,
        TotalUsage(Decimal(166), date(2026, 3, 8), date(2026, 4, 8)),
        sanctioned_load_kw=Decimal(5),
    )
    amounts = {line.code: line.amount for line in quote.lines}
    # 31/30 months: FC 128 × 1.0333 = 132.27; slab 1 is 103.333 kWh × 3.46 = 357.53 …
    assert amounts["FC"] == Decimal("132.27") and amounts["EC.1"] == Decimal("357.53")
    assert amounts["EC.2"] == Decimal("465.61") and amounts["WC"] == Decimal("229.08")
    assert amounts["ED"] == Decimal("189.52") and amounts["TOSE"] == Decimal("43.16")
    assert quote.total == Decimal("1417.00")  # rounded to the rupee
    lt2 = parse_tariff(TARIFFS[1].document)
    usage = UsageByPeriod({"peak": Decimal(100), "off_peak": Decimal(20), "normal": Decimal(180)},
                          date(2026, 3, 8), date(2026, 4, 7), Decimal("7.5"))  # fmt: skip
    tod = {
        line.code: line.amount for line in price(lt2, usage, sanctioned_load_kw=Decimal(10)).lines
    }
    assert tod["TOD.peak"] == Decimal("110.00") and tod["TOD.off_peak"] == Decimal("-30.00")
    assert tod["DC"] == Decimal("825.00")  # 7.5 kW × 110, a 30-day month


def test_rollover_multiplier_and_a_register_that_went_backwards() -> None:
    assert advance_milli(999_900_000, 150_000, digits=6) == 250_000
    assert advance_milli(5_000, 5_000, digits=6) == 0
    with pytest.raises(ConsumptionError, match="went backwards"):
        advance_milli(500_000, 499_000, digits=6)
    with pytest.raises(ConsumptionError, match="does not fit"):
        advance_milli(1_000_000_000, 0, digits=6)
    ct = Multiplier(200, 5)
    assert ct.ratio == 40 and str(ct) == "40" and str(Multiplier(5, 2)) == "2.5"
    assert str(Multiplier(100, 3)) == "100/3"
    assert Span("1.8.0", 6, 999_990_000, 5_000, ct).wh == 15_000 * 40
    assert closing_for(999_990_000, 600_000, ct, 6) == 5_000


def test_tou_registers_give_the_periods_and_the_rest_is_normal() -> None:
    spans = [Span("1.8.0", 6, 0, 300_000), Span("1.8.1", 6, 0, 100_000, tou_period="peak"),
             Span("1.8.2", 6, 0, 20_000, tou_period="off_peak")]  # fmt: skip
    measured = measure(spans, [(7_500, Multiplier())])
    assert measured == Measured(300_000, {"peak": 100_000, "off_peak": 20_000}, 7_500)
    usage = register_usage(
        measured, date(2026, 3, 1), date(2026, 4, 1), tou_periods=("peak", "off_peak", "normal")
    )
    assert isinstance(usage, UsageByPeriod)
    assert dict(usage.kwh_by_period) == {
        "peak": Decimal(100),
        "off_peak": Decimal(20),
        "normal": Decimal(180),
    }
    with pytest.raises(ConsumptionError, match="more than the total"):
        measure([Span("1.8.0", 6, 0, 10_000), Span("1.8.1", 6, 0, 20_000, tou_period="peak")])


def test_estimates_from_history_then_from_the_category_profile() -> None:
    history = [
        Period(30, 300_000, {"peak": 90_000}, 4_000),
        Period(31, 310_000, {"peak": 93_000}, 5_000),
    ]
    guess = estimate(28, history, category="commercial", sanctioned_load_w=10_000,
                     tou_periods=("peak",), wants_demand=True)  # fmt: skip
    assert guess.wh == 280_000 and guess.by_period_wh == {"peak": 84_000}
    assert guess.max_demand_w == 4_500 and guess.basis == "average of 2 periods"
    fresh = estimate(30, [], category="domestic", sanctioned_load_w=2_000)
    assert fresh.wh == 1150 * 2 * 30 and fresh.basis == "profile: domestic"
    with pytest.raises(EstimationError):
        estimate(30, [], category="unknown", sanctioned_load_w=1_000)


def test_closing_read_window_dates_numbers() -> None:
    march = BillingMonth.parse("2026-03")
    assert (march.first, march.last) == (date(2026, 3, 1), date(2026, 3, 31))
    assert march.read_window(8) == (date(2026, 3, 1), date(2026, 3, 15))
    assert BillingMonth.parse("2026-02").scheduled_read(30) == date(2026, 2, 28)
    for bad in ("2026-13", "March", "2026-3"):
        with pytest.raises(PeriodError):
            BillingMonth.parse(bad)
    reads = [(date(2026, 3, 6), "a"), (date(2026, 3, 10), "b"), (date(2026, 3, 10), "c")]
    assert (
        nearest(reads, date(2026, 3, 8)) == "c"
    )  # equally near: the later, then the later capture
    assert nearest([(date(2026, 3, 7), "x"), (date(2026, 3, 9), "y")], date(2026, 3, 8)) == "y"
    assert nearest([], date(2026, 3, 8)) is None
    assert (
        financial_year(date(2026, 3, 31)) == "2025-26"
        and financial_year(date(2026, 4, 1)) == "2026-27"
    )
    assert document_number("bill", "2026-27", 123) == "BL/2026-27/000123"
    # 11 Mar + 15 = Thursday 26 Mar; a holiday then, and Friday's, push it to Saturday.
    assert due_date(date(2026, 3, 11), 15, frozenset()) == date(2026, 3, 26)
    assert due_date(date(2026, 3, 11), 15, {date(2026, 3, 26), date(2026, 3, 27)}) == date(
        2026, 3, 28
    )
    assert due_date(date(2026, 3, 14), 15, frozenset()) == date(2026, 3, 30)  # not Sunday 29th


def test_late_fee_on_what_was_unpaid_at_the_due_date() -> None:
    rule = LatePayment(Decimal("1.25"), 0, "per_month_or_part")
    entries = [Entry("bill", 100_000, date(2026, 3, 11)), Entry("payment", -40_000, date(2026, 3, 20)),
               Entry("payment", -30_000, date(2026, 4, 2))]  # fmt: skip
    assert overdue_at(30_000, entries, 100_000, date(2026, 3, 26)) == 60_000
    # A debit after the bill (a bounced cheque's fee) is not part of the overdue bill.
    fee = Entry("adjustment", 50_000, date(2026, 3, 15))
    assert overdue_at(80_000, [*entries, fee], 100_000, date(2026, 3, 26)) == 100_000
    assert overdue_at(0, entries, 100_000, date(2026, 3, 26)) == 30_000
    credits = credits_after(entries, date(2026, 3, 26), date(2026, 4, 11))
    assert credits == [(date(2026, 4, 2), 30_000)]
    # 30,000 paid 7 days late (one month or part) + 30,000 unpaid 16 days: 1.25% of 60,000.
    assert late_fee(rule, 60_000, date(2026, 3, 26), credits, date(2026, 4, 11)) == 750
    daily = LatePayment(Decimal("1.5"), 10, "daily")
    assert late_fee(daily, 60_000, date(2026, 3, 26), [], date(2026, 4, 5)) == 0  # in grace
    assert late_fee(daily, 60_000, date(2026, 3, 26), [], date(2026, 4, 25)) == 900  # 30 days
    assert late_fee(rule, 0, date(2026, 3, 26), [], date(2026, 4, 25)) == 0


def test_true_up_lines_credit_the_estimates_and_keep_rounding_last() -> None:
    lt1a = parse_tariff(TARIFFS[0].document)
    quote = price(
        lt1a,
        TotalUsage(Decimal(400), date(2026, 2, 8), date(2026, 4, 8)),
        sanctioned_load_kw=Decimal(3),
    )
    estimated = EstimatedBill("BL/2025-26/000007", date(2026, 3, 8), date(2026, 4, 7), 150_000)
    lines, amounts = bill_lines(quote, [estimated])
    assert lines[-1].component == "rounding" and lines[-2].code == "EST"
    assert lines[-2].amount_paise == -150_000 and "BL/2025-26/000007" in lines[-2].description
    assert amounts.total_paise == int(quote.total * 100) - 150_000


def test_upi_link_names_payee_amount_and_bill() -> None:
    link = upi_link(payee_vpa="power@upi", payee_name="Demo Power & Light", amount_paise=241_634,
                    note="Electricity bill BL/2026-27/000023")  # fmt: skip
    assert link == ("upi://pay?pa=power@upi&pn=Demo%20Power%20%26%20Light&am=2416.34&cu=INR"
                    "&tn=Electricity%20bill%20BL/2026-27/000023")  # fmt: skip
    assert "am=0.00" in upi_link(payee_vpa="p@upi", payee_name="P", amount_paise=-5, note="n")
