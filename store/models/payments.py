"""Payments by every method, how they settle bills, refunds and adjustments."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from domain.enums import AdjustmentKind, PaymentMethod, PaymentStatus, RefundStatus

from .base import Timestamped

if TYPE_CHECKING:
    from .billing import Bill
    from .customers import Account
    from .identity import User


class Payment(Timestamped):
    """Money received (or promised, while ``created``) on an account.

    ``reference`` is ours and is sent to Razorpay as the order receipt, a Razorpay payment
    is unique by ``gateway_payment_id`` so the app callback and both webhooks converge on
    one row. No card data is ever stored.
    """

    id = fields.BigIntField(primary_key=True)
    reference = fields.CharField(max_length=40, unique=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "gridbill.Account", related_name="payments", on_delete=fields.RESTRICT
    )
    bill: fields.ForeignKeyNullableRelation[Bill] = fields.ForeignKeyField(
        "gridbill.Bill", related_name="payments", null=True, on_delete=fields.RESTRICT
    )
    method = fields.CharEnumField(PaymentMethod, max_length=16)
    status = fields.CharEnumField(PaymentStatus, max_length=12, default=PaymentStatus.CREATED)
    amount_paise = fields.BigIntField()
    currency = fields.CharField(max_length=3, default="INR")
    gateway_order_id = fields.CharField(max_length=40, null=True, unique=True)
    gateway_payment_id = fields.CharField(max_length=40, null=True, unique=True)
    gateway_method = fields.CharField(
        max_length=20, default="", description="upi, card, netbanking…"
    )
    receipt_number = fields.CharField(max_length=32, null=True, unique=True)
    instrument_number = fields.CharField(max_length=40, default="", description="cheque no., UTR")
    instrument_bank = fields.CharField(max_length=100, default="")
    instrument_date = fields.DateField(null=True)
    received_on = fields.DateField(null=True, description="value date in the utility's time zone")
    captured_at = fields.DatetimeField(null=True)
    failure_reason = fields.TextField(default="")
    recorded_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "gridbill.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    payer: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "gridbill.User", related_name="payments", null=True, on_delete=fields.SET_NULL
    )

    class Meta:
        table = "payments"
        indexes = (
            Index(fields=("account_id", "created_at")),
            Index(fields=("status", "created_at")),
        )


class PaymentAllocation(Model):
    """Part of a payment applied to a bill, a reversal is a negative row, never an edit."""

    id = fields.BigIntField(primary_key=True)
    payment: fields.ForeignKeyRelation[Payment] = fields.ForeignKeyField(
        "gridbill.Payment", related_name="allocations", on_delete=fields.RESTRICT
    )
    bill: fields.ForeignKeyNullableRelation[Bill] = fields.ForeignKeyField(
        "gridbill.Bill",
        related_name="allocations",
        null=True,
        on_delete=fields.RESTRICT,
        description="null: held as account credit",
    )
    amount_paise = fields.BigIntField()
    reverses: fields.ForeignKeyNullableRelation[PaymentAllocation] = fields.ForeignKeyField(
        "gridbill.PaymentAllocation", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "payment_allocations"
        indexes = (Index(fields=("bill_id",)), Index(fields=("payment_id",)))


class Refund(Timestamped):
    id = fields.BigIntField(primary_key=True)
    payment: fields.ForeignKeyRelation[Payment] = fields.ForeignKeyField(
        "gridbill.Payment", related_name="refunds", on_delete=fields.RESTRICT
    )
    gateway_refund_id = fields.CharField(max_length=40, null=True, unique=True)
    amount_paise = fields.BigIntField()
    status = fields.CharEnumField(RefundStatus, max_length=10, default=RefundStatus.PENDING)
    reason = fields.TextField(default="")
    requested_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "gridbill.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    processed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "refunds"


class Adjustment(Timestamped):
    """A credit or debit note raised by staff (waiver, correction, bounce fee, subsidy)."""

    id = fields.BigIntField(primary_key=True)
    number = fields.CharField(max_length=32, unique=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "gridbill.Account", related_name="adjustments", on_delete=fields.RESTRICT
    )
    bill: fields.ForeignKeyNullableRelation[Bill] = fields.ForeignKeyField(
        "gridbill.Bill", related_name="adjustments", null=True, on_delete=fields.RESTRICT
    )
    kind = fields.CharEnumField(AdjustmentKind, max_length=20)
    amount_paise = fields.BigIntField(description="positive: the customer owes more")
    reason = fields.TextField()
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "gridbill.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    approved_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "gridbill.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )

    class Meta:
        table = "adjustments"


class GatewayEvent(Model):
    """A webhook delivery, kept once per event id so redeliveries are acknowledged, not re-applied."""

    id = fields.BigIntField(primary_key=True)
    gateway = fields.CharField(max_length=20, default="razorpay")
    event_id = fields.CharField(max_length=64)
    event_type = fields.CharField(max_length=40)
    payload: fields.JSONField[Any] = fields.JSONField()
    received_at = fields.DatetimeField(auto_now_add=True)
    processed_at = fields.DatetimeField(null=True)
    outcome = fields.CharField(max_length=200, default="")

    class Meta:
        table = "gateway_events"
        unique_together = (("gateway", "event_id"),)


class GatewayRecord(Model):
    """A payment as the gateway itself reported it, stored by ``gridbill reconcile``.

    One row per gateway payment id, refreshed each time reconciliation sees it again.
    The reconciliation report compares these with the ledger day by day without calling
    the gateway. ``created_on`` is the gateway's creation time as a date in the utility's
    time zone.
    """

    id = fields.BigIntField(primary_key=True)
    gateway = fields.CharField(max_length=20, default="razorpay")
    gateway_payment_id = fields.CharField(max_length=40, unique=True)
    order_id = fields.CharField(max_length=40, default="")
    status = fields.CharField(max_length=20, description="the gateway's status word")
    method = fields.CharField(max_length=20, default="")
    amount_paise = fields.BigIntField()
    created_at = fields.DatetimeField(description="the gateway's creation time")
    created_on = fields.DateField(description="created_at's date in GRIDBILL_TIME_ZONE")
    fetched_at = fields.DatetimeField(description="when reconciliation last read it")

    class Meta:
        table = "gateway_records"
        indexes = (Index(fields=("created_on",)),)
