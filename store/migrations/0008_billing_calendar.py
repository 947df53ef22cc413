from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('gridbill', '0007_notifications')]

    initial = False

    operations = [
        ops.CreateModel(
            name='BillingCalendarDate',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('cycle', fields.ForeignKeyField('gridbill.BillingCycle', source_field='cycle_id', db_constraint=True, to_field='id', related_name='calendar', on_delete=OnDelete.CASCADE)),
                ('month', fields.DateField(description='first day of the billing month')),
                ('read_date', fields.DateField()),
                ('bill_date', fields.DateField()),
                ('reason', fields.CharField(default='', max_length=200)),
            ],
            options={'table': 'billing_calendar', 'app': 'gridbill', 'unique_together': (('cycle', 'month'),), 'pk_attr': 'id', 'table_description': "A cycle's read date and bill date for one billing month, where they differ from the"},
            bases=['Timestamped'],
        ),
    ]
