"""Billing cycles, and the routes meter readers walk within them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.indexes import Index

from .base import Timestamped

if TYPE_CHECKING:
    from .field import FieldDevice
    from .identity import User
    from .metering import Meter


class BillingCycle(Timestamped):
    """A group of accounts read and billed together (e.g. cycle 05: read 1st–5th, billed 7th)."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=20, unique=True)
    name = fields.CharField(max_length=100)
    read_day = fields.SmallIntField(default=1, description="day of month reads are due")
    bill_day = fields.SmallIntField(default=5)
    due_days = fields.SmallIntField(default=15, description="days from issue to due date")

    class Meta:
        table = "billing_cycles"


class BillingCalendarDate(Timestamped):
    """A cycle's read date and bill date for one billing month, where they differ from the
    cycle's usual days (a holiday, a strike): scheduled runs draft on the bill date."""

    id = fields.IntField(primary_key=True)
    cycle: fields.ForeignKeyRelation[BillingCycle] = fields.ForeignKeyField(
        "gridbill.BillingCycle", related_name="calendar", on_delete=fields.CASCADE
    )
    month = fields.DateField(description="first day of the billing month")
    read_date = fields.DateField()
    bill_date = fields.DateField()
    reason = fields.CharField(max_length=200, default="")

    class Meta:
        table = "billing_calendar"
        unique_together = (("cycle", "month"),)


class Route(Timestamped):
    """An ordered walk of meters, assigned to one reader at a time."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=20, unique=True)
    name = fields.CharField(max_length=100)
    cycle: fields.ForeignKeyRelation[BillingCycle] = fields.ForeignKeyField(
        "gridbill.BillingCycle", related_name="routes", on_delete=fields.RESTRICT
    )
    reader: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "gridbill.User", related_name="routes", null=True, on_delete=fields.SET_NULL
    )

    class Meta:
        table = "routes"


class RouteStop(Timestamped):
    """A meter's place on a route.

    A meter leaves a route by setting ``removed_at`` rather than deleting the row, so the
    field sync can send the device a tombstone, ``updated_at`` is its change cursor.
    ``active_meter`` is the meter's id while the stop is active and NULL after removal:
    the unique constraint on it allows a meter on only one route at a time on both SQLite
    and PostgreSQL (where NULLs never collide).
    """

    id = fields.IntField(primary_key=True)
    route: fields.ForeignKeyRelation[Route] = fields.ForeignKeyField(
        "gridbill.Route", related_name="stops", on_delete=fields.RESTRICT
    )
    meter: fields.ForeignKeyRelation[Meter] = fields.ForeignKeyField(
        "gridbill.Meter", related_name="route_stops", on_delete=fields.RESTRICT
    )
    active_meter = fields.IntField(null=True, unique=True)
    sequence = fields.IntField()
    removed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "route_stops"
        indexes = (
            Index(fields=("route_id", "updated_at", "id")),
            Index(fields=("route_id", "sequence")),
        )


class ReaderMessage(Timestamped):
    """A note from the office to a meter reader (or one of their devices), delivered by sync."""

    id = fields.IntField(primary_key=True)
    reader: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "gridbill.User", related_name="reader_messages", on_delete=fields.CASCADE
    )
    device: fields.ForeignKeyNullableRelation[FieldDevice] = fields.ForeignKeyField(
        "gridbill.FieldDevice",
        related_name="messages",
        null=True,
        on_delete=fields.CASCADE,
        description="only this device, or NULL for every device of the reader",
    )
    sent_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "gridbill.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    body = fields.TextField()
    read_at = fields.DatetimeField(null=True)

    class Meta:
        table = "reader_messages"
