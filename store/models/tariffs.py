"""Tariffs as versioned documents, and the holiday calendars their time-of-use rules read."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tortoise import fields

from .base import Timestamped

if TYPE_CHECKING:
    from .identity import User


class Tariff(Timestamped):
    """A named rate schedule (e.g. ``LT-1A domestic``), its rates live in versions."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=40, unique=True)
    name = fields.CharField(max_length=200)
    category = fields.CharField(max_length=40, db_index=True)
    currency = fields.CharField(max_length=3, default="INR")
    holiday_calendar = fields.CharField(max_length=40, default="default")

    class Meta:
        table = "tariffs"


class TariffVersion(Timestamped):
    """One regulator order's rates, immutable once created, a new order is a new version.

    ``document`` is the tariff in gridbill's JSON format (docs/tariffs.md) and
    ``document_sha256`` lets bills prove which exact rates priced them.
    """

    id = fields.IntField(primary_key=True)
    tariff: fields.ForeignKeyRelation[Tariff] = fields.ForeignKeyField(
        "gridbill.Tariff", related_name="versions", on_delete=fields.RESTRICT
    )
    version = fields.IntField()
    effective_from = fields.DateField()
    effective_to = fields.DateField(null=True, description="exclusive")
    document: fields.JSONField[Any] = fields.JSONField()
    document_sha256 = fields.CharField(max_length=64)
    source_reference = fields.TextField(default="", description="regulator order cited")
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "gridbill.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )

    class Meta:
        table = "tariff_versions"
        unique_together = (("tariff", "version"), ("tariff", "effective_from"))


class Holiday(Timestamped):
    """A public holiday, priced like a weekend by time-of-use tariffs that say so."""

    id = fields.IntField(primary_key=True)
    calendar = fields.CharField(max_length=40, default="default")
    day = fields.DateField()
    name = fields.CharField(max_length=200)

    class Meta:
        table = "holidays"
        unique_together = (("calendar", "day"),)
