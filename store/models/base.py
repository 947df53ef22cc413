"""Shared column conventions for every table.

Model docstrings and field descriptions become SQL comments, and Tortoise's SQLite
migration runner splits statements on semicolons: keep semicolons out of both.

Money columns are signed integer paise (``*_paise``, BIGINT) and energy integer Wh
(``*_wh``): Tortoise's DecimalField is VARCHAR on SQLite, where sums and comparisons
would silently compare strings. All datetimes are timezone-aware and stored in UTC;
calendar dates (billing periods, due dates) are dates in the utility's time zone.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Timestamped(Model):
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        abstract = True
