"""Security deposits: what each account holds, the yearly review and interest, move-out.

What is held is the sum of the account's ``deposit_entries``, kept apart from the ledger
(a deposit is not a payment of bills; ``Account.security_deposit_paise`` mirrors the sum
for the screens that show it). The ledger carries only the money a deposit moves to or
from the customer's bills:

* the **yearly review** (after each financial year, April to March) sizes the deposit
  by :func:`domain.deposit.review` on the year's issued bills (two months' average) and
  **proposes** a top-up or a refund to staff (``deposit_proposals``, pending). Nothing
  moves until someone approves it (:func:`decide`): then a top-up is a ledger debit
  billed on the next bill as a charge, a refund a ledger credit
  (``deposit-review:<account>:<year>``); a rejection leaves the deposit as it is. Each
  account is reviewed once a year;
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
from domain.enums import AccountStatus, DepositKind, LedgerKind, ProposalStatus
from domain.ledger import paise as to_paise
from domain.report_shapes import rupees as paise_to_rupees
from services import audit
from services.errors import NotFound, Refused
from services.viewer import Viewer
from store.models import Account, DepositEntry, DepositProposal, LedgerEntry
from store.sql import Sql


@dataclass(frozen=True)
class Movement:
    kind: str
    amount_paise: int
    effective_on: date
    description: str


@dataclass(frozen=True)
class Proposal:
    """A review's top-up or refund and what staff made of it."""

    account_number: str
    year: str
    kind: str  # top_up or refund
    amount_paise: int
    status: str  # pending, approved or rejected
    already: bool = False  # decided so before: nothing changed now


@dataclass(frozen=True)
class DepositState:
    """An account's deposit as staff see it."""

    account_number: str
    held_paise: int
    required_paise: int  # two months' average of the last twelve issued bills
    interest_percent: Decimal
    accrued_interest_paise: int  # this financial year so far, not yet credited
    movements: list[Movement]
    pending: list[Proposal]  # reviews' top-ups and refunds waiting for staff


@dataclass(frozen=True)
class YearOutcome:
    """One account's yearly review and interest (``already``: nothing new to do, as when
    done before)."""

    account_number: str
    year: str
    held_paise: int
    required_paise: int = 0
    top_up_paise: int = 0  # proposed to staff, not yet billed
    refund_paise: int = 0  # proposed to staff, not yet credited
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
        pending=[
            Proposal(account.number, p.year, p.kind, p.amount_paise, p.status)
            for p in await DepositProposal.filter(
                account_id=account.id, status=ProposalStatus.PENDING
            ).order_by("year")
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
        # Each account in its own transaction. Another run doing the same account at the
        # same moment (the task and a person) makes one of the two unique keys collide:
        # that one rolls back and reports the account done.
        try:
            outcome = await _year_end_tx(
                actor, account, year, today, interest_percent, review, interest
            )
        except IntegrityError:
            outcome = YearOutcome(
                account.number, year.label, account.security_deposit_paise, already=True
            )
        outcomes.append(outcome)
    return outcomes


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
        proposed = DepositProposal.filter(account_id=account.id, year=year.label)
        if await proposed.using_db(connection).exists():
            done.add(review_key(account.id, year))  # proposed already: staff decide it
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
    if top_up or refund:
        await DepositProposal.create(
            account_id=account.id, year=year.label,
            kind=DepositKind.TOP_UP if top_up else DepositKind.REFUND,
            amount_paise=top_up or refund, held_paise=held,
            required_paise=to_paise(found.required), proposed_on=today, using_db=connection,
        )  # fmt: skip
    else:
        made = await DepositEntry.create(
            account_id=account.id, kind=DepositKind.REVIEW, amount_paise=0, effective_on=today,
            source_key=review_key(account.id, year),
            description=f"Security deposit reviewed for {year.label}: no change",
            using_db=connection,
        )  # fmt: skip
        entries.append(made)
        await _mirror(account, entries, connection)
    return YearOutcome(
        account.number, year.label, _held(entries), to_paise(found.required), top_up, refund,
        outcome.interest_paise,
    )  # fmt: skip


async def decide(
    actor: Viewer, account_number: str, year: FinancialYear, *, approve: bool, on: date,
    reason: str = "",
) -> Proposal:  # fmt: skip
    """Approve or reject the review's proposal for the account and year. Approving posts
    the top-up (a charge on the next bill) or the refund (a credit) and moves the deposit;
    rejecting keeps it as it is. Deciding the same again changes nothing (``already``);
    deciding the other way once decided is refused."""
    account = await _account(account_number)
    wanted = ProposalStatus.APPROVED if approve else ProposalStatus.REJECTED
    async with in_transaction() as connection:
        proposal = (
            await DepositProposal.filter(account_id=account.id, year=year.label)
            .using_db(connection)
            .select_for_update()
            .first()
        )
        if proposal is None:
            raise NotFound(
                f"a review proposal for account {account.number} in {year.label}", field="year"
            )
        if proposal.status != ProposalStatus.PENDING:
            if proposal.status != wanted:
                raise Refused(
                    "CONFLICT",
                    f"the {year.label} proposal for account {account.number} was already "
                    f"{proposal.status}",
                )
            return _proposal(account, proposal, already=True)
        if approve:
            entries = await _movements(account, connection)
            moved = [e for e in entries if e.kind == DepositKind.MOVE_OUT]
            if any(e.effective_on >= proposal.proposed_on for e in moved):
                raise Refused(
                    "CONFLICT",
                    f"account {account.number} moved out after the {year.label} review: its "
                    "deposit was settled on the final bill, reject the proposal",
                )
            top_up = proposal.kind == DepositKind.TOP_UP
            amount = proposal.amount_paise if top_up else -proposal.amount_paise
            text = (
                f"Security deposit top-up after the {year.label} review"
                if top_up
                else f"Security deposit excess refunded after the {year.label} review"
            )
            key = review_key(account.id, year)
            ledger = await _post(connection, account, amount, on, key, text)
            made = await DepositEntry.create(
                account_id=account.id, kind=proposal.kind, amount_paise=amount, effective_on=on,
                source_key=key, description=text, ledger_entry=ledger, using_db=connection,
            )  # fmt: skip
            entries.append(made)
            await _mirror(account, entries, connection)
        proposal.status, proposal.decided_on = wanted, on
        who = actor.label or f"user:{actor.user_id}"
        proposal.decided_by, proposal.reason = who[:100], reason.strip()[:200]
        await proposal.save(using_db=connection)
        await audit.record(
            viewer=actor, action=f"deposit.proposal_{wanted}", entity="account",
            entity_id=account.id, reason=reason.strip(),
            after={"year": year.label, "kind": proposal.kind,
                   "amount_paise": proposal.amount_paise, "status": wanted},
        )  # fmt: skip
    return _proposal(account, proposal)


def _proposal(account: Account, proposal: DepositProposal, *, already: bool = False) -> Proposal:
    return Proposal(
        account.number, proposal.year, proposal.kind, proposal.amount_paise, proposal.status,
        already,
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
