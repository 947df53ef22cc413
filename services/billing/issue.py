"""A bill's life after the run: staff review, issue, cancel and rebill, move-out final bills.

* **Issue** (draft → issued), a chunk of bills per transaction: each gets the next number
  of the gapless ``bill`` series of its financial year (``document_sequences``, counted up
  with ``UPDATE … RETURNING`` inside the transaction, so a rollback gives the numbers
  back), its issue and due dates, its arrears (the ledger balance carried in) and the
  late payment surcharge on the previous bill, and posts to the ledger (``bill:<id>``,
  ``late_fee:<previous bill id>``). The snapshot is completed with everything the bill
  document shows, and never changes after. Rows are locked in id order on PostgreSQL;
  SQLite's single writer serialises issuers.
* **Cancel**: an issued bill gets a numbered credit note (``credit_note`` series, an
  ``Adjustment`` and a ledger credit ``credit_note:<bill id>``); a draft is just set aside.
  Either way ``active_period`` becomes NULL, so the history stays and a rebill fits.
* **Rebill**: cancel and draft again for the same period, in one transaction, the new
  bill pointing at the one it replaces.
* **Final bill** at move-out: from the last bill's closing read to the move-out read.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from domain.billing import (
    BillingMonth,
    BillLineData,
    PeriodError,
    document_number,
    due_date,
    financial_year,
    prompt_rebate,
    upi_link,
)
from domain.enums import AdjustmentKind, BillRunStatus, BillStatus, LedgerKind, PaymentStatus
from domain.ledger import credits_after, late_fee, overdue_at
from services import audit
from services.accounts.ledger import (
    Posting,
    balances,
    bill_key,
    credit_note_key,
    entries_since,
    existing_keys,
    late_fee_key,
    post,
)
from services.billing import calendar
from services.billing.drafts import TOTAL_OBIS, Context, Draft, QuoteCache, Skip, draft, plan
from services.billing.inputs import (
    HISTORY_DAYS,
    Read,
    TariffBook,
    load_accounts,
    load_chunk,
    load_intervals,
    local_midnight,
    lookback,
    read_row,
)
from services.billing.runs import insert_drafts
from services.errors import Refused
from services.events import publish
from services.notifications.outbox import notify_bills_issued
from services.payments.settlement import apply_account_credit, lock_account
from services.viewer import Viewer
from store.models import Account, AccountHolder, Bill, BillingCycle, BillRun, PaymentAllocation
from store.sql import Sql, as_date, as_dt_or_none, as_json

ISSUE_CHUNK = 500
# The UPI payee the bills' QR codes pay (a utility's collection VPA).
HISTORY_MONTHS = 12


class BillingError(Refused):
    """A bill operation that cannot be done; the message says why."""

    def __init__(self, message: str, *, code: str = "INVALID_STATE", field: str | None = None):
        super().__init__(code, message, field=field)


@dataclass
class IssueResult:
    issued: list[int] = field(default_factory=list)
    numbers: list[str] = field(default_factory=list)
    payable_paise: int = 0


# --- issue ------------------------------------------------------------------------------


async def draft_ids(*, cycle_code: str, period: str) -> list[int]:
    """The draft bills of a cycle's runs for a billing month, in id order."""
    month = BillingMonth.parse(period)
    ids = await Bill.filter(
        bill_run__cycle__code=cycle_code,
        bill_run__period_start=month.first,
        status=BillStatus.DRAFT,
    ).order_by("id")
    return [b.id for b in ids]


async def issue_bills(
    actor: Viewer,
    bill_ids: Sequence[int],
    *,
    issue_date: date,
    utility_name: str,
    payee_vpa: str,
    chunk_size: int = ISSUE_CHUNK,
    progress: Callable[[int], object] | None = None,
) -> IssueResult:
    """Issue the given draft bills (others are left alone), a chunk per transaction.

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
            issued = await _issue_chunk(Sql(connection), chunk, issue_date, utility_name, payee_vpa)
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
        chunk_size=chunk_size, progress=progress,
    )  # fmt: skip


async def announce_bills(name: str, bill_ids: list[int]) -> None:
    """Publish one event per bill to its customer; call after the change committed."""
    rows = await Bill.filter(id__in=bill_ids).values("id", "customer_id", "account_id", "status")
    for row in rows:
        await publish(
            name, customer_id=row["customer_id"], bill_id=row["id"], account_id=row["account_id"],
            status=str(row["status"]),
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


async def take_numbers(sql: Sql, series: str, year: str, count: int) -> int:
    """Reserve ``count`` numbers of a series; returns the first. Inside the caller's transaction."""
    await sql.execute(
        "INSERT INTO document_sequences (series, financial_year, last_value) VALUES (?, ?, 0) "
        "ON CONFLICT (series, financial_year) DO NOTHING",
        [series, year],
    )
    rows = await sql.rows(
        "UPDATE document_sequences SET last_value = last_value + ? "
        "WHERE series = ? AND financial_year = ? RETURNING last_value",
        [count, series, year],
    )
    return int(rows[0]["last_value"]) - count + 1


ISSUE_QUERY = """
SELECT b.id, b.account_id, b.customer_id, b.period_start, b.period_end, b.total_paise,
       b.charges_paise, b.rounding_paise, b.is_estimated, b.is_final, b.estimate_basis,
       b.consumption_wh, b.max_demand_w, b.tariff_version_id, b.snapshot, b.currency,
       a.number AS account_number, a.category, a.sanctioned_load_w, c.due_days,
       cu.number AS customer_number, cu.name AS customer_name,
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
    sql: Sql, ids: Sequence[int], issue_date: date, utility_name: str, payee_vpa: str
) -> list[tuple[int, str, int]]:
    await _lock_drafts(sql, ids)
    bills = await sql.rows(ISSUE_QUERY.format(marks=sql.marks(len(ids))), list(ids))
    if not bills:
        return []
    book = await TariffBook.load(sql)
    account_ids = sorted({b["account_id"] for b in bills})
    previous = await _previous_bills(sql, account_ids)
    totals = await balances(sql, account_ids)
    dues = [as_date(p["due_date"]) for p in previous.values() if p["due_date"] is not None]
    since = min([*dues, issue_date - timedelta(days=HISTORY_DAYS)])
    recent = await entries_since(sql, account_ids, since)
    charged = await existing_keys(sql, [late_fee_key(p["id"]) for p in previous.values()])
    lines = await _lines(sql, ids)
    reads = await _reads(sql, ids)
    history = await _history(sql, account_ids, issue_date)
    year = financial_year(issue_date)
    first = await take_numbers(sql, "bill", year, len(bills))
    issued: list[tuple[int, str, int]] = []
    updates: list[list[Any]] = []
    postings: list[Posting] = []
    now = datetime.now(UTC)
    for offset, b in enumerate(bills):
        number = document_number("bill", year, first + offset)
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
        snapshot = as_json(b["snapshot"]) or {}
        version = book.by_id.get(b["tariff_version_id"])
        prompt = version.tariff.prompt_payment if version else None
        rebate = prompt_rebate(prompt, lines[b["id"]]) if prompt else 0
        snapshot["document"] = {
            "utility": utility_name,
            "number": number,
            "issue_date": issue_date.isoformat(),
            "due_date": due_on.isoformat(),
            "account": {
                "number": b["account_number"],
                "category": b["category"],
                "sanctioned_load_kw": _kw(b["sanctioned_load_w"]),
            },
            "customer": {"number": b["customer_number"], "name": b["customer_name"]},
            "premise": _address(b),
            "reads": reads.get(b["id"], []),
            "lines": [_line_json(line) for line in lines[b["id"]]],
            "history": history.get(account, []),
            "arrears": _arrears(prev, recent[account], arrears),
            "late_fee": {"paise": fee, "overdue_paise": overdue, "bill": prev["number"] if prev else None},
            "prompt_rebate": {
                "paise": rebate,
                "by": (issue_date + timedelta(days=prompt.within_days)).isoformat() if prompt else None,
            },
            "upi": upi_link(
                payee_vpa=payee_vpa,
                payee_name=utility_name,
                amount_paise=payable,
                note=f"Electricity bill {number}",
            ),
        }  # fmt: skip
        updates.append(
            [
                number, sql.day(issue_date), sql.day(due_on), arrears, fee, payable, sql.ts(now),
                sql.json(snapshot), sql.ts(now), b["id"],
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
    await sql.many(
        "UPDATE bills SET number = ?, status = 'issued', issue_date = ?, due_date = ?, "
        "arrears_paise = ?, late_fee_paise = ?, payable_paise = ?, issued_at = ?, snapshot = ?, "
        "updated_at = ? WHERE id = ? AND status = 'draft'",
        updates,
    )
    await post(sql, postings)
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


def _kw(watts: int) -> str:
    whole, rest = divmod(watts, 1000)
    return str(whole) if not rest else str(Decimal(watts).scaleb(-3).normalize())


def _address(b: dict[str, Any]) -> list[str]:
    first = ", ".join(x for x in (b["address_line1"], b["address_line2"]) if x)
    second = ", ".join(x for x in (b["locality"], b["city"]) if x)
    return [first, f"{second} {b['postal_code']}".strip(), b["state"]]


def _line_json(line: BillLineData) -> dict[str, Any]:
    return {
        "code": line.code,
        "description": line.description,
        "quantity": line.quantity,
        "unit": line.unit,
        "rate": line.rate,
        "amount_paise": line.amount_paise,
        "component": line.component,
    }


def _arrears(prev: dict[str, Any] | None, recent: list[Any], arrears: int) -> dict[str, Any]:
    if prev is None:
        return {"previous_bill": None, "previous_payable_paise": 0, "payments_paise": 0,
                "other_paise": arrears, "arrears_paise": arrears}  # fmt: skip
    issued_on = as_date(prev["issue_date"])
    own = {bill_key(prev["id"])}
    since = [e for e in recent if e.effective_on >= issued_on and e.source_key not in own]
    since = [
        e for e in since if not e.source_key.startswith("late_fee:") or e.effective_on > issued_on
    ]
    payments = sum(e.amount_paise for e in since if e.kind == LedgerKind.PAYMENT.value)
    previous = prev["payable_paise"]
    return {
        "previous_bill": prev["number"],
        "previous_payable_paise": previous,
        "payments_paise": payments,
        "other_paise": arrears - previous - payments,
        "arrears_paise": arrears,
    }


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


async def _lines(sql: Sql, ids: Sequence[int]) -> dict[int, list[BillLineData]]:
    found: dict[int, list[BillLineData]] = defaultdict(list)
    for r in await sql.rows(
        "SELECT bill_id, component, code, description, quantity, unit, rate, amount_paise, "  # noqa: S608
        f"tou_period FROM bill_lines WHERE bill_id IN ({sql.marks(len(ids))}) ORDER BY bill_id, position",
        list(ids),
    ):
        found[r["bill_id"]].append(
            BillLineData(
                r["component"], r["code"], r["description"], r["quantity"], r["unit"], r["rate"],
                r["amount_paise"], r["tou_period"],
            )
        )  # fmt: skip
    return found


async def _reads(sql: Sql, ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    found: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in await sql.rows(
        "SELECT br.bill_id, g.obis_code, g.unit, m.serial, br.opening_milli, br.closing_milli, "  # noqa: S608
        "br.multiplier, br.consumption_wh, br.is_estimated, o.read_at AS opening_at, "
        "c.read_at AS closing_at FROM bill_reads br "
        "JOIN registers g ON g.id = br.register_id JOIN meters m ON m.id = g.meter_id "
        "LEFT JOIN register_reads o ON o.id = br.opening_read_id "
        "LEFT JOIN register_reads c ON c.id = br.closing_read_id "
        f"WHERE br.bill_id IN ({sql.marks(len(ids))}) ORDER BY br.bill_id, br.id",
        list(ids),
    ):
        opening_at, closing_at = as_dt_or_none(r["opening_at"]), as_dt_or_none(r["closing_at"])
        found[r["bill_id"]].append(
            {
                "meter": r["serial"],
                "register": r["obis_code"],
                "unit": r["unit"],
                "opening": r["opening_milli"],
                "closing": r["closing_milli"],
                "opening_at": opening_at.isoformat() if opening_at else None,
                "closing_at": closing_at.isoformat() if closing_at else None,
                "multiplier": r["multiplier"],
                "wh": r["consumption_wh"],
                "estimated": bool(r["is_estimated"]),
            }
        )
    return found


async def _history(
    sql: Sql, account_ids: Sequence[int], issue_date: date
) -> dict[int, list[dict[str, Any]]]:
    """Energy billed in each of the last 12 months (by the month a bill's period ends)."""
    since = issue_date - timedelta(days=HISTORY_MONTHS * 31 + 31)
    months: dict[int, dict[str, list[Any]]] = defaultdict(dict)
    for r in await sql.rows(
        "SELECT account_id, period_end, consumption_wh, is_estimated FROM bills "  # noqa: S608
        f"WHERE account_id IN ({sql.marks(len(account_ids))}) AND active_period IS NOT NULL "
        "AND period_end >= ? ORDER BY account_id, period_start",
        [*account_ids, sql.day(since)],
    ):
        key = f"{as_date(r['period_end']):%Y-%m}"
        slot = months[r["account_id"]].setdefault(key, [0, False])
        slot[0] += r["consumption_wh"]
        slot[1] = slot[1] or bool(r["is_estimated"])
    return {
        account: [
            {"month": k, "wh": v[0], "estimated": v[1]}
            for k, v in sorted(found.items())[-HISTORY_MONTHS:]
        ]
        for account, found in months.items()
    }


# --- cancel and rebill ------------------------------------------------------------------


async def _locked_bill(sql: Sql, bill_id: int) -> dict[str, Any]:
    suffix = " FOR UPDATE" if sql.postgres else ""
    if not sql.postgres:
        await sql.execute("UPDATE bills SET updated_at = updated_at WHERE id = ?", [bill_id])
    rows = await sql.rows(
        "SELECT id, account_id, status, number, total_paise, period_start, period_end, "  # noqa: S608
        f"is_final, snapshot FROM bills WHERE id = ?{suffix}",
        [bill_id],
    )
    if not rows:
        raise BillingError("bill not found", code="NOT_FOUND", field="billId")
    return rows[0]


async def _cancel(
    sql: Sql, bill: dict[str, Any], *, reason: str, on: date, user_id: int | None
) -> str | None:
    """Cancel inside the caller's transaction; returns the credit note's number, if any."""
    if bill["status"] == BillStatus.CANCELLED.value:
        raise BillingError(f"bill #{bill['id']} is already cancelled")
    if not reason.strip():
        raise BillingError("give the reason for cancelling")
    now = sql.ts(datetime.now(UTC))
    await sql.execute(
        "UPDATE bills SET status = 'cancelled', active_period = NULL, cancelled_at = ?, "
        "cancel_reason = ?, updated_at = ? WHERE id = ?",
        [now, reason, now, bill["id"]],
    )
    if bill["status"] != BillStatus.ISSUED.value:
        return None
    await release_billed(sql, bill["id"])
    year = financial_year(on)
    number = document_number("credit_note", year, await take_numbers(sql, "credit_note", year, 1))
    rows = await sql.insert(
        "adjustments",
        ("number", "account_id", "bill_id", "kind", "amount_paise", "reason", "created_by_id",
         "approved_by_id", "created_at", "updated_at"),
        [(number, bill["account_id"], bill["id"], AdjustmentKind.CREDIT_NOTE.value,
          -bill["total_paise"], reason, user_id, user_id, now, now)],
        returning="id",
    )  # fmt: skip
    await post(
        sql,
        [
            Posting(
                bill["account_id"],
                LedgerKind.CREDIT_NOTE,
                -bill["total_paise"],
                on,
                credit_note_key(bill["id"]),
                f"Credit note {number} cancelling bill {bill['number']}",
                bill_id=bill["id"],
                adjustment_id=rows[0]["id"],
            )
        ],
    )
    return number


async def cancel_bill(actor: Viewer, bill_id: int, *, reason: str, on: date) -> str | None:
    """Cancel a bill: an issued one gets a credit note (its number is returned)."""
    async with in_transaction() as connection:
        sql = Sql(connection)
        number = await _cancel(
            sql, await _locked_bill(sql, bill_id), reason=reason, on=on, user_id=actor.user_id
        )
        await audit.record(
            viewer=actor, action="bill.cancelled", entity="bill", entity_id=bill_id,
            after={"credit_note": number}, reason=reason,
        )  # fmt: skip
    await announce_bills("bill.cancelled", [bill_id])
    return number


async def rebill(actor: Viewer, bill_id: int, *, reason: str, on: date, zone: ZoneInfo) -> int:
    """Cancel the bill and draft it again from today's data; returns the new bill's id."""
    async with in_transaction() as connection:
        sql = Sql(connection)
        old = await _locked_bill(sql, bill_id)
        await _cancel(sql, old, reason=reason, on=on, user_id=actor.user_id)
        snapshot = as_json(old["snapshot"]) or {}
        account = await Account.filter(id=old["account_id"]).using_db(connection).get()
        cycle = await BillingCycle.filter(id=account.billing_cycle_id).using_db(connection).get()  # type: ignore[attr-defined]
        month = BillingMonth.parse(snapshot.get("period") or f"{as_date(old['period_end']):%Y-%m}")
        ctx = Context(month, await calendar.read_day(cycle, month, connection), zone)
        closing = await _closing_of(sql, bill_id, zone)
        made = await _draft_one(
            sql, account.id, ctx, closing=closing, before=as_date(old["period_start"]),
            is_final=bool(old["is_final"]),
        )  # fmt: skip
        _, ids = await insert_drafts(sql, [made], None, replaces={account.id: bill_id})
        if not ids:
            raise BillingError("the rebill collides with another active bill of the period")
        run_id = await sql.rows("SELECT bill_run_id FROM bills WHERE id = ?", [bill_id])
        await sql.execute(
            "UPDATE bills SET bill_run_id = ? WHERE id = ?", [run_id[0]["bill_run_id"], ids[0]]
        )
        if old["is_final"]:
            await (
                AccountHolder.filter(final_bill_id=bill_id)
                .using_db(connection)
                .update(final_bill_id=ids[0])
            )
        await audit.record(
            viewer=actor, action="bill.rebilled", entity="bill", entity_id=bill_id,
            after={"draft": ids[0]}, reason=reason,
        )  # fmt: skip
    await announce_bills("bill.cancelled", [bill_id])
    return ids[0]


async def _closing_of(sql: Sql, bill_id: int, zone: ZoneInfo) -> Read | None:
    """The actual read that closed a bill's main register, if it had one."""
    rows = await sql.rows(
        "SELECT r.id, r.register_id, r.value_milli, r.read_at, r.read_type FROM bill_reads br "
        "JOIN register_reads r ON r.id = br.closing_read_id "
        "JOIN registers g ON g.id = br.register_id "
        "WHERE br.bill_id = ? AND g.obis_code = '1.8.0' ORDER BY r.read_at DESC",
        [bill_id],
    )
    if not rows:
        return None
    return read_row(rows[0], zone)


async def _draft_one(
    sql: Sql,
    account_id: int,
    ctx: Context,
    *,
    closing: Read | None,
    before: date | None = None,
    is_final: bool = False,
) -> Draft:
    """Draft one account's bill for ``ctx``'s month, inside the caller's transaction."""
    accounts = await load_accounts(
        sql, cycle_id=await _cycle_of(sql, account_id), after_id=account_id - 1, limit=1,
        period_last=date.max,
    )  # fmt: skip
    if not accounts or accounts[0].id != account_id:
        raise BillingError(f"account #{account_id} is not active")
    account = accounts[0]
    moment = closing.read_at if closing else local_midnight(ctx.window[1], ctx.zone)
    await load_chunk(
        sql,
        accounts,
        window_end=max(
            moment + timedelta(seconds=1),
            local_midnight(ctx.window[1] + timedelta(days=1), ctx.zone),
        ),
        history_from=ctx.scheduled - timedelta(days=HISTORY_DAYS),
        lookback_from=min(lookback(ctx.scheduled, ctx.zone), moment - timedelta(days=100)),
        zone=ctx.zone,
    )
    if before is not None:
        account.bills = [b for b in account.bills if b.period_start < before]
    planned = plan(account, ctx, closing_override=closing, is_final=is_final)
    if isinstance(planned, Skip):
        raise BillingError(f"account {account.number} cannot be billed: {planned.reason}")
    intervals = None
    if planned.interval_register and planned.opening_at and planned.closing:
        reg = planned.interval_register.id
        found = await load_intervals(sql, {reg: (planned.opening_at, planned.closing.read_at)})
        intervals = found.get(reg)
    book = await TariffBook.load(sql)
    made = draft(planned, ctx, book, QuoteCache(), intervals)
    if isinstance(made, Skip):
        raise BillingError(
            f"account {account.number} cannot be billed: {made.reason} ({made.detail})"
        )
    return made


async def _cycle_of(sql: Sql, account_id: int) -> int:
    rows = await sql.rows("SELECT billing_cycle_id FROM accounts WHERE id = ?", [account_id])
    if not rows:
        raise BillingError(f"no account #{account_id}")
    return int(rows[0]["billing_cycle_id"])


# --- move-out ---------------------------------------------------------------------------


async def final_bill(
    *, account_number: str, move_out_on: date, zone: ZoneInfo, close_account: bool = True
) -> int:
    """Draft the move-out final bill up to the move-out read; returns its id.

    The move-out read (``read_type`` move_out) of the account's main register on
    ``move_out_on`` closes the bill. The holder's ``move_out_on`` and ``final_bill`` are
    set, and unless someone moves in, the account is closed.
    """
    account = await Account.get_or_none(number=account_number)
    if account is None:
        raise BillingError(f"no account numbered {account_number}")
    async with in_transaction() as connection:
        sql = Sql(connection)
        rows = await sql.rows(
            "SELECT r.id, r.register_id, r.value_milli, r.read_at, r.read_type "
            "FROM register_reads r JOIN registers g ON g.id = r.register_id "
            "JOIN meter_installations i ON i.meter_id = g.meter_id "
            "WHERE i.service_point_id = ? AND g.obis_code = '1.8.0' AND r.read_type = 'move_out' "
            "AND r.quality IN ('valid', 'edited') AND r.read_at >= ? AND r.read_at < ? "
            "ORDER BY r.read_at DESC",
            [
                account.service_point_id,  # type: ignore[attr-defined]
                sql.ts(local_midnight(move_out_on, zone)),
                sql.ts(local_midnight(move_out_on + timedelta(days=1), zone)),
            ],
        )
        if not rows:
            raise BillingError(f"record the move-out read of account {account_number} first")
        closing = read_row(rows[0], zone)
        cycle = await BillingCycle.filter(id=account.billing_cycle_id).using_db(connection).get()  # type: ignore[attr-defined]
        ctx = Context(BillingMonth.parse(f"{move_out_on:%Y-%m}"), cycle.read_day, zone)
        made = await _draft_one(sql, account.id, ctx, closing=closing, is_final=True)
        _, ids = await insert_drafts(sql, [made], None)
        if not ids:
            raise BillingError("a bill of this period already exists: cancel it first")
        holder = (
            await AccountHolder.filter(account_id=account.id, move_out_on__isnull=True)
            .using_db(connection)
            .order_by("-move_in_on")
            .first()
        )
        if holder is not None:
            await (
                AccountHolder.filter(id=holder.id)
                .using_db(connection)
                .update(move_out_on=move_out_on, final_bill_id=ids[0])
            )
        if close_account:
            await (
                Account.filter(id=account.id)
                .using_db(connection)
                .update(status="closed", closed_on=move_out_on)
            )
        return ids[0]
