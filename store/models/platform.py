"""Cross-cutting records: idempotency, the notification outbox, support, audit, jobs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from domain.enums import NotificationChannel, OutboxStatus, SupportStatus

from .base import Timestamped

if TYPE_CHECKING:
    from .customers import Account, Customer
    from .identity import User


class IdempotencyKey(Model):
    """The first response to a mutating request, returned again to every retry of it."""

    id = fields.BigIntField(primary_key=True)
    scope = fields.CharField(max_length=60, description="operation and caller")
    key = fields.CharField(max_length=100)
    request_sha256 = fields.CharField(max_length=64)
    response: fields.JSONField[Any] = fields.JSONField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "idempotency_keys"
        unique_together = (("scope", "key"),)


class OutboxMessage(Model):
    """A notification to send, written in the same transaction as the event that caused it.

    A sender drains pending rows, ``dedupe_key`` keeps one event from notifying twice.
    """

    id = fields.BigIntField(primary_key=True)
    event = fields.CharField(max_length=40, description="bill.issued, payment.captured…")
    channel = fields.CharEnumField(NotificationChannel, max_length=8)
    user: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "gridbill.User", related_name="notifications", null=True, on_delete=fields.SET_NULL
    )
    customer: fields.ForeignKeyNullableRelation[Customer] = fields.ForeignKeyField(
        "gridbill.Customer", related_name="notifications", null=True, on_delete=fields.SET_NULL
    )
    recipient = fields.CharField(max_length=254)
    subject = fields.CharField(max_length=200, default="")
    payload: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    dedupe_key = fields.CharField(max_length=120, unique=True)
    status = fields.CharEnumField(OutboxStatus, max_length=8, default=OutboxStatus.PENDING)
    attempts = fields.SmallIntField(default=0)
    next_attempt_at = fields.DatetimeField()
    sent_at = fields.DatetimeField(null=True)
    last_error = fields.TextField(default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    language = fields.CharField(max_length=5, default="en", db_default="en", description="en or hi")
    claimed_until = fields.DatetimeField(
        null=True, description="a dispatcher holds it until then, another may take it after"
    )
    read_at = fields.DatetimeField(null=True, description="in-app messages the customer opened")

    class Meta:
        table = "outbox_messages"
        indexes = (
            Index(fields=("status", "next_attempt_at")),
            Index(fields=("customer_id", "created_at")),
        )


class NotificationPreference(Timestamped):
    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "gridbill.User", related_name="notification_preferences", on_delete=fields.CASCADE
    )
    event = fields.CharField(max_length=40)
    channel = fields.CharEnumField(NotificationChannel, max_length=8)
    enabled = fields.BooleanField(default=True)

    class Meta:
        table = "notification_preferences"
        unique_together = (("user", "event", "channel"),)


class SupportRequest(Timestamped):
    id = fields.IntField(primary_key=True)
    number = fields.CharField(max_length=32, unique=True)
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "gridbill.Customer", related_name="support_requests", on_delete=fields.RESTRICT
    )
    account: fields.ForeignKeyNullableRelation[Account] = fields.ForeignKeyField(
        "gridbill.Account", related_name="support_requests", null=True, on_delete=fields.RESTRICT
    )
    category = fields.CharField(max_length=30, description="billing, outage, meter, payment, other")
    subject = fields.CharField(max_length=200)
    status = fields.CharEnumField(SupportStatus, max_length=20, default=SupportStatus.OPEN)
    assigned_to: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "gridbill.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    closed_at = fields.DatetimeField(null=True)
    sla_due_at = fields.DatetimeField(
        null=True, description="resolve by then (GRIDBILL_SUPPORT_SLA per category)"
    )

    class Meta:
        table = "support_requests"
        indexes = (
            Index(fields=("customer_id", "created_at")),
            Index(fields=("status", "created_at")),
        )


class SupportMessage(Model):
    id = fields.BigIntField(primary_key=True)
    request: fields.ForeignKeyRelation[SupportRequest] = fields.ForeignKeyField(
        "gridbill.SupportRequest", related_name="messages", on_delete=fields.CASCADE
    )
    author: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "gridbill.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    body = fields.TextField()
    is_internal = fields.BooleanField(default=False, description="staff-only note")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "support_messages"


class AuditLog(Model):
    """Who changed what, when and why, written in the transaction of the change itself."""

    id = fields.BigIntField(primary_key=True)
    at = fields.DatetimeField(auto_now_add=True, db_index=True)
    actor: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "gridbill.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    actor_label = fields.CharField(
        max_length=100, default="", description="system, partner:ID, device:UID"
    )
    action = fields.CharField(max_length=60)
    entity = fields.CharField(max_length=40)
    entity_id = fields.CharField(max_length=40)
    before: fields.JSONField[Any] = fields.JSONField(null=True)
    after: fields.JSONField[Any] = fields.JSONField(null=True)
    reason = fields.TextField(default="")
    request_id = fields.CharField(max_length=40, default="")

    class Meta:
        table = "audit_log"
        indexes = (Index(fields=("entity", "entity_id")),)


class JobRun(Model):
    """A background task's execution, whichever engine ran it, the housekeeping report."""

    id = fields.BigIntField(primary_key=True)
    task = fields.CharField(max_length=60, db_index=True)
    engine = fields.CharField(max_length=20, description="procrastinate or inprocess")
    started_at = fields.DatetimeField()
    finished_at = fields.DatetimeField(null=True)
    succeeded = fields.BooleanField(null=True)
    result: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)

    class Meta:
        table = "job_runs"


class ThrottleCounter(Model):
    """Failures counted per key in a fixed time window, shared by every server process.

    Used on PostgreSQL only (SQLite deployments are one process and count in memory).
    """

    id = fields.BigIntField(primary_key=True)
    key = fields.CharField(max_length=200, description="what is counted, e.g. sign-in by address")
    window_start = fields.BigIntField(description="Unix time the window began")
    hits = fields.IntField(default=0)
    expires_at = fields.BigIntField(db_index=True, description="Unix time the row may be deleted")

    class Meta:
        table = "throttle_counters"
        unique_together = (("key", "window_start"),)
