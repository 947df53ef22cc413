"""Security deposits: what each account holds, the yearly review and interest, move-out.

What is held is the sum of the account's ``deposit_entries``, kept apart from the ledger
(a deposit is not a payment of bills; ``Account.security_deposit_paise`` mirrors the sum
for the screens that show it). The ledger carries only the money a deposit moves to or
from the customer's bills:

* the **yearly review** (after each financial year, April to March) sizes the deposit
  by :func:`domain.deposit.review` on the year's issued bills (two months' average):
  a shortfall is a top-up, a ledger debit billed on the next bill as a charge; an
  excess is refunded as a ledger credit. Each account is reviewed once a year
  (``deposit-review:<account>:<year>``);
* **interest** at ``GRIDBILL_DEPOSIT_INTEREST_PERCENT`` a year, simple, by the day, on
  what was held in the year, is a ledger credit on the next bill, once a year
  (``deposit-interest:<account>:<year>``);
* at **move-out** (the account closing, or a holder leaving for another to move in) the
  deposit and the interest since the year began are credited against the holder's final
  bill (``deposit-move-out:<account>:<final bill>``); what the final bill does not use is
  a credit balance, refunded as any other.

An account that came with a deposit before this history was kept
(``security_deposit_paise`` and no entries) gets an ``opening`` entry on its connection
date the first time it is looked at. Every operation is idempotent: running it again
changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from domain import deposit as rules
from domain.deposit import FinancialYear
from domain.enums import AccountStatus, DepositKind, LedgerKind
from domain.ledger import paise as to_paise
from domain.report_shapes import rupees as paise_to_rupees
from services import audit
from services.errors import NotFound, Refused
from services.viewer import Viewer
from store.models import Account, DepositEntry, LedgerEntry
from store.sql import Sql


@dataclass(frozen=True)
class Movement:
    kind: str
    amount_paise: int
    effective_on: date
    description: str


@dataclass(frozen=True)
class DepositState:
    """An account's deposit as staff see it."""

    account_number: str
    held_paise: int
    required_paise: int  # two months' average of the last twelve issued bills
    interest_percent: Decimal
    accrued_interest_paise: int  # this financial year so far, not yet credited
    movements: list[Movement]


@dataclass(frozen=True)
class YearOutcome:
    """One account's yearly review and interest (``already``: nothing new to do, as when
    done before)."""

    account_number: str
    year: str
    held_paise: int
    required_paise: int = 0
    top_up_paise: int = 0
    refund_paise: int = 0
    interest_paise: int = 0
    already: bool = False


def review_key(account_id: int, year: FinancialYear) -> str:
    return f"deposit-review:{account_id}:{year.label}"


def interest_key(account_id: int, year: FinancialYear) -> str:
    return f"deposit-interest:{account_id}:{year.label}"


def move_out_key(account_id: int, final_bill_id: int) -> str:
    return f"deposit-move-out:{account_id}:{final_bill_id}"


async def _account(number: str) -> Account:
    account = await Account.get_or_none(number=number.strip())
    if account is None:
        raise NotFound(f"account {number.strip()!r}", field="accountNumber")
    return account


async def _movements(
    account: Account, connection: BaseDBAsyncClient, *, persist: bool = True
) -> list[DepositEntry]:
    """The account's movements, with the opening entry made on first sight (only shown,
    not stored, when ``persist`` is false: reading a deposit writes nothing)."""
    entries = (
        await DepositEntry.filter(account_id=account.id)
        .using_db(connection)
        .order_by("effective_on", "id")
    )
    if not entries and account.security_deposit_paise > 0:
        opening = DepositEntry(
            account_id=account.id, kind=DepositKind.OPENING,
            amount_paise=account.security_deposit_paise, effective_on=account.connected_on,
            source_key=f"deposit-opening:{account.id}",
            description="Security deposit held before its history was kept",
        )  # fmt: skip
        if persist:
            await opening.save(using_db=connection)
        entries = [opening]
    return list(entries)


def _spans(entries: Sequence[DepositEntry], until: date) -> list[rules.Held]:
    return rules.held_spans(
        [(e.effective_on, paise_to_rupees(e.amount_paise)) for e in entries], until
    )


def _held(entries: Sequence[DepositEntry], on: date | None = None) -> int:
    return sum(e.amount_paise for e in entries if on is None or e.effective_on <= on)


async def _bills(sql: Sql, account_id: int, start: date, end: date) -> list[Decimal]:
    """The current charges of the account's issued bills whose period ends in ``[start, end)``."""
    rows = await sql.rows(
        "SELECT total_paise FROM bills WHERE account_id = ? AND number IS NOT NULL "
        "AND active_period IS NOT NULL AND period_end >= ? AND period_end < ? "
        "ORDER BY period_end",
        [account_id, sql.day(start), sql.day(end)],
    )
    return [paise_to_rupees(int(r["total_paise"])) for r in rows]


async def _post(
    connection: BaseDBAsyncClient, account: Account, amount_paise: int, day: date, key: str,
    text: str,
) -> LedgerEntry:  # fmt: skip
    return await LedgerEntry.create(
        account_id=account.id, kind=LedgerKind.DEPOSIT, amount_paise=amount_paise,
        effective_on=day, source_key=key, description=text[:200], using_db=connection,
    )  # fmt: skip


async def _mirror(
    account: Account, entries: Sequence[DepositEntry], connection: BaseDBAsyncClient
) -> None:
    await (
        Account.filter(id=account.id)
        .using_db(connection)
        .update(security_deposit_paise=_held(entries))
    )


async def show(account_number: str, today: date, interest_percent: Decimal) -> DepositState:
    """What the account holds, what the rules ask for now, and the interest accrued."""
    account = await _account(account_number)
    async with in_transaction() as connection:
        entries = await _movements(account, connection, persist=False)
        year = FinancialYear.of(today)
        bills = await _bills(
            Sql(connection), account.id, date(today.year - 1, today.month, 1), today
        )
    accrued = rules.interest(_spans(entries, today), interest_percent, year.start, today)
    return DepositState(
        account_number=account.number,
        held_paise=_held(entries),
        required_paise=to_paise(rules.required(bills)),
        interest_percent=interest_percent,
        accrued_interest_paise=to_paise(accrued),
        movements=[
            Movement(e.kind, e.amount_paise, e.effective_on, e.description) for e in entries
        ],
    )


async def year_end(
    actor: Viewer,
    year: FinancialYear,
    today: date,
    interest_percent: Decimal,
    *,
    account_number: str | None = None,
    review: bool = True,
    interest: bool = True,
) -> list[YearOutcome]:
    """Credit the year's interest and review the deposit of one account or of every
    account (a closed one only gets the interest it earned), each once: a repeat
    changes nothing."""
    if today < year.end:
        raise Refused(
            "INVALID_INPUT", f"financial year {year.label} has not ended: it runs to {year.end}"
        )
    accounts = (
        [await _account(account_number)] if account_number else await Account.all().order_by("id")
    )
    outcomes = []
    for account in accounts:
        outcomes.append(
            await _year_end_one(actor, account, year, today, interest_percent, review, interest)
        )
    return outcomes


async def _year_end_one(
    actor: Viewer,
    account: Account,
    year: FinancialYear,
    today: date,
    interest_percent: Decimal,
    review: bool,
    interest: bool,
) -> YearOutcome:
    """One account's year end in its own transaction. Another run doing the same account
    at the same moment (the task and a person) makes one of the two unique keys collide:
    that one rolls back and reports the account done."""
    try:
        return await _year_end_tx(actor, account, year, today, interest_percent, review, interest)
    except IntegrityError:
        return YearOutcome(account.number, year.label, account.security_deposit_paise, already=True)


async def _year_end_tx(
    actor: Viewer,
    account: Account,
    year: FinancialYear,
    today: date,
    interest_percent: Decimal,
    review: bool,
    interest: bool,
) -> YearOutcome:
    async with in_transaction() as connection:
        entries = await _movements(account, connection)
        moved_out = [e.effective_on for e in entries if e.kind == DepositKind.MOVE_OUT]
        if any(year.start <= day < year.end for day in moved_out):
            # a move-out this year credited its interest and gave the deposit back; a
            # holder who moved in after it is reviewed from the next year on
            return YearOutcome(account.number, year.label, _held(entries), already=True)
        keys = {interest_key(account.id, year), review_key(account.id, year)}
        found = [
            *await LedgerEntry.filter(source_key__in=list(keys))
            .using_db(connection)
            .values_list("source_key", flat=True),
            *await DepositEntry.filter(source_key__in=list(keys))
            .using_db(connection)
            .values_list("source_key", flat=True),
        ]
        done: set[str] = {str(k) for k in found}
        credited = 0
        if interest and interest_key(account.id, year) not in done:
            earned = rules.interest(
                _spans(entries, year.end), interest_percent, year.start, year.end
            )
            credited = to_paise(earned)
            if credited:
                await _post(
                    connection, account, -credited, today, interest_key(account.id, year),
                    f"Interest on security deposit, {year.label}, at {interest_percent}% a year",
                )  # fmt: skip
        outcome = YearOutcome(account.number, year.label, _held(entries), interest_paise=credited)
        reviewed = (
            review
            and review_key(account.id, year) not in done
            and account.status == AccountStatus.ACTIVE
        )
        if reviewed:
            outcome = await _review(connection, account, year, today, entries, outcome)
        elif not credited:  # nothing new: done before, or nothing to do
            outcome = YearOutcome(account.number, year.label, _held(entries), already=True)
        if not outcome.already:
            await audit.record(
                viewer=actor, action="deposit.year_end", entity="account", entity_id=account.id,
                after={"year": year.label, "held_paise": outcome.held_paise,
                       "required_paise": outcome.required_paise,
                       "top_up_paise": outcome.top_up_paise, "refund_paise": outcome.refund_paise,
                       "interest_paise": outcome.interest_paise},
            )  # fmt: skip
        return outcome


async def _review(
    connection: BaseDBAsyncClient,
    account: Account,
    year: FinancialYear,
    today: date,
    entries: list[DepositEntry],
    outcome: YearOutcome,
) -> YearOutcome:
    held = _held(entries)
    bills = await _bills(Sql(connection), account.id, year.start, year.end)
    found = rules.review(paise_to_rupees(held), bills)
    top_up, refund = to_paise(found.top_up), to_paise(found.refund)
    if not bills:  # no bill in the year: nothing to size it on, it stays as it is
        top_up = refund = 0
    key = review_key(account.id, year)
    ledger = None
    if top_up:
        kind, amount = DepositKind.TOP_UP, top_up
        text = f"Security deposit top-up after the {year.label} review"
        ledger = await _post(connection, account, top_up, today, key, text)
    elif refund:
        kind, amount = DepositKind.REFUND, -refund
        text = f"Security deposit excess refunded after the {year.label} review"
        ledger = await _post(connection, account, -refund, today, key, text)
    else:
        kind, amount, text = (
            DepositKind.REVIEW,
            0,
            f"Security deposit reviewed for {year.label}: no change",
        )
    made = await DepositEntry.create(
        account_id=account.id, kind=kind, amount_paise=amount, effective_on=today,
        source_key=key, description=text, ledger_entry=ledger, using_db=connection,
    )  # fmt: skip
    entries.append(made)
    await _mirror(account, entries, connection)
    return YearOutcome(
        account.number, year.label, _held(entries), to_paise(found.required), top_up, refund,
        outcome.interest_paise,
    )  # fmt: skip


async def apply_at_move_out(
    connection: BaseDBAsyncClient,
    account_id: int,
    final_bill_id: int,
    move_out_on: date,
    interest_percent: Decimal,
) -> tuple[int, int]:
    """Credit the deposit and this year's interest against a holder's final bill, once per
    final bill: ``(deposit, interest)`` in paise (both 0 when there is none or it was done).

    Whether the account closes or a new holder will move in, the deposit was the leaving
    holder's: the next holder's is sized afresh by the yearly review.
    """
    account = await Account.filter(id=account_id).using_db(connection).get()
    key = move_out_key(account_id, final_bill_id)
    if await DepositEntry.filter(source_key=key).using_db(connection).exists():
        return 0, 0
    entries = await _movements(account, connection)
    held = _held(entries)
    year = FinancialYear.of(move_out_on)
    earned = to_paise(
        rules.interest(_spans(entries, move_out_on), interest_percent, year.start, move_out_on)
    )
    if earned:
        await _post(
            connection, account, -earned, move_out_on, f"deposit-interest:{account_id}:move-out:{final_bill_id}",
            f"Interest on security deposit, {year.start:%d %b %Y} to move-out, at {interest_percent}% a year",
        )  # fmt: skip
    ledger = None
    if held:
        ledger = await _post(
            connection, account, -held, move_out_on, key,
            "Security deposit refunded against the final bill",
        )  # fmt: skip
    made = await DepositEntry.create(
        account_id=account_id, kind=DepositKind.MOVE_OUT, amount_paise=-held,
        effective_on=move_out_on, source_key=key,
        description="Applied against the final bill at move-out", ledger_entry=ledger,
        using_db=connection,
    )  # fmt: skip
    entries.append(made)
    await _mirror(account, entries, connection)
    return held, earned
