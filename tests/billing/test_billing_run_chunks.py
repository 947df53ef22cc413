"""A chunked bill run stores exactly the bills the single-account path drafts.

The run loads a chunk of accounts in a few queries, prices with a quote cache shared
across the run, writes each chunk with column arrays (PostgreSQL) while drafting the next.
None of that may change a bill: for accounts picked at random from a synthetic utility
(domestic slabs, commercial time-of-day and demand, random readings), the stored bill,
its lines and its reads equal what one account loaded and drafted alone gives.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from tortoise.connection import get_connection
from tortoise.context import TortoiseContext

from demo.synthetic import load_synthetic
from domain.bill_draft import Context, Draft, QuoteCache, draft, plan
from domain.billing import BillingMonth
from services.billing import calendar
from services.billing.cycles import cycle_by_code
from services.billing.inputs import (
    HISTORY_DAYS,
    load_accounts,
    load_chunk,
    load_tariff_book,
    local_midnight,
    lookback,
)
from services.billing.runs import run_bill_run
from store.models import Account, Bill, BillLine, BillRead
from store.sql import Sql
from tests.factories import ZONE

PERIOD = "2026-03"
ACCOUNTS = 60
SAMPLE = 15


async def draft_alone(account_id: int) -> Draft:
    """The single-account path: one account loaded, planned and priced with a fresh cache."""
    sql = Sql(get_connection("default"))
    month = BillingMonth.parse(PERIOD)
    cycle = await cycle_by_code("SYN-01")
    ctx = Context(month, await calendar.read_day(cycle, month), ZONE)
    accounts = await load_accounts(
        sql, cycle_id=cycle.id, after_id=account_id - 1, limit=1, period_last=month.last
    )
    assert [a.id for a in accounts] == [account_id]
    await load_chunk(
        sql,
        accounts,
        window_end=local_midnight(ctx.window[1] + timedelta(days=1), ZONE),
        history_from=ctx.scheduled - timedelta(days=HISTORY_DAYS),
        lookback_from=lookback(ctx.scheduled, ZONE),
        zone=ZONE,
    )
    planned = plan(accounts[0], ctx)
    assert not hasattr(planned, "reason"), planned
    made = draft(planned, ctx, await load_tariff_book(sql), QuoteCache())  # type: ignore[arg-type]
    assert isinstance(made, Draft), made
    return made


async def stored(account_id: int) -> dict[str, Any]:
    bill = await Bill.get(account_id=account_id, active_period__isnull=False)
    lines = await BillLine.filter(bill_id=bill.id).order_by("position")
    reads = await BillRead.filter(bill_id=bill.id).order_by("register_id")
    return {
        "bill": (
            bill.customer_id, bill.period_start, bill.period_end, bill.status.value,  # type: ignore[attr-defined]
            bill.is_estimated, bill.is_final, bill.estimate_basis, bill.currency,
            bill.consumption_wh, bill.max_demand_w, bill.charges_paise, bill.rounding_paise,
            bill.total_paise, bill.arrears_paise, bill.payable_paise, bill.tariff_version_id,  # type: ignore[attr-defined]
        ),
        "snapshot": bill.snapshot,
        "lines": [
            (ln.position, ln.component, ln.code, ln.description, ln.quantity, ln.unit, ln.rate,
             ln.amount_paise, ln.tou_period)
            for ln in lines
        ],
        "reads": [
            (r.register_id, r.opening_read_id, r.closing_read_id, r.opening_milli,  # type: ignore[attr-defined]
             r.closing_milli, r.multiplier, r.consumption_wh, r.is_estimated)
            for r in reads
        ],
    }  # fmt: skip


def expected(d: Draft) -> dict[str, Any]:
    return {
        "bill": (
            d.customer_id, d.period_start, d.period_end, "draft", d.is_estimated, d.is_final,
            d.estimate_basis, d.currency, d.consumption_wh, d.max_demand_w, d.charges_paise,
            d.rounding_paise, d.total_paise, d.arrears_paise, d.total_paise + d.arrears_paise,
            d.tariff_version_id,
        ),
        "snapshot": d.snapshot,
        "lines": [
            (n, ln.component, ln.code, ln.description, ln.quantity, ln.unit, ln.rate,
             ln.amount_paise, ln.tou_period or "")
            for n, ln in enumerate(d.lines, start=1)
        ],
        "reads": sorted(
            (r.register_id, r.opening_read_id, r.closing_read_id, r.opening_milli,
             r.closing_milli, r.multiplier, r.consumption_wh, r.is_estimated)
            for r in d.reads
        ),
    }  # fmt: skip


async def test_chunked_run_stores_what_one_account_alone_drafts(db: TortoiseContext) -> None:
    rng = random.Random()
    seed = rng.randrange(1, 99)
    await load_synthetic(accounts=ACCOUNTS, period=PERIOD, zone=ZONE, seed=seed)
    ids = sorted(await Account.all().values_list("id", flat=True))  # type: ignore[type-var]
    # Every tenth account is commercial (TOU and demand): make sure some are picked.
    picked = sorted({*rng.sample(ids, SAMPLE), ids[0], ids[10]})
    alone = {account_id: expected(await draft_alone(account_id)) for account_id in picked}

    summary = await run_bill_run(cycle_code="SYN-01", period=PERIOD, zone=ZONE, chunk_size=7)

    assert (summary.bills, summary.skipped) == (ACCOUNTS, {}), f"seed {seed}"
    for account_id in picked:
        assert await stored(account_id) == alone[account_id], f"seed {seed}, account {account_id}"
