"""Crediting the prompt-payment rebate, and taking it back, inside a payment's transaction.

The rule is :mod:`domain.rebate`; this module reads its inputs from the ledger and the
bills' frozen snapshots (``document.prompt_rebate``: the paise and the last day) and
writes its outputs as ledger entries, so nothing new is stored beside them:

* ``prompt_rebate:<bill id>:<payment reference>`` (kind ``credit_note``, negative, with
  the bill's id): the rebate, credited when a payment settles the bill in time. The
  reference names the payment that completed the settlement; a bill holds one live
  rebate at a time, so it is credited once.
* ``prompt_rebate_reversal:<rebate entry id>`` (kind ``reversal``, positive, pointing at
  the credit): a bounced cheque or a refund left the bill unsettled by its rebate date.

Called with the account locked (:func:`services.payments.settlement.lock_account`), from
:func:`services.payments.settlement.settle` (every payment path: online capture, webhook,
counter, bank transfer), the cheque bounce and the refund; and from issuing, for a bill
that credit already held settles on its bill date (reference ``account-credit``).

Settled is judged as of the rebate date: an entry counts by its own date, except that a
reversal or refund counts on the date of the payment it takes back (a cheque that
bounces later was never money).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from domain.enums import BillStatus, LedgerKind
from domain.rebate import RebateTerms, earns, forfeits
from store.models import Bill, LedgerEntry

MAX_WITHIN_DAYS = 365  # the most ``prompt_payment.within_days`` may be
REBATE_KEY = "prompt_rebate:"
REVERSAL_KEY = "prompt_rebate_reversal:"


def rebate_key(bill_id: int, reference: str) -> str:
    return f"{REBATE_KEY}{bill_id}:{reference}"


def _is_rebate_of(entry: LedgerEntry, bill_id: int) -> bool:
    return entry.bill_id == bill_id and entry.source_key.startswith("prompt_rebate")  # type: ignore[attr-defined]


async def _bills(
    account_id: int, since: date | None = None
) -> list[tuple[Bill, RebateTerms | None]]:
    """The account's issued bills in issue order (those issued on or after ``since``), each
    with its rebate terms if it has any."""
    query = Bill.filter(account_id=account_id, status=BillStatus.ISSUED)
    if since is not None:
        query = query.filter(issue_date__gte=since)
    bills = await query.order_by("issue_date", "id")
    found: list[tuple[Bill, RebateTerms | None]] = []
    for bill in bills:
        rebate = ((bill.snapshot or {}).get("document") or {}).get("prompt_rebate") or {}
        paise, by = int(rebate.get("paise") or 0), rebate.get("by")
        terms = (
            RebateTerms(bill.id, bill.number or "", paise, date.fromisoformat(by)) if by else None
        )
        found.append((bill, terms if paise > 0 else None))
    return found


def _judged_on(entry: LedgerEntry, paid_on: dict[int, date]) -> date:
    """The date an entry counts on: a reversal or refund on its payment's date."""
    payment_id = entry.payment_id  # type: ignore[attr-defined]
    if entry.kind in (LedgerKind.REVERSAL, LedgerKind.REFUND) and payment_id in paid_on:
        return paid_on[payment_id]
    return entry.effective_on


def _owed(
    entries: Sequence[LedgerEntry], terms: RebateTerms, later: set[int], paid_on: dict[int, date]
) -> int:
    """What the account owed at the end of the rebate date for this bill and earlier ones."""
    return sum(
        e.amount_paise
        for e in entries
        if e.bill_id not in later  # type: ignore[attr-defined]
        and not _is_rebate_of(e, terms.bill_id)
        and _judged_on(e, paid_on) <= terms.by
    )


async def _state(
    account_id: int, since: date | None = None
) -> tuple[list[tuple[RebateTerms, set[int], int, int]], list[LedgerEntry], dict[int, date]]:
    """Each bill with rebate terms: the later bills, its live rebate and the live rebate of
    the bill it replaces (a rebill does not earn the period's rebate twice)."""
    bills = await _bills(account_id, since)
    entries = await LedgerEntry.filter(account_id=account_id).order_by("id")
    paid_on = {
        e.payment_id: e.effective_on  # type: ignore[attr-defined]
        for e in entries
        if e.kind == LedgerKind.PAYMENT and e.payment_id is not None  # type: ignore[attr-defined]
    }
    rows = []
    for i, (_, terms) in enumerate(bills):
        if terms is None:
            continue
        later = {b.id for b, _ in bills[i + 1 :]}
        live = sum(e.amount_paise for e in entries if _is_rebate_of(e, terms.bill_id))
        replaced = bills[i][0].replaces_id  # type: ignore[attr-defined]
        earlier = sum(e.amount_paise for e in entries if replaced and _is_rebate_of(e, replaced))
        rows.append((terms, later, live, earlier))
    return rows, entries, paid_on


async def credit_earned(account_id: int, *, on: date, reference: str) -> list[LedgerEntry]:
    """Credit the rebate of every bill that a settlement on ``on`` has paid in time (only
    bills issued in the last :data:`MAX_WITHIN_DAYS` days can still be in time)."""
    rows, entries, paid_on = await _state(account_id, on - timedelta(days=MAX_WITHIN_DAYS))
    posted: list[LedgerEntry] = []
    for terms, later, live, earlier in rows:
        owed = _owed(entries, terms, later, paid_on)
        if not earns(terms, owed_paise=owed, settled_on=on, live_paise=live + earlier):
            continue
        entry = await LedgerEntry.create(
            account_id=account_id, kind=LedgerKind.CREDIT_NOTE, amount_paise=-terms.rebate_paise,
            source_key=rebate_key(terms.bill_id, reference), effective_on=on,
            bill_id=terms.bill_id, description=f"Prompt-payment rebate on {terms.number}",
        )  # fmt: skip
        posted.append(entry)
    return posted


async def withdraw_forfeited(account_id: int, *, on: date, why: str) -> list[LedgerEntry]:
    """Reverse the rebate of every bill that money taken back has left unsettled."""
    rows, entries, paid_on = await _state(account_id)
    posted: list[LedgerEntry] = []
    for terms, later, live, _ in rows:
        if not forfeits(owed_paise=_owed(entries, terms, later, paid_on), live_paise=live):
            continue
        credit = next(
            e for e in reversed(entries) if _is_rebate_of(e, terms.bill_id) and e.amount_paise < 0
        )
        entry = await LedgerEntry.create(
            account_id=account_id, kind=LedgerKind.REVERSAL, amount_paise=-live,
            source_key=f"{REVERSAL_KEY}{credit.id}", effective_on=on, bill_id=terms.bill_id,
            reverses_id=credit.id,
            description=f"Prompt-payment rebate on {terms.number} withdrawn: {why}",
        )  # fmt: skip
        posted.append(entry)
    return posted
