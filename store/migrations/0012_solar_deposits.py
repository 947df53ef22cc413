"""Security deposits (issue 18): each movement of a deposit, apart from the ledger whose
balance bills ask for; top-ups, refunds and the move-out point at their ledger entry."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from domain.enums import DepositKind
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('gridbill', '0011_billrules')]

    initial = False

    operations = [
        ops.CreateModel(
            name='DepositEntry',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('gridbill.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='deposit_entries', on_delete=OnDelete.RESTRICT)),
                ('kind', fields.CharEnumField(description='OPENING: opening\nTOP_UP: top_up\nREFUND: refund\nREVIEW: review\nMOVE_OUT: move_out', enum_type=DepositKind, max_length=16)),
                ('amount_paise', fields.BigIntField(description='positive: more held')),
                ('effective_on', fields.DateField()),
                ('posted_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('source_key', fields.CharField(unique=True, max_length=80)),
                ('description', fields.CharField(default='', max_length=200)),
                ('ledger_entry', fields.ForeignKeyField('gridbill.LedgerEntry', source_field='ledger_entry_id', null=True, db_constraint=True, to_field='id', related_name='deposit_entries', on_delete=OnDelete.RESTRICT)),
            ],
            options={'table': 'deposit_entries', 'app': 'gridbill', 'indexes': [Index(fields=['account_id', 'effective_on', 'id'])], 'pk_attr': 'id', 'table_description': "A movement of an account's security deposit: what is held is their sum."},
            bases=['Model'],
        ),
    ]
