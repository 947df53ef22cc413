"""Bill runs, bills, their line items and the reads they used."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from domain.enums import BillRunStatus, BillStatus

from .base import Timestamped

if TYPE_CHECKING:
    from .customers import Account, Customer
    from .identity import User
    from .metering import Register, RegisterRead
    from .routes import BillingCycle
    from .tariffs import TariffVersion


class BillRun(Timestamped):
    """One execution of billing for a cycle and period, resumable, so progress is stored."""

    id = fields.IntField(primary_key=True)
    cycle: fields.ForeignKeyRelation[BillingCycle] = fields.ForeignKeyField(
        "gridbill.BillingCycle", related_name="bill_runs", on_delete=fields.RESTRICT
    )
    period_start = fields.DateField()
    period_end = fields.DateField(description="inclusive")
    status = fields.CharEnumField(BillRunStatus, max_length=10, default=BillRunStatus.PENDING)
    started_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "gridbill.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    started_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)
    last_account_id = fields.IntField(
        default=0, description="resume point: accounts are billed in id order"
    )
    accounts_total = fields.IntField(default=0)
    bills_created = fields.IntField(default=0)
    bills_estimated = fields.IntField(default=0)
    accounts_skipped = fields.IntField(default=0)
    total_billed_paise = fields.BigIntField(default=0)
    skip_reasons: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    error = fields.TextField(default="")

    class Meta:
        table = "bill_runs"
        indexes = (Index(fields=("cycle_id", "period_start")),)


class Bill(Timestamped):
    """A bill for one account and period.

    ``active_period`` equals ``period_start`` unless the bill is cancelled, when it is NULL:
    the unique (account, active_period) constraint is how the database itself guarantees
    one active bill per account and period while cancelled bills and their rebills coexist.
    ``number`` is given at issue from a gapless per-financial-year sequence, ``snapshot``
    freezes the tariff version, reads and lines used, and never changes after issue.
    """

    id = fields.BigIntField(primary_key=True)
    number = fields.CharField(max_length=32, null=True, unique=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "gridbill.Account", related_name="bills", on_delete=fields.RESTRICT
    )
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "gridbill.Customer", related_name="bills", on_delete=fields.RESTRICT
    )
    bill_run: fields.ForeignKeyNullableRelation[BillRun] = fields.ForeignKeyField(
        "gridbill.BillRun", related_name="bills", null=True, on_delete=fields.SET_NULL
    )
    period_start = fields.DateField()
    period_end = fields.DateField(description="inclusive")
    active_period = fields.DateField(null=True)
    status = fields.CharEnumField(BillStatus, max_length=10, default=BillStatus.DRAFT)
    is_estimated = fields.BooleanField(default=False)
    is_final = fields.BooleanField(default=False, description="move-out final bill")
    estimate_basis = fields.CharField(max_length=40, default="")
    currency = fields.CharField(max_length=3, default="INR")
    consumption_wh = fields.BigIntField(default=0)
    max_demand_w = fields.BigIntField(default=0)
    charges_paise = fields.BigIntField(default=0, description="this period's charges incl. levies")
    rounding_paise = fields.BigIntField(default=0)
    total_paise = fields.BigIntField(
        default=0, description="charges + rounding: what this bill adds"
    )
    arrears_paise = fields.BigIntField(default=0, description="ledger balance carried in")
    late_fee_paise = fields.BigIntField(default=0)
    payable_paise = fields.BigIntField(default=0, description="total + arrears + late fee")
    paid_paise = fields.BigIntField(
        default=0, description="sum of allocations, kept in step with them"
    )
    issue_date = fields.DateField(null=True)
    due_date = fields.DateField(null=True)
    tariff_version: fields.ForeignKeyNullableRelation[TariffVersion] = fields.ForeignKeyField(
        "gridbill.TariffVersion", related_name="bills", null=True, on_delete=fields.RESTRICT
    )
    snapshot: fields.JSONField[Any] = fields.JSONField(null=True)
    replaces: fields.ForeignKeyNullableRelation[Bill] = fields.ForeignKeyField(
        "gridbill.Bill", related_name="replaced_by", null=True, on_delete=fields.RESTRICT
    )
    issued_at = fields.DatetimeField(null=True)
    cancelled_at = fields.DatetimeField(null=True)
    cancel_reason = fields.TextField(default="")
    pdf_path = fields.CharField(max_length=300, default="")
    pdf_sha256 = fields.CharField(max_length=64, default="")

    class Meta:
        table = "bills"
        unique_together = (("account", "active_period"),)
        indexes = (
            Index(fields=("account_id", "period_start")),
            Index(fields=("customer_id", "period_start")),
            Index(fields=("status", "due_date")),
        )


class BillLine(Model):
    """One priced component of a bill, rounded once (see docs/tariffs.md, "Rounding")."""

    id = fields.BigIntField(primary_key=True)
    bill: fields.ForeignKeyRelation[Bill] = fields.ForeignKeyField(
        "gridbill.Bill", related_name="lines", on_delete=fields.CASCADE
    )
    position = fields.SmallIntField()
    component = fields.CharField(max_length=20, description="fixed, energy, demand, levy, subsidy…")
    code = fields.CharField(max_length=60)
    description = fields.CharField(max_length=200)
    quantity = fields.CharField(max_length=40, default="", description="exact decimal, for display")
    unit = fields.CharField(max_length=12, default="")
    rate = fields.CharField(max_length=40, default="", description="exact decimal, for display")
    amount_paise = fields.BigIntField()
    tou_period = fields.CharField(max_length=20, default="")

    class Meta:
        table = "bill_lines"
        unique_together = (("bill", "position"),)


class BillRead(Model):
    """A pair of reads a bill used for one register, and the consumption derived from them."""

    id = fields.BigIntField(primary_key=True)
    bill: fields.ForeignKeyRelation[Bill] = fields.ForeignKeyField(
        "gridbill.Bill", related_name="reads_used", on_delete=fields.CASCADE
    )
    register: fields.ForeignKeyRelation[Register] = fields.ForeignKeyField(
        "gridbill.Register", related_name=False, on_delete=fields.RESTRICT
    )
    opening_read: fields.ForeignKeyNullableRelation[RegisterRead] = fields.ForeignKeyField(
        "gridbill.RegisterRead", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    closing_read: fields.ForeignKeyNullableRelation[RegisterRead] = fields.ForeignKeyField(
        "gridbill.RegisterRead", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    opening_milli = fields.BigIntField()
    closing_milli = fields.BigIntField()
    multiplier = fields.CharField(max_length=20, default="1", description="exact decimal")
    consumption_wh = fields.BigIntField()
    is_estimated = fields.BooleanField(default=False)

    class Meta:
        table = "bill_reads"


class BilledSpan(Model):
    """Interval readings of a register that an issued bill priced: ``[starts_at, ends_at)``.

    Written in the transaction that issues an interval-priced bill and deleted when the
    bill is cancelled, so deliveries refuse to revise what a bill stands on. One row per
    bill and register rather than a flag per interval keeps issuing set-based.
    """

    id = fields.BigIntField(primary_key=True)
    bill: fields.ForeignKeyRelation[Bill] = fields.ForeignKeyField(
        "gridbill.Bill", related_name="billed_spans", on_delete=fields.CASCADE
    )
    register: fields.ForeignKeyRelation[Register] = fields.ForeignKeyField(
        "gridbill.Register", related_name=False, on_delete=fields.RESTRICT
    )
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()

    class Meta:
        table = "billed_spans"
        indexes = (Index(fields=("register_id", "starts_at")),)


class DocumentSequence(Model):
    """Gapless counters for bill and receipt numbers, one row per series and financial year.

    Numbers are taken inside the transaction that issues the document, so a rollback gives
    the number back and the series never has holes.
    """

    id = fields.IntField(primary_key=True)
    series = fields.CharField(max_length=20, description="bill, receipt, credit_note, support")
    financial_year = fields.CharField(max_length=9, description="e.g. 2026-27")
    last_value = fields.BigIntField(default=0)

    class Meta:
        table = "document_sequences"
        unique_together = (("series", "financial_year"),)
