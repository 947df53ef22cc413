"""Issuing a bill run's reviewed drafts: numbers, dates, arrears, late fees, the ledger.

Issue (draft → issued) goes a chunk of bills per transaction: each gets the next number
of the gapless ``bill`` series of its financial year (:mod:`services.numbering`, inside
the transaction, so a rollback gives the numbers back), its issue and due dates, its
arrears (the ledger balance carried in) and the late payment surcharge on the previous
bill (``domain.ledger``), and posts to the ledger (``bill:<id>``, ``late_fee:<previous
bill id>``), and claims the subsidy lines from the government
(:mod:`services.billing.subsidies`). Its snapshot is completed with what the bill document shows
(:mod:`services.billing.snapshot`). Rows are locked in id order on PostgreSQL; SQLite's
single writer serialises issuers. Cancelling, rebilling and move-out final bills are
:mod:`services.billing.corrections`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

from tortoise.transactions import in_transaction

from domain.bill_draft import TOTAL_OBIS
from domain.billing import BillingMonth, PeriodError, due_date, prompt_rebate
from domain.enums import BillRunStatus, BillStatus, LedgerKind, PaymentStatus
from domain.ledger import credits_after, late_fee, overdue_at
from services import audit
from services.accounts.ledger import (
    Posting,
    balances,
    bill_key,
    entries_since,
    existing_keys,
    late_fee_key,
    post,
)
from services.billing import snapshot, subsidies
from services.billing.inputs import HISTORY_DAYS, load_tariff_book
from services.errors import Refused
from services.events import publish_each
from services.notifications.outbox import notify_bills_issued
from services.numbering import take
from services.payments.rebates import credit_earned
from services.payments.settlement import apply_account_credit, lock_account
from services.viewer import Viewer
from store.models import Bill, BillRun, PaymentAllocation
from store.sql import Sql, as_date, as_json

ISSUE_CHUNK = 500


class BillingError(Refused):
    """A bill operation that cannot be done; the message says why."""

    def __init__(self, message: str, *, code: str = "INVALID_STATE", field: str | None = None):
        super().__init__(code, message, field=field)


@dataclass
class IssueResult:
    issued: list[int] = field(default_factory=list)
    numbers: list[str] = field(default_factory=list)
    payable_paise: int = 0


async def draft_ids(*, cycle_code: str, period: str) -> list[int]:
    """The draft bills of a cycle's runs for a billing month, in id order."""
    month = BillingMonth.parse(period)
    ids = (
        await Bill.filter(
            bill_run__cycle__code=cycle_code,
            bill_run__period_start=month.first,
            status=BillStatus.DRAFT,
        )
        .order_by("id")
        .values_list("id", flat=True)
    )  # ids only: a cycle's drafts hold MBs of snapshots
    return cast(list[int], ids)


async def issue_bills(
    actor: Viewer,
    bill_ids: Sequence[int],
    *,
    issue_date: date,
    utility_name: str,
    payee_vpa: str,
    letterhead: Mapping[str, str] | None = None,
    chunk_size: int = ISSUE_CHUNK,
    progress: Callable[[int], object] | None = None,
) -> IssueResult:
    """Issue the given draft bills (others are left alone), a chunk per transaction.

    ``letterhead`` (``Settings.letterhead``: the utility's address, helpline and GSTIN) is
    frozen into each bill's document with the utility's name.

    Each chunk commits its bills with their audit row (``bills.issued``, naming the
    actor: a person, ``cli:<user>`` or ``job:<task>``) and their notifications (bill
    issued, estimated, surcharge, high usage), and is announced (``bill.issued``) once it
    commits, so subscribers and the API's per-customer answer cache hear of bills issued
    from any door.
    """
    result = IssueResult()
    ordered = sorted(set(bill_ids))
    for start in range(0, len(ordered), chunk_size):
        chunk = ordered[start : start + chunk_size]
        async with in_transaction() as connection:
            issued = await _issue_chunk(
                Sql(connection), chunk, issue_date, utility_name, payee_vpa, letterhead or {}
            )
            ids = [bill_id for bill_id, _, _ in issued]
            await _apply_held_credit(ids)
            await notify_bills_issued(ids)
            if ids:
                await audit.record(
                    viewer=actor, action="bills.issued", entity="bill", entity_id=ids[0],
                    after={"bills": ids, "numbers": [n for _, n, _ in issued],
                           "issue_date": issue_date},
                )  # fmt: skip
        await announce_bills("bill.issued", [bill_id for bill_id, _, _ in issued])
        for bill_id, number, payable in issued:
            result.issued.append(bill_id)
            result.numbers.append(number)
            result.payable_paise += payable
        if progress is not None:
            progress(len(chunk))
    return result


async def issuable_run(*, cycle_code: str, period: str) -> BillRun:
    """The run whose drafts may be issued: the latest of the cycle and month, completed.

    Drafts of a run that is still running (or failed half way) are not all there yet:
    issuing them would bill part of a cycle and leave the rest for later by accident.
    """
    try:
        month = BillingMonth.parse(period)
    except PeriodError as exc:
        raise BillingError(str(exc), code="INVALID_INPUT", field="period") from None
    run = (
        await BillRun.filter(cycle__code=cycle_code, period_start=month.first)
        .order_by("-id")
        .first()
    )
    if run is None:
        raise BillingError(
            f"cycle {cycle_code} has no bill run for {period}", code="NOT_FOUND", field="period"
        )
    if run.status != BillRunStatus.COMPLETED:
        raise BillingError(f"the run is {run.status.value}: issue it once it completes")
    return run


async def issue_run(
    actor: Viewer,
    *,
    cycle_code: str,
    period: str,
    issue_date: date,
    utility_name: str,
    payee_vpa: str,
    letterhead: Mapping[str, str] | None = None,
    chunk_size: int = ISSUE_CHUNK,
    progress: Callable[[int], object] | None = None,
    on_total: Callable[[int], object] | None = None,
) -> IssueResult:
    """Issue every reviewed draft of a completed run (refused otherwise)."""
    await issuable_run(cycle_code=cycle_code, period=period)
    ids = await draft_ids(cycle_code=cycle_code, period=period)
    if on_total is not None:
        on_total(len(ids))
    return await issue_bills(
        actor, ids, issue_date=issue_date, utility_name=utility_name, payee_vpa=payee_vpa,
        letterhead=letterhead, chunk_size=chunk_size, progress=progress,
    )  # fmt: skip


async def announce_bills(name: str, bill_ids: list[int]) -> None:
    """Publish one event per bill to its customer; call after the change committed."""
    rows = (
        await Bill.filter(id__in=bill_ids)
        .order_by("id")
        .values("id", "customer_id", "account_id", "status")
    )
    await publish_each(
        name,
        [
            {"customer_id": row["customer_id"], "bill_id": row["id"],
             "account_id": row["account_id"], "status": str(row["status"])}
            for row in rows
        ],
    )  # fmt: skip


async def _apply_held_credit(bill_ids: Sequence[int]) -> None:
    """Settle newly issued bills from credit their accounts hold (earlier overpayments).

    Runs in the issuing transaction, so a bill is never seen issued and unpaid while its
    account holds money that should have paid it. Only accounts with unallocated credit
    rows are touched, and they are locked in id order like every other money change.
    """
    if not bill_ids:
        return
    accounts = set(await Bill.filter(id__in=bill_ids).values_list("account_id", flat=True))
    holding: list[int] = await PaymentAllocation.filter(
        payment__account_id__in=accounts,
        payment__status=PaymentStatus.CAPTURED,
        bill_id__isnull=True,
    ).values_list("payment__account_id", flat=True)  # type: ignore[assignment]
    for account_id in sorted(set(holding)):
        await lock_account(account_id)
        await apply_account_credit(account_id)


async def _lock_drafts(sql: Sql, ids: Sequence[int]) -> None:
    if sql.postgres:
        await sql.rows(
            f"SELECT id FROM bills WHERE id IN ({sql.marks(len(ids))}) ORDER BY id FOR UPDATE",  # noqa: S608
            list(ids),
        )
    else:  # take SQLite's write lock before reading, so what we read stays true
        await sql.execute(
            f"UPDATE bills SET updated_at = updated_at WHERE id IN ({sql.marks(len(ids))})",  # noqa: S608
            list(ids),
        )


ISSUE_QUERY = """
SELECT b.id, b.account_id, b.customer_id, b.period_start, b.period_end, b.total_paise,
       b.charges_paise, b.rounding_paise, b.is_estimated, b.is_final, b.estimate_basis,
       b.consumption_wh, b.max_demand_w, b.tariff_version_id, b.snapshot, b.currency,
       a.number AS account_number, a.category, a.sanctioned_load_w, c.due_days,
       cu.number AS customer_number, cu.name AS customer_name, cu.language,
       p.address_line1, p.address_line2, p.locality, p.city, p.state, p.postal_code,
       t.holiday_calendar
FROM bills b
JOIN accounts a ON a.id = b.account_id
JOIN billing_cycles c ON c.id = a.billing_cycle_id
JOIN customers cu ON cu.id = b.customer_id
JOIN service_points sp ON sp.id = a.service_point_id
JOIN premises p ON p.id = sp.premise_id
LEFT JOIN tariff_versions v ON v.id = b.tariff_version_id
LEFT JOIN tariffs t ON t.id = v.tariff_id
WHERE b.id IN ({marks}) AND b.status = 'draft'
ORDER BY b.id
"""


async def _issue_chunk(
    sql: Sql,
    ids: Sequence[int],
    issue_date: date,
    utility_name: str,
    payee_vpa: str,
    letterhead: Mapping[str, str],
) -> list[tuple[int, str, int]]:
    await _lock_drafts(sql, ids)
    bills = await sql.rows(ISSUE_QUERY.format(marks=sql.marks(len(ids))), list(ids))
    if not bills:
        return []
    book = await load_tariff_book(sql)
    account_ids = sorted({b["account_id"] for b in bills})
    previous = await _previous_bills(sql, account_ids)
    totals = await balances(sql, account_ids)
    dues = [as_date(p["due_date"]) for p in previous.values() if p["due_date"] is not None]
    since = min([*dues, issue_date - timedelta(days=HISTORY_DAYS)])
    recent = await entries_since(sql, account_ids, since)
    charged = await existing_keys(sql, [late_fee_key(p["id"]) for p in previous.values()])
    sources = await snapshot.load(sql, ids, account_ids, issue_date)
    numbers = await take("bill", issue_date, len(bills), sql=sql)
    issued: list[tuple[int, str, int]] = []
    updates: list[list[Any]] = []
    postings: list[Posting] = []
    issued_lines: list[subsidies.IssuedBill] = []
    in_credit: set[int] = set()
    now = datetime.now(UTC)
    for number, b in zip(numbers, bills, strict=True):
        account = b["account_id"]
        prev = previous.get(account)
        arrears = totals.get(account, 0)
        fee, overdue = 0, 0
        rule_version = book.by_id.get(prev["tariff_version_id"]) if prev else None
        rule = rule_version.tariff.late_payment if rule_version else None
        if prev and rule and prev["due_date"] and late_fee_key(prev["id"]) not in charged:
            due = as_date(prev["due_date"])
            overdue = overdue_at(arrears, recent[account], prev["payable_paise"], due)
            credits = credits_after(recent[account], due, issue_date)
            fee = late_fee(rule, overdue, due, credits, issue_date)
        holidays = book.holidays.get(b["holiday_calendar"] or "default", frozenset())
        due_on = due_date(issue_date, b["due_days"], holidays)
        payable = b["total_paise"] + arrears + fee
        version = book.by_id.get(b["tariff_version_id"])
        prompt = version.tariff.prompt_payment if version else None
        rebate = prompt_rebate(prompt, sources.lines[b["id"]]) if prompt else 0
        charges = snapshot.Charges(arrears, fee, overdue, payable, rebate, prompt)
        if rebate and payable <= 0:
            in_credit.add(account)
        frozen = as_json(b["snapshot"]) or {}
        frozen["document"] = snapshot.document(
            b, sources, charges, number=number, issue_date=issue_date, due_on=due_on,
            previous=prev, recent=recent[account], utility_name=utility_name, payee_vpa=payee_vpa,
            letterhead=letterhead, proration=version.tariff.proration if version else None,
        )  # fmt: skip
        updates.append(
            [
                number, sql.day(issue_date), sql.day(due_on), arrears, fee, payable, sql.ts(now),
                sql.json(frozen), sql.ts(now), b["id"],
            ]
        )  # fmt: skip
        postings.append(
            Posting(account, LedgerKind.BILL, b["total_paise"], issue_date, bill_key(b["id"]),
                    f"Bill {number}", bill_id=b["id"])
        )  # fmt: skip
        if fee:
            postings.append(
                Posting(account, LedgerKind.LATE_FEE, fee, issue_date, late_fee_key(prev["id"]),  # type: ignore[index]
                        f"Late payment surcharge on bill {prev['number']}", bill_id=b["id"])  # type: ignore[index]
            )  # fmt: skip
        issued.append((b["id"], number, payable))
        issued_lines.append(
            subsidies.IssuedBill(b["id"], number, issue_date, sources.lines[b["id"]])
        )
    await sql.many(
        "UPDATE bills SET number = ?, status = 'issued', issue_date = ?, due_date = ?, "
        "arrears_paise = ?, late_fee_paise = ?, payable_paise = ?, issued_at = ?, snapshot = ?, "
        "updated_at = ? WHERE id = ? AND status = 'draft'",
        updates,
    )
    await post(sql, postings)
    for account in sorted(in_credit):  # settled from credit on the bill date: rebate earned
        await lock_account(account)
        await credit_earned(account, on=issue_date, reference="account-credit")
    await subsidies.claim(sql, issued_lines)
    await mark_billed(sql, [bill_id for bill_id, _, _ in issued], bills)
    return issued


async def mark_billed(sql: Sql, bill_ids: Sequence[int], bills: Sequence[dict[str, Any]]) -> None:
    """Protect what issued bills stand on, in the issuing transaction.

    The register reads each bill used (opening and closing) become ``billed``, so
    deliveries, devices and staff refuse to change them; an interval-priced bill also
    records the span of interval readings it priced (``billed_spans``).
    """
    if not bill_ids:
        return
    marks = sql.marks(len(bill_ids))
    await sql.execute(
        f"UPDATE register_reads SET billed = ? WHERE id IN ("  # noqa: S608
        f"SELECT opening_read_id FROM bill_reads WHERE bill_id IN ({marks}) "
        f"UNION SELECT closing_read_id FROM bill_reads WHERE bill_id IN ({marks}))",
        [sql.flag(True), *bill_ids, *bill_ids],
    )
    priced = [
        b["id"]
        for b in bills
        if b["id"] in set(bill_ids)
        and ((as_json(b["snapshot"]) or {}).get("usage") or {}).get("source") == "intervals"
    ]
    if priced:
        await sql.execute(
            "INSERT INTO billed_spans (bill_id, register_id, starts_at, ends_at) "  # noqa: S608
            "SELECT br.bill_id, br.register_id, o.read_at, c.read_at FROM bill_reads br "
            "JOIN register_reads o ON o.id = br.opening_read_id "
            "JOIN register_reads c ON c.id = br.closing_read_id "
            "JOIN registers g ON g.id = br.register_id "
            f"WHERE br.bill_id IN ({sql.marks(len(priced))}) AND g.obis_code = ?",
            [*priced, TOTAL_OBIS],
        )


async def release_billed(sql: Sql, bill_id: int) -> None:
    """Undo :func:`mark_billed` for a cancelled bill: its reads stay billed only where
    another issued bill still stands on them."""
    await sql.execute("DELETE FROM billed_spans WHERE bill_id = ?", [bill_id])
    await sql.execute(
        "UPDATE register_reads SET billed = ? WHERE id IN ("
        "SELECT opening_read_id FROM bill_reads WHERE bill_id = ? "
        "UNION SELECT closing_read_id FROM bill_reads WHERE bill_id = ?) "
        "AND NOT EXISTS (SELECT 1 FROM bill_reads br JOIN bills b ON b.id = br.bill_id "
        "WHERE b.status = 'issued' AND b.id != ? AND "
        "(br.opening_read_id = register_reads.id OR br.closing_read_id = register_reads.id))",
        [sql.flag(False), bill_id, bill_id, bill_id],
    )


async def _previous_bills(sql: Sql, account_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Each account's latest issued, active bill."""
    found: dict[int, dict[str, Any]] = {}
    for r in await sql.rows(
        "SELECT id, account_id, number, payable_paise, issue_date, due_date, tariff_version_id "  # noqa: S608
        f"FROM bills WHERE account_id IN ({sql.marks(len(account_ids))}) AND status = 'issued' "
        "AND active_period IS NOT NULL ORDER BY account_id, period_start DESC, id DESC",
        list(account_ids),
    ):
        found.setdefault(r["account_id"], r)
    return found
