from tortoise import migrations
from tortoise.migrations import operations as ops
from domain.enums import DepositKind, ProposalStatus
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('gridbill', '0012_solar_deposits')]

    initial = False

    operations = [
        ops.CreateModel(
            name='DepositProposal',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('gridbill.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='deposit_proposals', on_delete=OnDelete.RESTRICT)),
                ('year', fields.CharField(description='financial year, e.g. 2025-26', max_length=7)),
                ('kind', fields.CharEnumField(description='top_up or refund', enum_type=DepositKind, max_length=16)),
                ('amount_paise', fields.BigIntField(description='the top-up or refund, positive')),
                ('held_paise', fields.BigIntField()),
                ('required_paise', fields.BigIntField()),
                ('proposed_on', fields.DateField()),
                ('status', fields.CharEnumField(default=ProposalStatus.PENDING, description='PENDING: pending\nAPPROVED: approved\nREJECTED: rejected', enum_type=ProposalStatus, max_length=16)),
                ('decided_by', fields.CharField(default='', max_length=100)),
                ('decided_on', fields.DateField(null=True)),
                ('reason', fields.CharField(default='', max_length=200)),
            ],
            options={'table': 'deposit_proposals', 'app': 'gridbill', 'unique_together': (('account', 'year'),), 'pk_attr': 'id', 'table_description': "A yearly review's top-up or refund, proposed to staff, one per account and year."},
            bases=['Model'],
        ),
    ]
