"""Correcting issued bills: cancel, rebill, and the final bill at move-out.

* **Cancel**: an issued bill gets a numbered credit note (``credit_note`` series, an
  ``Adjustment`` and a ledger credit ``credit_note:<bill id>``, and its subsidy claims on
  the government are withdrawn); a draft is just set aside.
  Either way ``active_period`` becomes NULL, so the history stays and a rebill fits, and
  the reads the bill stood on are released unless another issued bill stands on them.
* **Rebill**: cancel and draft again for the same period, in one transaction, the new
  bill pointing at the one it replaces. What payments put on the cancelled bill becomes
  account credit, which settles the replacement when it is issued; a late payment
  surcharge already charged on the old bill is computed again with the difference and
  the change posted, with the reason, as ``late_fee_rebill:<old bill id>``.
* **Final bill** at move-out: from the last bill's closing read to the move-out read.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from domain.allocation import Allocation
from domain.bill_draft import Context, Draft, QuoteCache, Skip, draft, plan
from domain.bill_inputs import Read
from domain.billing import BillingMonth
from domain.enums import AdjustmentKind, BillStatus, LedgerKind
from domain.ledger import credits_after, rebilled_late_fee
from gridbill.settings import get_settings
from services import audit
from services.accounts import deposits
from services.accounts.ledger import Posting, credit_note_key, entries_since, late_fee_key, post
from services.billing import calendar, subsidies
from services.billing.inputs import (
    HISTORY_DAYS,
    load_accounts,
    load_chunk,
    load_intervals,
    load_tariff_book,
    local_midnight,
    lookback,
    read_row,
)
from services.billing.issue import BillingError, announce_bills, release_billed
from services.billing.runs import insert_drafts
from services.numbering import take_one
from services.payments.settlement import apply_account_credit, lock_account, write_allocations
from services.viewer import Viewer
from store.models import Account, AccountHolder, BillingCycle, PaymentAllocation
from store.sql import Sql, as_date, as_json


async def _locked_bill(sql: Sql, bill_id: int) -> dict[str, Any]:
    """Lock the bill's account, then the bill: the order payments take (account, then its
    bills), so a cancel and a payment of one account queue instead of deadlocking."""
    owner = await sql.rows("SELECT account_id FROM bills WHERE id = ?", [bill_id])
    if owner:
        await lock_account(owner[0]["account_id"])
    suffix = " FOR UPDATE" if sql.postgres else ""
    if not sql.postgres:
        await sql.execute("UPDATE bills SET updated_at = updated_at WHERE id = ?", [bill_id])
    rows = await sql.rows(
        "SELECT id, account_id, status, number, total_paise, period_start, period_end, "  # noqa: S608
        f"is_final, snapshot, due_date, tariff_version_id FROM bills WHERE id = ?{suffix}",
        [bill_id],
    )
    if not rows:
        raise BillingError("bill not found", code="NOT_FOUND", field="billId")
    return rows[0]


async def _cancel(
    sql: Sql,
    bill: dict[str, Any],
    *,
    reason: str,
    on: date,
    user_id: int | None,
    replaced: bool = False,
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
    number = await take_one("credit_note", on, sql=sql)
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
                f"Credit note {number} cancelling bill {bill['number']}: {reason.strip()}",
                bill_id=bill["id"],
                adjustment_id=rows[0]["id"],
            )
        ],
    )
    await subsidies.withdraw(sql, bill["id"], bill["number"], on)
    await _release_payments(bill["id"], bill["account_id"], hold=replaced)
    return number


async def _release_payments(bill_id: int, account_id: int, *, hold: bool) -> None:
    """Move what payments put on a cancelled bill to account credit. A plain cancel lets
    it settle the account's other open bills now; a rebill holds it for the replacement,
    which takes it first (oldest period first) when it is issued. The account is locked
    (:func:`_locked_bill`)."""
    rows = await PaymentAllocation.filter(bill_id=bill_id).values("payment_id", "amount_paise")
    paid: dict[int, int] = {}
    for r in rows:
        paid[r["payment_id"]] = paid.get(r["payment_id"], 0) + int(r["amount_paise"])
    for payment_id, amount in sorted(paid.items()):
        if amount > 0:
            moves = [Allocation(bill_id, -amount), Allocation(None, amount)]
            await write_allocations(payment_id, moves)
    if not hold:
        await apply_account_credit(account_id)


async def _late_fee_correction(
    sql: Sql, old: dict[str, Any], new_total: int, *, reason: str, on: date
) -> Posting | None:
    """The change in the late payment surcharge already charged on a rebilled bill, as a
    posting (``late_fee_rebill:<old bill id>``): the fee is computed again with the
    rebill's difference in what was unpaid at the due date (:func:`rebilled_late_fee`).

    A replacement rebilled again goes back to the bill that was charged the fee (through
    ``replaces_id``): the difference is from that bill's total, and the change is against
    the fee as the earlier rebills left it.
    """
    chain = await _replaced_chain(sql, old["id"])
    root = chain[-1]
    charged = await sql.rows(
        "SELECT e.amount_paise, e.effective_on, e.bill_id, b.snapshot FROM ledger_entries e "
        "JOIN bills b ON b.id = e.bill_id WHERE e.source_key = ?",
        [late_fee_key(root["id"])],
    )
    if not charged or root["due_date"] is None:
        return None
    book = await load_tariff_book(sql)
    version = book.by_id.get(root["tariff_version_id"])
    rule = version.tariff.late_payment if version else None
    if rule is None:
        return None
    fee = charged[0]
    charged_on, due = as_date(fee["effective_on"]), as_date(root["due_date"])
    frozen = ((as_json(fee["snapshot"]) or {}).get("document") or {}).get("late_fee") or {}
    entries = (await entries_since(sql, [old["account_id"]], due))[old["account_id"]]
    again = rebilled_late_fee(
        rule, int(frozen.get("overdue_paise") or 0), new_total - root["total_paise"], due,
        credits_after(entries, due, charged_on), charged_on,
    )  # fmt: skip
    keys = [f"late_fee_rebill:{b['id']}" for b in chain[1:]]
    marks, values = sql.inlist(keys) if keys else ("NULL", [])
    earlier = await sql.rows(
        f"SELECT amount_paise FROM ledger_entries WHERE source_key IN ({marks})",  # noqa: S608
        values,
    )
    change = again - int(fee["amount_paise"]) - sum(int(r["amount_paise"]) for r in earlier)
    if change == 0:
        return None
    return Posting(
        old["account_id"], LedgerKind.LATE_FEE, change, on, f"late_fee_rebill:{old['id']}",
        f"Late payment surcharge on {old['number']} recomputed after rebill: {reason.strip()}",
        bill_id=fee["bill_id"],
    )  # fmt: skip


async def _replaced_chain(sql: Sql, bill_id: int) -> list[dict[str, Any]]:
    """The bill, the one it replaced, and so on back to the first issued one."""
    chain: list[dict[str, Any]] = []
    next_id: int | None = bill_id
    while next_id is not None and len(chain) < 100:
        rows = await sql.rows(
            "SELECT id, replaces_id, total_paise, due_date, tariff_version_id FROM bills "
            "WHERE id = ?",
            [next_id],
        )
        if not rows:
            break
        chain.append(rows[0])
        next_id = rows[0]["replaces_id"]
    return chain


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
        await _cancel(sql, old, reason=reason, on=on, user_id=actor.user_id, replaced=True)
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
        correction = await _late_fee_correction(sql, old, made.total_paise, reason=reason, on=on)
        if correction is not None:
            await post(sql, [correction])
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
        bills_before=before,
    )
    planned = plan(account, ctx, closing_override=closing, is_final=is_final)
    if isinstance(planned, Skip):
        raise BillingError(f"account {account.number} cannot be billed: {planned.reason}")
    intervals = None
    if planned.interval_register and planned.opening_at and planned.closing:
        reg = planned.interval_register.id
        found = await load_intervals(sql, {reg: (planned.opening_at, planned.closing.read_at)})
        intervals = found.get(reg)
    book = await load_tariff_book(sql)
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
    *,
    account_number: str,
    move_out_on: date,
    zone: ZoneInfo,
    close_account: bool = True,
    deposit_interest_percent: Decimal | None = None,
) -> int:
    """Draft the move-out final bill up to the move-out read; returns its id.

    The move-out read (``read_type`` move_out) of the account's main register on
    ``move_out_on`` closes the bill. The holder's ``move_out_on`` and ``final_bill`` are
    set, and unless someone moves in, the account is closed. Either way the leaving
    holder's security deposit and its interest since 1 April are credited against the
    final bill (:func:`services.accounts.deposits.apply_at_move_out`; the rate defaults to
    ``GRIDBILL_DEPOSIT_INTEREST_PERCENT``).
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
        rate = deposit_interest_percent
        if rate is None:
            rate = get_settings().deposit_interest_percent
        await deposits.apply_at_move_out(connection, account.id, ids[0], move_out_on, rate)
        if close_account:
            await (
                Account.filter(id=account.id)
                .using_db(connection)
                .update(status="closed", closed_on=move_out_on)
            )
        return ids[0]
