"""Bill runs: every eligible account of a billing cycle gets one draft bill for a month.

A run streams the cycle's active accounts in id order, a chunk at a time (keyset on
``id > last_account_id``), reads everything a chunk needs in a few queries
(:mod:`services.billing.inputs`), drafts each account's bill in pure Python
(:mod:`domain.bill_draft`) and writes the chunk in **one transaction**: the bills
with ``INSERT … ON CONFLICT (account_id, active_period) DO NOTHING``, their lines and
reads, and the run's progress (counters and ``last_account_id``).

* **Idempotent and concurrency-safe.** The unique (account, active_period) constraint
  decides: a bill another run (or another process) already made is not inserted again,
  and the account counts as skipped, "already billed". Two runs of one cycle started at
  once never give an account two active bills.
* **Resumable.** Progress commits with the chunk's bills, so a run killed at any moment
  resumes (run again with the same cycle and period) from the last committed chunk, and
  every account is billed exactly once.
* **Flat memory.** One chunk of accounts (and of their reads and intervals) is held at a
  time (three on PostgreSQL: one read, one drafted, one written), and the quote cache
  is bounded.
* **Overlapped on PostgreSQL.** Writing a chunk is mostly the server's work and drafting
  the next one is ours, so on PostgreSQL a chunk is written (bills, lines and reads as
  column arrays, :meth:`store.sql.Sql.insert_columns`) while the next is drafted and the
  one after it read. Writes stay one at a time and in order, so progress still commits
  chunk by chunk.
"""

from __future__ import annotations

import asyncio
import logging
import time as clock
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from tortoise.connection import get_connection
from tortoise.transactions import in_transaction

from domain.bill_draft import Context, Draft, Plan, QuoteCache, Skip, draft, plan
from domain.bill_inputs import AccountInputs, TariffBook
from domain.billing import BillingMonth, PeriodError, run_in_progress
from domain.enums import BillRunStatus
from services import audit
from services.billing import calendar
from services.billing.cycles import cycle_by_code
from services.billing.inputs import (
    HISTORY_DAYS,
    load_accounts,
    load_chunk,
    load_intervals,
    load_tariff_book,
    local_midnight,
    lookback,
)
from services.errors import Refused
from services.viewer import Viewer
from store.models import BillingCycle, BillRun
from store.sql import Sql

log = logging.getLogger(__name__)

DEFAULT_CHUNK = 500
YIELD_EVERY = 50  # accounts drafted between turns of the event loop
ERROR_TEXT_MAX = 500

# (column, PostgreSQL type): what :meth:`store.sql.Sql.insert_columns` sends as arrays.
BILL_COLUMNS = (
    ("account_id", "int8"), ("customer_id", "int8"), ("bill_run_id", "int8"),
    ("period_start", "date"), ("period_end", "date"), ("active_period", "date"),
    ("status", "text"), ("is_estimated", "bool"), ("is_final", "bool"),
    ("estimate_basis", "text"), ("currency", "text"), ("consumption_wh", "int8"),
    ("max_demand_w", "int8"), ("charges_paise", "int8"), ("rounding_paise", "int8"),
    ("total_paise", "int8"), ("arrears_paise", "int8"), ("late_fee_paise", "int8"),
    ("payable_paise", "int8"), ("paid_paise", "int8"), ("tariff_version_id", "int8"),
    ("snapshot", "jsonb"), ("replaces_id", "int8"), ("cancel_reason", "text"),
    ("pdf_path", "text"), ("pdf_sha256", "text"), ("created_at", "timestamptz"),
    ("updated_at", "timestamptz"),
)  # fmt: skip
LINE_COLUMNS = (
    ("bill_id", "int8"), ("position", "int8"), ("component", "text"), ("code", "text"),
    ("description", "text"), ("quantity", "text"), ("unit", "text"), ("rate", "text"),
    ("amount_paise", "int8"), ("tou_period", "text"),
)  # fmt: skip
READ_COLUMNS = (
    ("bill_id", "int8"), ("register_id", "int8"), ("opening_read_id", "int8"),
    ("closing_read_id", "int8"), ("opening_milli", "int8"), ("closing_milli", "int8"),
    ("multiplier", "text"), ("consumption_wh", "int8"), ("is_estimated", "bool"),
)  # fmt: skip


class BillRunError(Refused):
    """A bill run that cannot start: a bad period (an unknown cycle is ``UNKNOWN_CYCLE``)."""

    def __init__(self, message: str) -> None:
        super().__init__("INVALID_INPUT", message)


@dataclass
class RunSummary:
    run_id: int
    cycle: str
    period: str
    status: str
    accounts: int = 0
    bills: int = 0
    estimated: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    total_billed_paise: int = 0
    elapsed_s: float = 0.0
    resumed_from: int = 0

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    def as_dict(self) -> dict[str, object]:
        return {
            "run_id": self.run_id,
            "cycle": self.cycle,
            "period": self.period,
            "status": self.status,
            "accounts": self.accounts,
            "bills": self.bills,
            "estimated": self.estimated,
            "skipped": dict(self.skipped),
            "total_billed_paise": self.total_billed_paise,
            "elapsed_s": round(self.elapsed_s, 3),
        }


@dataclass
class ChunkResult:
    drafts: list[Draft]
    skipped: Counter[str]
    last_account_id: int


Progress = Callable[[int], object]


async def prepare_run(
    *, cycle_code: str, period: str, started_by_id: int | None = None
) -> tuple[BillRun, BillingCycle, BillingMonth]:
    """The run to execute: an unfinished one of this cycle and month, else a new one."""
    try:
        month = BillingMonth.parse(period)
    except PeriodError as exc:
        raise BillRunError(str(exc)) from None
    cycle = await cycle_by_code(cycle_code)
    run = (
        await BillRun.filter(
            cycle=cycle,
            period_start=month.first,
            status__in=[BillRunStatus.PENDING, BillRunStatus.RUNNING, BillRunStatus.FAILED],
        )
        .order_by("-id")
        .first()
    )
    if run is None:
        run = await BillRun.create(
            cycle=cycle,
            period_start=month.first,
            period_end=month.last,
            status=BillRunStatus.PENDING,
            started_by_id=started_by_id,
        )
    return run, cycle, month


async def execute_run(
    run: BillRun,
    cycle: BillingCycle,
    month: BillingMonth,
    *,
    zone: ZoneInfo,
    chunk_size: int = DEFAULT_CHUNK,
    progress: Progress | None = None,
    on_total: Callable[[int], object] | None = None,
) -> RunSummary:
    """Bill the cycle's accounts after ``run.last_account_id``; returns the whole run's summary."""
    started = clock.perf_counter()
    sql = Sql(get_connection("default"))
    ctx = Context(month, await calendar.read_day(cycle, month), zone)
    resumed_from = run.last_account_id
    now = datetime.now(UTC)
    await BillRun.filter(id=run.id).update(
        status=BillRunStatus.RUNNING, started_at=run.started_at or now, error="", updated_at=now
    )
    total = await _count(sql, cycle.id, month)
    await BillRun.filter(id=run.id).update(accounts_total=total)
    if on_total is not None:
        done = await _count(sql, cycle.id, month, up_to=resumed_from)
        on_total(total - done)
    book = await load_tariff_book(sql)
    cache = QuoteCache()
    window_end = local_midnight(ctx.window[1] + timedelta(days=1), zone)

    def read_after(after_id: int) -> asyncio.Task[list[AccountInputs]]:
        return asyncio.create_task(
            _read_chunk(sql, cycle.id, after_id, chunk_size, ctx, window_end)
        )

    # PostgreSQL pipelines the chunks: while chunk N is drafted (our CPU), chunk N+1 is
    # read and chunk N-1 written (the server's work). Writes stay one at a time and in
    # order, so progress still commits chunk by chunk. SQLite is one connection: one
    # step at a time.
    overlap = sql.postgres
    reading = read_after(resumed_from)
    writing: tuple[asyncio.Task[None], int] | None = None
    try:
        while True:
            accounts = await reading
            if not accounts:
                break
            if overlap:
                reading = read_after(accounts[-1].id)
            result = await draft_accounts(sql, accounts, ctx, book, cache)
            if writing is not None:
                await _written(writing, progress)
            writing = (asyncio.create_task(_write_chunk(run.id, result)), len(accounts))
            if not overlap:
                await _written(writing, progress)
                writing = None
                reading = read_after(accounts[-1].id)
        if writing is not None:
            await _written(writing, progress)
    except BaseException as exc:
        reading.cancel()
        # A chunk's write commits or rolls back whole: let it end before saying failed.
        await asyncio.wait([reading, *([writing[0]] if writing else [])])
        if not reading.cancelled():
            reading.exception()  # retrieved: the run fails with the first error only
        await BillRun.filter(id=run.id).update(
            status=BillRunStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:ERROR_TEXT_MAX]
        )
        raise
    await BillRun.filter(id=run.id).update(
        status=BillRunStatus.COMPLETED, finished_at=datetime.now(UTC)
    )
    summary = await summarise(run.id)
    summary.elapsed_s = clock.perf_counter() - started
    summary.resumed_from = resumed_from
    return summary


async def _written(writing: tuple[asyncio.Task[None], int], progress: Progress | None) -> None:
    """Wait for a chunk's write to commit, then count its accounts as done."""
    task, accounts = writing
    await task
    if progress is not None:
        progress(accounts)


async def start_run(
    actor: Viewer, *, cycle_code: str, period: str, take_over: bool = False
) -> tuple[BillRun, BillingCycle, BillingMonth]:
    """Start (or resume) a cycle's run for a month, as any door starts it, with its audit row.

    Refused while the same run is in progress elsewhere (``domain.billing.run_in_progress``),
    unless the operator takes it over (``gridbill bill-run --resume``) because its process
    died: runs are safe to work on from several processes at once, so a mistaken take-over
    costs nothing but a second worker. The caller then drafts it: a job on the API's behalf,
    the command in its own process.
    """
    async with in_transaction():
        run, cycle, month = await prepare_run(
            cycle_code=cycle_code.strip(), period=period.strip(), started_by_id=actor.user_id
        )
        running = run_in_progress(run.status.value, run.updated_at, datetime.now(UTC))
        if running and not take_over:
            raise Refused("INVALID_STATE", f"bill run #{run.id} of this cycle and month is running")
        await audit.record(
            viewer=actor, action="bill_run.taken_over" if running else "bill_run.started",
            entity="bill_run", entity_id=run.id, after={"cycle": cycle.code, "period": str(month)},
        )  # fmt: skip
    return run, cycle, month


async def run_bill_run(
    *,
    cycle_code: str,
    period: str,
    zone: ZoneInfo,
    chunk_size: int = DEFAULT_CHUNK,
    progress: Progress | None = None,
    on_total: Callable[[int], object] | None = None,
    started_by_id: int | None = None,
) -> RunSummary:
    """Start (or resume) the run of ``cycle_code`` for ``period`` (YYYY-MM) and finish it."""
    run, cycle, month = await prepare_run(
        cycle_code=cycle_code, period=period, started_by_id=started_by_id
    )
    return await execute_run(
        run, cycle, month, zone=zone, chunk_size=chunk_size, progress=progress, on_total=on_total
    )


async def summarise(run_id: int) -> RunSummary:
    run = await BillRun.get(id=run_id).prefetch_related("cycle")
    return RunSummary(
        run_id=run.id,
        cycle=run.cycle.code,
        period=f"{run.period_start:%Y-%m}",
        status=run.status.value,
        accounts=run.accounts_total,
        bills=run.bills_created,
        estimated=run.bills_estimated,
        skipped=dict(run.skip_reasons),
        total_billed_paise=run.total_billed_paise,
    )


async def _count(sql: Sql, cycle_id: int, month: BillingMonth, up_to: int | None = None) -> int:
    query = (
        "SELECT COUNT(*) AS n FROM accounts WHERE billing_cycle_id = ? AND status = 'active' "
        "AND connected_on <= ?"
    )
    params: list[object] = [cycle_id, sql.day(month.last)]
    if up_to is not None:
        query += " AND id <= ?"
        params.append(up_to)
    rows = await sql.rows(query, params)
    return int(rows[0]["n"])


async def _read_chunk(
    sql: Sql,
    cycle_id: int,
    after_id: int,
    limit: int,
    ctx: Context,
    window_end: datetime,
) -> list[AccountInputs]:
    """The cycle's next chunk of accounts after ``after_id``, with all their bills need."""
    accounts = await load_accounts(
        sql, cycle_id=cycle_id, after_id=after_id, limit=limit, period_last=ctx.month.last
    )
    await load_chunk(
        sql,
        accounts,
        window_end=window_end,
        history_from=ctx.scheduled - timedelta(days=HISTORY_DAYS),
        lookback_from=lookback(ctx.scheduled, ctx.zone),
        zone=ctx.zone,
    )
    return accounts


async def draft_accounts(
    sql: Sql,
    accounts: list[AccountInputs],
    ctx: Context,
    book: TariffBook,
    cache: QuoteCache,
    plans: dict[int, Plan | Skip] | None = None,
) -> ChunkResult:
    """Plan, load interval data where it prices a bill, and draft each account."""
    skipped: Counter[str] = Counter()
    plans = plans if plans is not None else {a.id: plan(a, ctx) for a in accounts}
    spans = {
        p.interval_register.id: (p.opening_at, p.closing.read_at)
        for p in plans.values()
        if isinstance(p, Plan)
        and p.interval_register is not None
        and p.opening_at is not None
        and p.closing is not None
    }
    intervals = await load_intervals(sql, spans)
    drafts: list[Draft] = []
    for n, account in enumerate(accounts, start=1):
        if n % YIELD_EVERY == 0:
            await asyncio.sleep(0)  # let the chunks being read and written send their next query
        planned = plans[account.id]
        if isinstance(planned, Skip):
            skipped[planned.reason] += 1
            continue
        reg = planned.interval_register
        made = draft(planned, ctx, book, cache, intervals.get(reg.id) if reg else None)
        if isinstance(made, Skip):
            skipped[made.reason] += 1
            log.info("account %s not billed: %s (%s)", account.number, made.reason, made.detail)
        else:
            drafts.append(made)
    return ChunkResult(drafts, skipped, accounts[-1].id if accounts else 0)


async def insert_drafts(
    sql: Sql, drafts: list[Draft], run_id: int | None, replaces: dict[int, int] | None = None
) -> tuple[list[Draft], list[int]]:
    """Insert the drafts; those whose (account, period) already has a bill are left out.

    Returns the drafts inserted and their new bill ids.
    """
    if not drafts:
        return [], []
    now = sql.ts(datetime.now(UTC))
    replaces = replaces or {}
    rows = [
        (
            d.account_id, d.customer_id, run_id, sql.day(d.period_start), sql.day(d.period_end),
            sql.day(d.period_start), "draft", sql.flag(d.is_estimated), sql.flag(d.is_final),
            d.estimate_basis[:40], d.currency, d.consumption_wh, d.max_demand_w, d.charges_paise,
            d.rounding_paise, d.total_paise, d.arrears_paise, 0, d.total_paise + d.arrears_paise,
            0, d.tariff_version_id, sql.json(d.snapshot), replaces.get(d.account_id), "", "", "",
            now, now,
        )
        for d in drafts
    ]  # fmt: skip
    returned = await sql.insert_columns(
        "bills",
        BILL_COLUMNS,
        rows,
        suffix="ON CONFLICT (account_id, active_period) DO NOTHING",
        returning="id, account_id, period_start",
    )
    ids = {(r["account_id"], str(r["period_start"])[:10]): r["id"] for r in returned}
    inserted: list[Draft] = []
    bill_ids: list[int] = []
    lines: list[tuple[object, ...]] = []
    reads: list[tuple[object, ...]] = []
    for d in drafts:
        bill_id = ids.get((d.account_id, d.period_start.isoformat()))
        if bill_id is None:
            continue
        inserted.append(d)
        bill_ids.append(bill_id)
        for position, line in enumerate(d.lines, start=1):
            lines.append(
                (
                    bill_id, position, line.component, line.code[:60], line.description[:200],
                    line.quantity, line.unit[:12], line.rate, line.amount_paise,
                    line.tou_period,
                )
            )  # fmt: skip
        for r in d.reads:
            reads.append(
                (
                    bill_id, r.register_id, r.opening_read_id, r.closing_read_id, r.opening_milli,
                    r.closing_milli, r.multiplier, r.consumption_wh, sql.flag(r.is_estimated),
                )
            )  # fmt: skip
    await sql.insert_columns("bill_lines", LINE_COLUMNS, lines)
    await sql.insert_columns("bill_reads", READ_COLUMNS, reads)
    return inserted, bill_ids


async def _write_chunk(run_id: int, result: ChunkResult) -> None:
    async with in_transaction() as connection:
        sql = Sql(connection)
        inserted, _ = await insert_drafts(sql, result.drafts, run_id)
        skipped = result.skipped
        lost = len(result.drafts) - len(inserted)
        if lost:
            skipped["already billed"] += lost
        run = await BillRun.select_for_update().using_db(connection).get(id=run_id)
        reasons = Counter(run.skip_reasons)
        reasons.update(skipped)
        await sql.execute(
            "UPDATE bill_runs SET bills_created = bills_created + ?, "
            "bills_estimated = bills_estimated + ?, accounts_skipped = accounts_skipped + ?, "
            "total_billed_paise = total_billed_paise + ?, skip_reasons = ?, "
            "last_account_id = CASE WHEN last_account_id > ? THEN last_account_id ELSE ? END, "
            "updated_at = ? WHERE id = ?",
            [
                len(inserted),
                sum(1 for d in inserted if d.is_estimated),
                sum(skipped.values()),
                sum(d.total_paise for d in inserted),
                sql.json(dict(reasons)),
                result.last_account_id,
                result.last_account_id,
                sql.ts(datetime.now(UTC)),
                run_id,
            ],
        )


async def draft_due_runs(actor: Viewer, today: date, zone: ZoneInfo) -> list[RunSummary]:
    """Draft every run the billing calendar says is due today (the daily scheduled task).

    Idempotent: a run that exists is left alone whoever started it, and one another
    scheduler started a moment ago is refused by :func:`start_run` and skipped.
    """
    summaries = []
    for cycle, month in await calendar.due_runs(today):
        try:
            run, cycle, month = await start_run(actor, cycle_code=cycle.code, period=str(month))
        except Refused as exc:
            if exc.code == "INVALID_STATE":
                continue
            raise
        summaries.append(await execute_run(run, cycle, month, zone=zone))
    return summaries
