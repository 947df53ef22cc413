"""Field devices and what they sent: the audit trail of the sync protocol."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from domain.enums import SyncItemResult

from .base import Timestamped

if TYPE_CHECKING:
    from .identity import User
    from .metering import Meter


class FieldDevice(Timestamped):
    """A handset enrolled to a meter reader, with its own revocable credential."""

    id = fields.IntField(primary_key=True)
    device_uid = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=100)
    reader: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "gridbill.User", related_name="devices", on_delete=fields.RESTRICT
    )
    credential_hash = fields.CharField(max_length=200)
    enrolled_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "gridbill.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    revoked_at = fields.DatetimeField(null=True)
    last_seen_at = fields.DatetimeField(null=True)
    app_version = fields.CharField(max_length=20, default="")
    pull_cursor = fields.CharField(
        max_length=200, default="", description="last cursor it acknowledged"
    )
    last_pull_at = fields.DatetimeField(null=True, description="when it last pulled")

    class Meta:
        table = "field_devices"


class FieldDeviceRoute(Model):
    """A route whose stops a device has been sent.

    A stop that changes on such a route after the route went to another reader reaches
    the device as a tombstone. Devices never hear of changes on routes they never held.
    """

    id = fields.BigIntField(primary_key=True)
    device: fields.ForeignKeyRelation[FieldDevice] = fields.ForeignKeyField(
        "gridbill.FieldDevice", related_name="routes_held", on_delete=fields.CASCADE
    )
    route_id = fields.IntField()
    first_sent_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "field_device_routes"
        unique_together = (("device", "route_id"),)


class SyncBatch(Model):
    """One push from a device, replays are answered from here, byte for byte."""

    id = fields.BigIntField(primary_key=True)
    device: fields.ForeignKeyRelation[FieldDevice] = fields.ForeignKeyField(
        "gridbill.FieldDevice", related_name="batches", on_delete=fields.RESTRICT
    )
    batch_uuid = fields.UUIDField()
    content_sha256 = fields.CharField(max_length=64)
    device_clock_at = fields.DatetimeField(null=True)
    device_time_zone = fields.CharField(max_length=64, default="")
    clock_offset_s = fields.IntField(default=0, description="server receive time − device clock")
    received_at = fields.DatetimeField(auto_now_add=True)
    completed_at = fields.DatetimeField(null=True)
    item_count = fields.IntField(default=0)
    replay_count = fields.IntField(default=0)

    class Meta:
        table = "sync_batches"
        unique_together = (("device", "batch_uuid"),)


class SyncItem(Model):
    """One record in a push and what the server did with it."""

    id = fields.BigIntField(primary_key=True)
    batch: fields.ForeignKeyRelation[SyncBatch] = fields.ForeignKeyField(
        "gridbill.SyncBatch", related_name="items", on_delete=fields.CASCADE
    )
    position = fields.IntField()
    kind = fields.CharField(max_length=12, description="read, edit, skip")
    client_uuid = fields.UUIDField(db_index=True)
    payload: fields.JSONField[Any] = fields.JSONField()
    result = fields.CharEnumField(SyncItemResult, max_length=20)
    rule = fields.CharField(max_length=40, default="")
    detail: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    processed_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "sync_items"
        unique_together = (("batch", "position"),)


class FieldVisit(Timestamped):
    """A visit that produced no read (no access, meter damaged…), reported from the field."""

    id = fields.BigIntField(primary_key=True)
    client_uuid = fields.UUIDField(unique=True)
    meter: fields.ForeignKeyRelation[Meter] = fields.ForeignKeyField(
        "gridbill.Meter", related_name="visits", on_delete=fields.RESTRICT
    )
    device: fields.ForeignKeyNullableRelation[FieldDevice] = fields.ForeignKeyField(
        "gridbill.FieldDevice", related_name="visits", null=True, on_delete=fields.SET_NULL
    )
    reader: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "gridbill.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    visited_at = fields.DatetimeField()
    skip_code = fields.CharField(max_length=30)
    notes = fields.TextField(default="")
    latitude = fields.FloatField(null=True)
    longitude = fields.FloatField(null=True)
    photo_uuid = fields.UUIDField(null=True, db_index=True)

    class Meta:
        table = "field_visits"
        indexes = (Index(fields=("meter_id", "visited_at")),)


class Photo(Timestamped):
    """A meter photo uploaded in resumable chunks, ``bytes_received`` is where to resume."""

    id = fields.BigIntField(primary_key=True)
    uuid = fields.UUIDField(unique=True)
    device: fields.ForeignKeyRelation[FieldDevice] = fields.ForeignKeyField(
        "gridbill.FieldDevice", related_name="photos", on_delete=fields.RESTRICT
    )
    content_type = fields.CharField(max_length=40, default="image/jpeg")
    size_bytes = fields.BigIntField()
    sha256 = fields.CharField(max_length=64)
    bytes_received = fields.BigIntField(default=0)
    storage_path = fields.CharField(max_length=300, default="")
    completed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "photos"
