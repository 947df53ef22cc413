"""Sync keeps its promises: stop changes the database notices itself, billed spans, messages.

Everything a pulled stop is built from (its route and reader, the meter, its registers,
installation, account, premise, and the register's reads behind ``last_read`` and
``expected``) stamps the stop's ``updated_at`` through triggers, in the same transaction,
whichever code path made the change, so an incremental pull never misses one
(docs/sync-protocol.md, "Pull"). PostgreSQL stamps with ``clock_timestamp()``; SQLite with
its UTC clock written the way Tortoise writes datetimes, so keyset comparisons on the
text column stay exact.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index


SQLITE_NOW = "strftime('%Y-%m-%d %H:%M:%f', 'now') || '000+00:00'"


def _sqlite_touch(where: str) -> str:
    return f"UPDATE route_stops SET updated_at = {SQLITE_NOW} WHERE {where};"


def _meters_at_point(point: str) -> str:
    return (
        "active_meter IN (SELECT meter_id FROM meter_installations "
        f"WHERE service_point_id = {point} AND removed_at IS NULL)"
    )


def _meter_of_register(register: str) -> str:
    return f"active_meter = (SELECT meter_id FROM registers WHERE id = {register})"


READ_CHANGED = (
    "OLD.value_milli IS NOT NEW.value_milli OR OLD.read_at IS NOT NEW.read_at "
    "OR OLD.quality IS NOT NEW.quality OR OLD.source IS NOT NEW.source"
)
ACCOUNT_CHANGED = (
    "OLD.number IS NOT NEW.number OR OLD.category IS NOT NEW.category "
    "OR OLD.status IS NOT NEW.status OR OLD.service_point_id IS NOT NEW.service_point_id "
    "OR OLD.sanctioned_load_w IS NOT NEW.sanctioned_load_w "
    "OR OLD.contract_demand_va IS NOT NEW.contract_demand_va"
)

SQLITE_TRIGGERS = {
    "route_stops_stamp": "AFTER UPDATE OF route_id, meter_id, active_meter, sequence, removed_at "
    f"ON route_stops BEGIN {_sqlite_touch('id = NEW.id')} END",
    "reader_messages_stamp": "AFTER UPDATE OF body, reader_id, device_id, read_at ON reader_messages "
    f"BEGIN UPDATE reader_messages SET updated_at = {SQLITE_NOW} WHERE id = NEW.id; END",
    "routes_touch_stops": "AFTER UPDATE OF code, name, reader_id ON routes BEGIN "
    + _sqlite_touch("route_id = NEW.id AND removed_at IS NULL")
    + " END",
    "meters_touch_stops": "AFTER UPDATE OF serial, kind, probe_address ON meters BEGIN "
    + _sqlite_touch("active_meter = NEW.id")
    + " END",
    "registers_touch_stops_ins": "AFTER INSERT ON registers BEGIN "
    + _sqlite_touch("active_meter = NEW.meter_id")
    + " END",
    "registers_touch_stops_upd": "AFTER UPDATE ON registers BEGIN "
    + _sqlite_touch("active_meter IN (OLD.meter_id, NEW.meter_id)")
    + " END",
    "registers_touch_stops_del": "AFTER DELETE ON registers BEGIN "
    + _sqlite_touch("active_meter = OLD.meter_id")
    + " END",
    "installations_touch_stops_ins": "AFTER INSERT ON meter_installations BEGIN "
    + _sqlite_touch("active_meter = NEW.meter_id")
    + " END",
    "installations_touch_stops_upd": "AFTER UPDATE ON meter_installations BEGIN "
    + _sqlite_touch("active_meter IN (OLD.meter_id, NEW.meter_id)")
    + " END",
    "accounts_touch_stops_ins": "AFTER INSERT ON accounts BEGIN "
    + _sqlite_touch(_meters_at_point("NEW.service_point_id"))
    + " END",
    "accounts_touch_stops_upd": f"AFTER UPDATE ON accounts WHEN {ACCOUNT_CHANGED} BEGIN "
    + _sqlite_touch(_meters_at_point("NEW.service_point_id"))
    + _sqlite_touch(_meters_at_point("OLD.service_point_id"))
    + " END",
    "premises_touch_stops": "AFTER UPDATE ON premises BEGIN "
    + _sqlite_touch(
        "active_meter IN (SELECT i.meter_id FROM meter_installations i "
        "JOIN service_points p ON p.id = i.service_point_id "
        "WHERE p.premise_id = NEW.id AND i.removed_at IS NULL)"
    )
    + " END",
    "register_reads_touch_stops_ins": "AFTER INSERT ON register_reads BEGIN "
    + _sqlite_touch(_meter_of_register("NEW.register_id"))
    + " END",
    "register_reads_touch_stops_upd": f"AFTER UPDATE ON register_reads WHEN {READ_CHANGED} BEGIN "
    + _sqlite_touch(_meter_of_register("NEW.register_id"))
    + " END",
    "register_reads_touch_stops_del": "AFTER DELETE ON register_reads BEGIN "
    + _sqlite_touch(_meter_of_register("OLD.register_id"))
    + " END",
}

PG_TOUCH = "UPDATE route_stops SET updated_at = clock_timestamp() WHERE "
PG_FUNCTIONS = {
    # row-level: the stop's own columns and messages
    "gridbill_stamp_row": "BEGIN NEW.updated_at := clock_timestamp(); RETURN NEW; END",
    "gridbill_touch_route": f"BEGIN {PG_TOUCH} route_id = NEW.id AND removed_at IS NULL; "
    "RETURN NULL; END",
    "gridbill_touch_meter": f"BEGIN {PG_TOUCH} active_meter = NEW.id; RETURN NULL; END",
    "gridbill_touch_meter_of_row": "BEGIN IF TG_OP IN ('UPDATE', 'DELETE') THEN "
    f"{PG_TOUCH} active_meter = OLD.meter_id; END IF; IF TG_OP IN ('INSERT', 'UPDATE') THEN "
    f"{PG_TOUCH} active_meter = NEW.meter_id; END IF; RETURN NULL; END",
    "gridbill_touch_account": "BEGIN IF TG_OP = 'UPDATE' THEN "
    f"{PG_TOUCH} {_meters_at_point('OLD.service_point_id')}; END IF; "
    f"{PG_TOUCH} {_meters_at_point('NEW.service_point_id')}; RETURN NULL; END",
    "gridbill_touch_premise": f"BEGIN {PG_TOUCH} active_meter IN (SELECT i.meter_id "
    "FROM meter_installations i JOIN service_points p ON p.id = i.service_point_id "
    "WHERE p.premise_id = NEW.id AND i.removed_at IS NULL); RETURN NULL; END",
    # statement-level over transition tables: one UPDATE per push chunk, not per read
    "gridbill_touch_reads_new": f"BEGIN {PG_TOUCH} active_meter IN (SELECT g.meter_id "
    "FROM new_rows n JOIN registers g ON g.id = n.register_id); RETURN NULL; END",
    "gridbill_touch_reads_old": f"BEGIN {PG_TOUCH} active_meter IN (SELECT g.meter_id "
    "FROM old_rows o JOIN registers g ON g.id = o.register_id); RETURN NULL; END",
    "gridbill_touch_reads_changed": f"BEGIN {PG_TOUCH} active_meter IN (SELECT g.meter_id "
    "FROM new_rows n JOIN old_rows o ON o.id = n.id JOIN registers g ON g.id = n.register_id "
    "WHERE (n.value_milli, n.read_at, n.quality, n.source) "
    "IS DISTINCT FROM (o.value_milli, o.read_at, o.quality, o.source)); RETURN NULL; END",
}
PG_ACCOUNT_CHANGED = ACCOUNT_CHANGED.replace(" IS NOT ", " IS DISTINCT FROM ")
PG_TRIGGERS = {
    "route_stops_stamp": "BEFORE UPDATE ON route_stops FOR EACH ROW "
    "EXECUTE FUNCTION gridbill_stamp_row()",
    "reader_messages_stamp": "BEFORE UPDATE ON reader_messages FOR EACH ROW "
    "EXECUTE FUNCTION gridbill_stamp_row()",
    "routes_touch_stops": "AFTER UPDATE OF code, name, reader_id ON routes FOR EACH ROW "
    "EXECUTE FUNCTION gridbill_touch_route()",
    "meters_touch_stops": "AFTER UPDATE OF serial, kind, probe_address ON meters FOR EACH ROW "
    "EXECUTE FUNCTION gridbill_touch_meter()",
    "registers_touch_stops": "AFTER INSERT OR UPDATE OR DELETE ON registers FOR EACH ROW "
    "EXECUTE FUNCTION gridbill_touch_meter_of_row()",
    "installations_touch_stops": "AFTER INSERT OR UPDATE ON meter_installations FOR EACH ROW "
    "EXECUTE FUNCTION gridbill_touch_meter_of_row()",
    "accounts_touch_stops_ins": "AFTER INSERT ON accounts FOR EACH ROW "
    "EXECUTE FUNCTION gridbill_touch_account()",
    "accounts_touch_stops_upd": "AFTER UPDATE ON accounts FOR EACH ROW "
    f"WHEN ({PG_ACCOUNT_CHANGED}) EXECUTE FUNCTION gridbill_touch_account()",
    "premises_touch_stops": "AFTER UPDATE ON premises FOR EACH ROW "
    "EXECUTE FUNCTION gridbill_touch_premise()",
    "register_reads_touch_stops_ins": "AFTER INSERT ON register_reads "
    "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION gridbill_touch_reads_new()",
    "register_reads_touch_stops_upd": "AFTER UPDATE ON register_reads "
    "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION gridbill_touch_reads_changed()",
    "register_reads_touch_stops_del": "AFTER DELETE ON register_reads "
    "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION gridbill_touch_reads_old()",
}


def _table(trigger_sql: str) -> str:
    return trigger_sql.split(" ON ", 1)[1].split()[0]


HELD_ROUTES = (
    "INSERT INTO field_device_routes (device_id, route_id, first_sent_at) "
    "SELECT d.id, r.id, {now} FROM field_devices d JOIN routes r ON r.reader_id = d.reader_id "
    "WHERE d.revoked_at IS NULL"
)
"""Devices enrolled before this migration hold their reader's routes as they are now."""


async def forward(apps, schema_editor) -> None:
    client = schema_editor.client  # not the editor: the SQLite editor splits on ";"
    postgres = schema_editor.DIALECT == "postgres"
    await client.execute_query(HELD_ROUTES.format(now="now()" if postgres else SQLITE_NOW))
    if postgres:
        for name, body in PG_FUNCTIONS.items():
            await client.execute_query(
                f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$ {body} $$ "
                "LANGUAGE plpgsql"
            )
        for name, spec in PG_TRIGGERS.items():
            await client.execute_query(f"CREATE TRIGGER {name} {spec}")
    else:
        for name, spec in SQLITE_TRIGGERS.items():
            await client.execute_query(f"CREATE TRIGGER {name} {spec}")


async def backward(apps, schema_editor) -> None:
    client = schema_editor.client
    if schema_editor.DIALECT == "postgres":
        for name, spec in PG_TRIGGERS.items():
            await client.execute_query(f"DROP TRIGGER IF EXISTS {name} ON {_table(spec)}")
        for name in PG_FUNCTIONS:
            await client.execute_query(f"DROP FUNCTION IF EXISTS {name}()")
    else:
        for name in SQLITE_TRIGGERS:
            await client.execute_query(f"DROP TRIGGER IF EXISTS {name}")

class Migration(migrations.Migration):
    dependencies = [('gridbill', '0003_tariff_source')]

    initial = False

    operations = [
        ops.CreateModel(
            name='BilledSpan',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('bill', fields.ForeignKeyField('gridbill.Bill', source_field='bill_id', db_constraint=True, to_field='id', related_name='billed_spans', on_delete=OnDelete.CASCADE)),
                ('register', fields.ForeignKeyField('gridbill.Register', source_field='register_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('starts_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'billed_spans', 'app': 'gridbill', 'indexes': [Index(fields=['register_id', 'starts_at'])], 'pk_attr': 'id', 'table_description': 'Interval readings of a register that an issued bill priced: ``[starts_at, ends_at)``.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='FieldDeviceRoute',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('device', fields.ForeignKeyField('gridbill.FieldDevice', source_field='device_id', db_constraint=True, to_field='id', related_name='routes_held', on_delete=OnDelete.CASCADE)),
                ('route_id', fields.IntField()),
                ('first_sent_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'field_device_routes', 'app': 'gridbill', 'unique_together': (('device', 'route_id'),), 'pk_attr': 'id', 'table_description': 'A route whose stops a device has been sent.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='FieldDevice',
            name='last_pull_at',
            field=fields.DatetimeField(null=True, description='when it last pulled', auto_now=False, auto_now_add=False),
        ),
        ops.AlterModelOptions(
            name='ReaderMessage',
            options={'table': 'reader_messages', 'app': 'gridbill', 'pk_attr': 'id', 'table_description': 'A note from the office to a meter reader (or one of their devices), delivered by sync.'},
        ),
        ops.AddField(
            model_name='ReaderMessage',
            name='device',
            field=fields.ForeignKeyField('gridbill.FieldDevice', source_field='device_id', null=True, description='only this device, or NULL for every device of the reader', db_constraint=True, to_field='id', related_name='messages', on_delete=OnDelete.CASCADE),
        ),
        ops.AddField(
            model_name='ReaderMessage',
            name='sent_by',
            field=fields.ForeignKeyField('gridbill.User', source_field='sent_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL),
        ),
        ops.RunPython(forward, backward),
    ]
