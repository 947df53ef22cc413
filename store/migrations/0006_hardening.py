"""Hardening (issue 12): shared throttle counters and the staff second factor (TOTP).

``throttle_counters`` holds fixed-window failure counts that every server process shares
on PostgreSQL (``services.identity.throttle``). ``users`` gains the TOTP key, when it was
confirmed, and the last time step accepted (a code works once).
"""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("gridbill", "0005_meterdata_quarantine")]

    initial = False

    operations = [
        ops.CreateModel(
            name="ThrottleCounter",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                (
                    "key",
                    fields.CharField(
                        description="what is counted, e.g. sign-in by address", max_length=200
                    ),
                ),
                ("window_start", fields.BigIntField(description="Unix time the window began")),
                ("hits", fields.IntField(default=0)),
                (
                    "expires_at",
                    fields.BigIntField(
                        db_index=True, description="Unix time the row may be deleted"
                    ),
                ),
            ],
            options={
                "table": "throttle_counters",
                "app": "gridbill",
                "unique_together": (("key", "window_start"),),
                "pk_attr": "id",
                "table_description": "Failures counted per key in a fixed time window, shared by every server process.",
            },
            bases=["Model"],
        ),
        ops.AddField(
            model_name="User",
            name="totp_enabled_at",
            field=fields.DatetimeField(
                null=True,
                description="second factor confirmed at",
                auto_now=False,
                auto_now_add=False,
            ),
        ),
        ops.AddField(
            model_name="User",
            name="totp_last_step",
            field=fields.BigIntField(
                default=0,
                db_default=0,  # existing users get 0: a NOT NULL column needs a database default
                description="last accepted TOTP time step, so a code works once"
            ),
        ),
        ops.AddField(
            model_name="User",
            name="totp_secret",
            field=fields.CharField(
                null=True,
                description="base32 TOTP key, set while enrolling or enrolled",
                max_length=64,
            ),
        ),
    ]
