"""One account's bill priced from plain inputs: no database, the rules alone.

The bill run loads these inputs in bulk (``services.billing.inputs``); here they are
built by hand, so each rule of ``domain.bill_draft`` is seen on its own.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.bill_draft import Context, Draft, QuoteCache, Skip, draft, history, plan
from domain.bill_inputs import (
    AccountInputs,
    Assignment,
    BillReadRow,
    Holder,
    Installation,
    PreviousBill,
    Read,
    Reg,
    TariffBook,
    Version,
)
from domain.billing import BillingMonth
from domain.tariff import parse_tariff
from tests.billing.billing_factories import FLAT

ZONE = ZoneInfo("Asia/Kolkata")
MARCH = Context(BillingMonth.parse("2026-03"), 8, ZONE)
BOOK = TariffBook([Version(1, 1, date(2025, 4, 1), None, "sha", parse_tariff(FLAT), "default")], {})
TOTAL = Reg(id=10, meter_id=1, obis="1.8.0", unit="kWh", digits=6, tou_period="")


def at(day: date) -> datetime:
    return datetime.combine(day, time(10), tzinfo=ZONE)


def read(read_id: int, kwh: int, day: date) -> Read:
    return Read(read_id, TOTAL.id, kwh * 1000, at(day), day, "regular")


def account(*reads: Read, holders: list[Holder] | None = None) -> AccountInputs:
    install = Installation(1, 1, "manual", at(date(2025, 12, 1)), None, registers=[TOTAL])
    return AccountInputs(
        id=1, number="AC-1", category="domestic", sanctioned_load_w=3_000,
        contract_demand_va=None, service_point_id=1, connected_on=date(2025, 12, 1),
        holders=[Holder(7, date(2025, 12, 1), None)] if holders is None else holders,
        assignments=[Assignment(1, date(2025, 4, 1), None)], installations=[install],
        reads={TOTAL.id: list(reads)},
    )  # fmt: skip


def previous(status: str = "issued", *, period_end: date = date(2026, 2, 7)) -> PreviousBill:
    return PreviousBill(
        id=5, number="BL/2025-26/000001", status=status, period_start=date(2026, 1, 8),
        period_end=period_end, is_estimated=False, is_final=False, total_paise=135_242,
        payable_paise=135_242, consumption_wh=250_000, max_demand_w=0, tariff_version_id=1,
        issue_date=date(2026, 2, 11), due_date=date(2026, 2, 26),
        snapshot={"usage": {"days": 31, "wh": 250_000, "by_period": {}}},
        reads=[BillReadRow(TOTAL.id, 1, 2, 1_000_000, 1_250_000, False)],
    )  # fmt: skip


def priced(inputs: AccountInputs, cache: QuoteCache | None = None) -> Draft | Skip:
    planned = plan(inputs, MARCH)
    return (
        planned if isinstance(planned, Skip) else draft(planned, MARCH, BOOK, cache or QuoteCache())
    )


def test_a_first_bill_opens_at_the_last_read_and_is_priced_by_the_tariff() -> None:
    made = priced(account(read(1, 1_000, date(2026, 2, 8)), read(2, 1_150, date(2026, 3, 8))))
    assert isinstance(made, Draft)
    assert (made.period_start, made.period_end) == (date(2026, 2, 8), date(2026, 3, 7))
    assert made.consumption_wh == 150_000 and made.customer_id == 7 and not made.is_estimated
    # 28 days of a 100 fixed charge (0.976 month) and 150 kWh at 5.00.
    assert [(line.code, line.amount_paise) for line in made.lines][:2] == [
        ("FC", 9_758),
        ("EC", 75_000),
    ]
    assert made.total_paise == 84_758
    assert [(r.opening_read_id, r.closing_read_id, r.consumption_wh) for r in made.reads] == [
        (1, 2, 150_000)
    ]


def test_the_next_bill_opens_at_the_previous_closing_read() -> None:
    inputs = account(read(2, 1_250, date(2026, 2, 8)), read(3, 1_400, date(2026, 3, 8)))
    inputs.bills = [previous()]
    inputs.opening_reads = {2: read(2, 1_250, date(2026, 2, 8))}
    made = priced(inputs)
    assert isinstance(made, Draft) and made.consumption_wh == 150_000
    assert made.period_start == date(2026, 2, 8) and made.reads[0].opening_read_id == 2


def test_without_a_closing_read_the_bill_is_estimated_from_history() -> None:
    inputs = account(read(2, 1_250, date(2026, 2, 8)))
    inputs.bills = [previous()]
    inputs.opening_reads = {2: read(2, 1_250, date(2026, 2, 8))}
    made = priced(inputs)
    assert isinstance(made, Draft) and made.is_estimated and made.estimate_basis
    assert made.reads and all(r.is_estimated for r in made.reads)


def test_accounts_that_cannot_be_billed_say_why() -> None:
    both = (read(1, 1_000, date(2026, 2, 8)), read(2, 1_150, date(2026, 3, 8)))
    assert priced(account(*both, holders=[])) == Skip("no account holder")
    billed = account(*both)
    billed.bills = [previous(period_end=date(2026, 3, 7))]
    assert priced(billed) == Skip("already billed")
    waiting = account(*both)
    waiting.bills = [previous("draft")]
    assert priced(waiting) == Skip("previous bill still a draft")
    assert priced(account()) == Skip("no opening read")


def test_identical_accounts_are_priced_once() -> None:
    cache = QuoteCache()
    reads = (read(1, 1_000, date(2026, 2, 8)), read(2, 1_150, date(2026, 3, 8)))
    first, second = priced(account(*reads), cache), priced(account(*reads), cache)
    assert isinstance(first, Draft) and isinstance(second, Draft)
    assert cache.hits == 1 and first.lines == second.lines


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=0, max_value=999_999), st.integers(min_value=1, max_value=50_000))
def test_energy_is_the_advance_of_the_register_at_the_tariffs_rate(opening: int, used: int) -> None:
    closing = (opening + used) % 1_000_000  # a six-digit register rolls over
    made = priced(account(read(1, opening, date(2026, 2, 8)), read(2, closing, date(2026, 3, 8))))
    assert isinstance(made, Draft) and made.consumption_wh == used * 1_000
    energy = next(line for line in made.lines if line.code == "EC")
    assert energy.amount_paise == used * 500


def _billed_demand(kw: int, unit: str | None, day: date) -> PreviousBill:
    bill = previous(period_end=day)
    bill.max_demand_w = kw * 1000
    bill.snapshot = {"usage": {"demand_unit": unit}} if unit else {"usage": {}}
    return bill


def test_a_ratchet_counts_only_earlier_demands_in_its_own_unit() -> None:
    # The tariff moved from kW to kVA demand: the 300 kW of January is not a kVA
    # figure, so only the 200 kVA of February ratchets the March bill.
    kva = parse_tariff(
        FLAT | {"demand_charges": [{"code": "DC", "rate": "472", "unit": "kVA",
                                    "ratchet": {"percent": "75", "months": 11}}]}
    )  # fmt: skip
    inputs = account()
    inputs.bills = [
        _billed_demand(200, "kVA", date(2026, 2, 7)),
        _billed_demand(300, None, date(2026, 1, 7)),
    ]
    version = Version(2, 1, date(2025, 4, 1), None, "sha", kva, "default")
    assert history(inputs, date(2026, 2, 8), [version]).past_demands_kw == (Decimal(200),)
    kw = Version(3, 1, date(2025, 4, 1), None, "sha", parse_tariff(
        FLAT | {"demand_charges": [{"code": "DC", "rate": "250",
                                    "ratchet": {"percent": "75", "months": 11}}]}
    ), "default")  # fmt: skip
    assert history(inputs, date(2026, 2, 8), [kw]).past_demands_kw == (Decimal(300),)
