"""Notifications (issue 15): delivery attempts, push tokens, dunning steps, outbox leases.

Customers get a language and a high-usage threshold; outbox rows a language, a claim
lease for dispatchers and an in-app read mark; support requests an SLA due time; sign-in codes are a new table. Adding ``inapp``/``skipped`` to the
channel and status enums only changes column descriptions, but Tortoise 1.1 alters a
column on SQLite by rebuilding the table and loses its indexes and ``unique_together`` on
the way, so the SQLite branch puts them back. PostgreSQL alters in place and keeps them.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
from domain.enums import NotificationChannel, OutboxStatus
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

SQLITE_INDEXES = [
    'CREATE UNIQUE INDEX IF NOT EXISTS "uid_notificatio_user_id_event_channel" '
    'ON "notification_preferences" ("user_id", "event", "channel")',
    'CREATE INDEX IF NOT EXISTS "idx_outbox_mess_status_next_attempt" '
    'ON "outbox_messages" ("status", "next_attempt_at")',
    'CREATE INDEX IF NOT EXISTS "idx_outbox_mess_customer_created" '
    'ON "outbox_messages" ("customer_id", "created_at")',
]


async def restore_sqlite_indexes(apps, schema_editor) -> None:
    if schema_editor.DIALECT == "sqlite":
        for sql in SQLITE_INDEXES:
            await schema_editor.client.execute_query(sql)


class Migration(migrations.Migration):
    dependencies = [('gridbill', '0006_hardening')]

    initial = False

    operations = [
        ops.CreateModel(
            name='DeviceToken',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('gridbill.User', source_field='user_id', db_constraint=True, to_field='id', related_name='device_tokens', on_delete=OnDelete.CASCADE)),
                ('token', fields.CharField(unique=True, max_length=400)),
                ('platform', fields.CharField(default='android', max_length=10)),
            ],
            options={'table': 'device_tokens', 'app': 'gridbill', 'pk_attr': 'id', 'table_description': "A Firebase Cloud Messaging registration token of a signed-in user's app."},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='DunningStep',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('gridbill.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='dunning_steps', on_delete=OnDelete.RESTRICT)),
                ('bill', fields.ForeignKeyField('gridbill.Bill', source_field='bill_id', db_constraint=True, to_field='id', related_name='dunning_steps', on_delete=OnDelete.RESTRICT)),
                ('step', fields.CharField(description='reminder, overdue, disconnection_notice', max_length=30)),
                ('taken_on', fields.DateField(description='local date the step was taken (notice served)')),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'dunning_steps', 'app': 'gridbill', 'unique_together': (('bill', 'step'),), 'pk_attr': 'id', 'table_description': "A dunning step taken for an unpaid bill, once: the schedule's idempotency record."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='NotificationAttempt',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('message', fields.ForeignKeyField('gridbill.OutboxMessage', source_field='message_id', db_constraint=True, to_field='id', related_name='delivery_attempts', on_delete=OnDelete.CASCADE)),
                ('number', fields.SmallIntField()),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('succeeded', fields.BooleanField()),
                ('provider_answer', fields.TextField(default='', description='status and body, shortened', unique=False)),
                ('worker', fields.CharField(default='', max_length=60)),
            ],
            options={'table': 'notification_attempts', 'app': 'gridbill', 'pk_attr': 'id', 'table_description': 'One try at delivering an outbox message, with what the provider answered.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Customer',
            name='high_usage_threshold_wh',
            field=fields.BigIntField(null=True, description='tell the customer of a bill above this, else above their history'),
        ),
        ops.AddField(
            model_name='Customer',
            name='language',
            field=fields.CharField(null=True, default='en', description='notifications: en or hi (NULL: en)', max_length=5),
        ),
        ops.AlterField(
            model_name='NotificationPreference',
            name='channel',
            field=fields.CharEnumField(description='EMAIL: email\nSMS: sms\nPUSH: push\nINAPP: inapp', enum_type=NotificationChannel, max_length=8),
        ),
        ops.AlterField(
            model_name='OutboxMessage',
            name='channel',
            field=fields.CharEnumField(description='EMAIL: email\nSMS: sms\nPUSH: push\nINAPP: inapp', enum_type=NotificationChannel, max_length=8),
        ),
        ops.AlterField(
            model_name='OutboxMessage',
            name='status',
            field=fields.CharEnumField(default=OutboxStatus.PENDING, description='PENDING: pending\nSENT: sent\nFAILED: failed\nSKIPPED: skipped', enum_type=OutboxStatus, max_length=8),
        ),
        ops.AddField(
            model_name='OutboxMessage',
            name='claimed_until',
            field=fields.DatetimeField(null=True, description='a dispatcher holds it until then, another may take it after', auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='OutboxMessage',
            name='language',
            field=fields.CharField(default='en', db_default='en', description='en or hi', max_length=5),
        ),
        ops.AddField(
            model_name='OutboxMessage',
            name='read_at',
            field=fields.DatetimeField(null=True, description='in-app messages the customer opened', auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='SupportRequest',
            name='sla_due_at',
            field=fields.DatetimeField(null=True, description='resolve by then (GRIDBILL_SUPPORT_SLA per category)', auto_now=False, auto_now_add=False),
        ),
        ops.CreateModel(
            name='SignInCode',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('gridbill.User', source_field='user_id', db_constraint=True, to_field='id', related_name='sign_in_codes', on_delete=OnDelete.CASCADE)),
                ('purpose', fields.CharField(description='sign_in or reset_password', max_length=20)),
                ('channel', fields.CharField(description='email or sms', max_length=8)),
                ('address', fields.CharField(description='where the code was sent', max_length=254)),
                ('code_hash', fields.CharField(max_length=64)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('failed_attempts', fields.SmallIntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'sign_in_codes', 'app': 'gridbill', 'indexes': [Index(fields=['user_id', 'created_at']), Index(fields=['address', 'created_at'])], 'pk_attr': 'id', 'table_description': 'A one-time code sent to a person to sign in or reset their password.'},
            bases=['Model'],
        ),
        ops.RunPython(restore_sqlite_indexes, ops.RunPython.noop),
    ]
