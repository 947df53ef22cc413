"""Reports (issue 16): the gateway's own payment records, stored by ``gridbill reconcile``
so the reconciliation report compares them with the ledger without calling the gateway."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('gridbill', '0008_billing_calendar')]

    initial = False

    operations = [
        ops.CreateModel(
            name='GatewayRecord',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('gateway', fields.CharField(default='razorpay', max_length=20)),
                ('gateway_payment_id', fields.CharField(unique=True, max_length=40)),
                ('order_id', fields.CharField(default='', max_length=40)),
                ('status', fields.CharField(description="the gateway's status word", max_length=20)),
                ('method', fields.CharField(default='', max_length=20)),
                ('amount_paise', fields.BigIntField()),
                ('created_at', fields.DatetimeField(description="the gateway's creation time", auto_now=False, auto_now_add=False)),
                ('created_on', fields.DateField(description="created_at's date in GRIDBILL_TIME_ZONE")),
                ('fetched_at', fields.DatetimeField(description='when reconciliation last read it', auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'gateway_records', 'app': 'gridbill', 'indexes': [Index(fields=['created_on'])], 'pk_attr': 'id', 'table_description': 'A payment as the gateway itself reported it, stored by ``gridbill reconcile``.'},
            bases=['Model'],
        ),
    ]
