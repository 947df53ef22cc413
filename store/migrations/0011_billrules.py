"""Billing rules (issue 17): the government receivable, what subsidies shown on customers'
bills make the government owe (``government_receivables``)."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('gridbill', '0010_console_second_factor')]

    initial = False

    operations = [
        ops.CreateModel(
            name='GovernmentReceivable',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('bill', fields.ForeignKeyField('gridbill.Bill', source_field='bill_id', db_constraint=True, to_field='id', related_name='government_receivables', on_delete=OnDelete.RESTRICT)),
                ('scheme', fields.CharField(description="the subsidy line's code", max_length=60)),
                ('amount_paise', fields.BigIntField()),
                ('effective_on', fields.DateField()),
                ('posted_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('source_key', fields.CharField(unique=True, max_length=80)),
                ('description', fields.CharField(default='', max_length=200)),
            ],
            options={'table': 'government_receivables', 'app': 'gridbill', 'indexes': [Index(fields=['effective_on', 'scheme'])], 'pk_attr': 'id', 'table_description': "What the government owes the utility for a subsidy shown on a customer's bill."},
            bases=['Model'],
        ),
    ]
