"""Delivery records of notifications: attempts, push device tokens, dunning steps taken."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from .base import Timestamped

if TYPE_CHECKING:
    from .billing import Bill
    from .customers import Account
    from .identity import User
    from .platform import OutboxMessage


class NotificationAttempt(Model):
    """One try at delivering an outbox message, with what the provider answered."""

    id = fields.BigIntField(primary_key=True)
    message: fields.ForeignKeyRelation[OutboxMessage] = fields.ForeignKeyField(
        "gridbill.OutboxMessage", related_name="delivery_attempts", on_delete=fields.CASCADE
    )
    number = fields.SmallIntField()
    at = fields.DatetimeField()
    succeeded = fields.BooleanField()
    provider_answer = fields.TextField(default="", description="status and body, shortened")
    worker = fields.CharField(max_length=60, default="")

    class Meta:
        table = "notification_attempts"


class DeviceToken(Timestamped):
    """A Firebase Cloud Messaging registration token of a signed-in user's app."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "gridbill.User", related_name="device_tokens", on_delete=fields.CASCADE
    )
    token = fields.CharField(max_length=400, unique=True)
    platform = fields.CharField(max_length=10, default="android")

    class Meta:
        table = "device_tokens"


class DunningStep(Model):
    """A dunning step taken for an unpaid bill, once: the schedule's idempotency record."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "gridbill.Account", related_name="dunning_steps", on_delete=fields.RESTRICT
    )
    bill: fields.ForeignKeyRelation[Bill] = fields.ForeignKeyField(
        "gridbill.Bill", related_name="dunning_steps", on_delete=fields.RESTRICT
    )
    step = fields.CharField(max_length=30, description="reminder, overdue, disconnection_notice")
    taken_on = fields.DateField(description="local date the step was taken (notice served)")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "dunning_steps"
        unique_together = (("bill", "step"),)


class SignInCode(Model):
    """A one-time code sent to a person to sign in or reset their password.

    Only its HMAC is kept; it is short-lived, used once, and attempts at it are counted.
    """

    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "gridbill.User", related_name="sign_in_codes", on_delete=fields.CASCADE
    )
    purpose = fields.CharField(max_length=20, description="sign_in or reset_password")
    channel = fields.CharField(max_length=8, description="email or sms")
    address = fields.CharField(max_length=254, description="where the code was sent")
    code_hash = fields.CharField(max_length=64)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    failed_attempts = fields.SmallIntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "sign_in_codes"
        indexes = (Index(fields=("user_id", "created_at")), Index(fields=("address", "created_at")))
