from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('gridbill', '0009_reports_gateway_records')]

    initial = False

    operations = [
        ops.AddField(
            model_name='User',
            name='totp_required',
            field=fields.BooleanField(default=False, description='an administrator requires a second factor of this person, whatever the role', db_default=False),
        ),
    ]
