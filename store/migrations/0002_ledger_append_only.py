"""Make the account ledger append-only in the database itself.

Application code never updates or deletes ledger entries; these triggers make sure
nothing else does either (a stray script, a mistaken admin query). Corrections are new
entries that reverse old ones.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

PROTECTED = ("ledger_entries", "payment_allocations")

SQLITE_FORWARD = [
    f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
    for table in PROTECTED
    for verb in ("UPDATE", "DELETE")
]
SQLITE_BACKWARD = [
    f"DROP TRIGGER IF EXISTS {table}_no_{verb.lower()}"
    for table in PROTECTED
    for verb in ("UPDATE", "DELETE")
]
POSTGRES_FORWARD = [
    """
    CREATE OR REPLACE FUNCTION gridbill_append_only() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'check_violation';
    END
    $$ LANGUAGE plpgsql
    """,
    *[
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION gridbill_append_only()"
        for table in PROTECTED
    ],
]
POSTGRES_BACKWARD = [
    *[f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}" for table in PROTECTED],
    "DROP FUNCTION IF EXISTS gridbill_append_only()",
]


async def _run(schema_editor, statements) -> None:
    for sql in statements:
        # The client, not the editor: the SQLite editor splits on ";" and would cut trigger bodies.
        await schema_editor.client.execute_query(sql)


async def forward(apps, schema_editor) -> None:
    postgres = schema_editor.DIALECT == "postgres"
    await _run(schema_editor, POSTGRES_FORWARD if postgres else SQLITE_FORWARD)


async def backward(apps, schema_editor) -> None:
    postgres = schema_editor.DIALECT == "postgres"
    await _run(schema_editor, POSTGRES_BACKWARD if postgres else SQLITE_BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("gridbill", "0001_initial")]

    operations = [ops.RunPython(forward, backward)]
