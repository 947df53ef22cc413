"""The append-only account ledger: every rupee owed or paid, as a signed entry."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from domain.enums import DepositKind, LedgerKind, ProposalStatus

if TYPE_CHECKING:
    from .billing import Bill
    from .customers import Account
    from .payments import Adjustment, Payment


class LedgerEntry(Model):
    """A debit (positive: the customer owes more) or credit (negative) on an account.

    Never updated or deleted (database triggers refuse it): corrections are new entries
    that point at what they reverse. Balances and ageing as of any date are sums over
    ``effective_on``. ``source_key`` names what posted the entry (``bill:42``,
    ``payment:PAY-…``) and is unique, so posting the same thing twice is impossible.
    """

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "gridbill.Account", related_name="ledger", on_delete=fields.RESTRICT
    )
    kind = fields.CharEnumField(LedgerKind, max_length=16)
    amount_paise = fields.BigIntField()
    effective_on = fields.DateField()
    posted_at = fields.DatetimeField(auto_now_add=True)
    source_key = fields.CharField(max_length=80, unique=True)
    description = fields.CharField(max_length=200, default="")
    bill: fields.ForeignKeyNullableRelation[Bill] = fields.ForeignKeyField(
        "gridbill.Bill", related_name="ledger_entries", null=True, on_delete=fields.RESTRICT
    )
    payment: fields.ForeignKeyNullableRelation[Payment] = fields.ForeignKeyField(
        "gridbill.Payment", related_name="ledger_entries", null=True, on_delete=fields.RESTRICT
    )
    adjustment: fields.ForeignKeyNullableRelation[Adjustment] = fields.ForeignKeyField(
        "gridbill.Adjustment", related_name="ledger_entries", null=True, on_delete=fields.RESTRICT
    )
    reverses: fields.ForeignKeyNullableRelation[LedgerEntry] = fields.ForeignKeyField(
        "gridbill.LedgerEntry", related_name="reversed_by", null=True, on_delete=fields.RESTRICT
    )

    class Meta:
        table = "ledger_entries"
        indexes = (Index(fields=("account_id", "effective_on", "id")),)


class GovernmentReceivable(Model):
    """What the government owes the utility for a subsidy shown on a customer's bill.

    One positive entry per subsidy scheme (the bill line's code) per issued bill, and a
    negative one when that bill is cancelled: a ledger of its own, apart from the
    customer's, so a subsidy never counts as the customer's payment or debt. The total
    owed as of a date is a sum over ``effective_on``. ``source_key`` is unique
    (``subsidy:<bill id>:<code>``, ``subsidy_cancel:<bill id>:<code>``).
    """

    id = fields.BigIntField(primary_key=True)
    bill: fields.ForeignKeyRelation[Bill] = fields.ForeignKeyField(
        "gridbill.Bill", related_name="government_receivables", on_delete=fields.RESTRICT
    )
    scheme = fields.CharField(max_length=60, description="the subsidy line's code")
    amount_paise = fields.BigIntField()
    effective_on = fields.DateField()
    posted_at = fields.DatetimeField(auto_now_add=True)
    source_key = fields.CharField(max_length=80, unique=True)
    description = fields.CharField(max_length=200, default="")

    class Meta:
        table = "government_receivables"
        indexes = (Index(fields=("effective_on", "scheme")),)


class DepositEntry(Model):
    """A movement of an account's security deposit: what is held is their sum.

    Kept apart from the ledger, whose balance is what bills ask for: a deposit is not a
    payment of bills. Where a movement is money the customer owes or is owed (a top-up
    billed, an excess refunded, the deposit applied to the final bill) it points at the
    ledger entry that carries it. ``source_key`` (unique) makes each review and the
    move-out happen once.
    """

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "gridbill.Account", related_name="deposit_entries", on_delete=fields.RESTRICT
    )
    kind = fields.CharEnumField(DepositKind, max_length=16)
    amount_paise = fields.BigIntField(description="positive: more held")
    effective_on = fields.DateField()
    posted_at = fields.DatetimeField(auto_now_add=True)
    source_key = fields.CharField(max_length=80, unique=True)
    description = fields.CharField(max_length=200, default="")
    ledger_entry: fields.ForeignKeyNullableRelation[LedgerEntry] = fields.ForeignKeyField(
        "gridbill.LedgerEntry", related_name="deposit_entries", null=True, on_delete=fields.RESTRICT
    )

    class Meta:
        table = "deposit_entries"
        indexes = (Index(fields=("account_id", "effective_on", "id")),)


class DepositProposal(Model):
    """A yearly review's top-up or refund, proposed to staff, one per account and year.

    Nothing moves while it is pending: approving posts the ledger entry and the deposit
    movement the review key names (``deposit-review:<account>:<year>``), rejecting leaves
    the deposit as it is. Either is audited, and deciding twice changes nothing.
    """

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "gridbill.Account", related_name="deposit_proposals", on_delete=fields.RESTRICT
    )
    year = fields.CharField(max_length=7, description="financial year, e.g. 2025-26")
    kind = fields.CharEnumField(DepositKind, max_length=16, description="top_up or refund")
    amount_paise = fields.BigIntField(description="the top-up or refund, positive")
    held_paise = fields.BigIntField()
    required_paise = fields.BigIntField()
    proposed_on = fields.DateField()
    status = fields.CharEnumField(ProposalStatus, max_length=16, default=ProposalStatus.PENDING)
    decided_by = fields.CharField(max_length=100, default="")
    decided_on = fields.DateField(null=True)
    reason = fields.CharField(max_length=200, default="")

    class Meta:
        table = "deposit_proposals"
        unique_together = (("account", "year"),)
