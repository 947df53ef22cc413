"""TariffVersion.source_reference becomes TEXT: regulators cite orders at length.

Tortoise 1.1 alters a column on SQLite by rebuilding the table and loses the table's
``unique_together`` constraints on the way (tests/test_migrations.py caught it), so the
SQLite branch puts them back as unique indexes. PostgreSQL alters in place and keeps them.
"""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

SQLITE_UNIQUES = [
    'CREATE UNIQUE INDEX IF NOT EXISTS "uid_tariff_versions_version" '
    'ON "tariff_versions" ("tariff_id", "version")',
    'CREATE UNIQUE INDEX IF NOT EXISTS "uid_tariff_versions_effective_from" '
    'ON "tariff_versions" ("tariff_id", "effective_from")',
]


async def restore_sqlite_uniques(apps, schema_editor) -> None:
    if schema_editor.DIALECT == "sqlite":
        for sql in SQLITE_UNIQUES:
            await schema_editor.client.execute_query(sql)


class Migration(migrations.Migration):
    dependencies = [("gridbill", "0002_ledger_append_only")]

    initial = False

    operations = [
        ops.AlterField(
            model_name="TariffVersion",
            name="source_reference",
            field=fields.TextField(default="", description="regulator order cited", unique=False),
        ),
        ops.RunPython(restore_sqlite_uniques, ops.RunPython.noop),
    ]
