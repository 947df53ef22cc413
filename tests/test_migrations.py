"""The checked-in migrations build exactly the schema the models describe, on both databases.

A database built by ``gridbill migrate`` is introspected and compared with one built
straight from the models by Tortoise's schema generator: same tables, columns, types,
nullability, unique constraints and indexes. A model change without a migration fails here.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import pytest
from tortoise import Tortoise
from tortoise.connection import get_connection
from tortoise.exceptions import IntegrityError, OperationalError

import store
from store.db import is_postgres, migrate, open_database
from store.models import Account, LedgerEntry
from tests import factories as f

Schema = dict[str, Any]

SQLITE_TABLES = (
    "SELECT name FROM sqlite_master WHERE type='table' "
    "AND name NOT LIKE 'sqlite_%' AND name != 'tortoise_migrations'"
)
PG_TABLES = (
    "SELECT table_name AS name FROM information_schema.tables "
    "WHERE table_schema='public' AND table_name != 'tortoise_migrations'"
)


async def introspect(database_url: str) -> Schema:
    conn = get_connection("default")
    schema: Schema = {}
    postgres = is_postgres(database_url)
    for row in await conn.execute_query_dict(PG_TABLES if postgres else SQLITE_TABLES):
        table = row["name"]
        schema[table] = await (_pg_table(conn, table) if postgres else _sqlite_table(conn, table))
    return schema


async def _sqlite_table(conn: Any, table: str) -> dict[str, Any]:
    columns = {
        c["name"]: (c["type"].upper(), not c["notnull"] and not c["pk"])
        for c in await conn.execute_query_dict(f'PRAGMA table_info("{table}")')
    }
    uniques, indexes = set(), set()
    for index in await conn.execute_query_dict(f'PRAGMA index_list("{table}")'):
        cols = tuple(
            c["name"]
            for c in await conn.execute_query_dict(f'PRAGMA index_info("{index["name"]}")')
        )
        (uniques if index["unique"] else indexes).add(cols)
    foreign_keys = {
        (fk["from"], fk["table"])
        for fk in await conn.execute_query_dict(f'PRAGMA foreign_key_list("{table}")')
    }
    return {"columns": columns, "unique": uniques, "indexes": indexes, "fks": foreign_keys}


async def _pg_table(conn: Any, table: str) -> dict[str, Any]:
    columns = {
        c["column_name"]: (c["data_type"].upper(), c["is_nullable"] == "YES")
        for c in await conn.execute_query_dict(
            "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
            "WHERE table_schema='public' AND table_name=$1",
            [table],
        )
    }
    uniques, indexes = set(), set()
    rows = await conn.execute_query_dict(
        "SELECT i.indisunique AS uniq, i.indisprimary AS pk, "
        "array_agg(a.attname ORDER BY k.ord) AS cols "
        "FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid "
        "CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) "
        "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum "
        "WHERE t.relname = $1 GROUP BY i.indexrelid, i.indisunique, i.indisprimary",
        [table],
    )
    for row in rows:
        cols = tuple(row["cols"])
        if row["pk"]:
            continue
        (uniques if row["uniq"] else indexes).add(cols)
    fks = {
        (r["column_name"], r["foreign_table"])
        for r in await conn.execute_query_dict(
            "SELECT kcu.column_name, ccu.table_name AS foreign_table "
            "FROM information_schema.table_constraints tc "
            "JOIN information_schema.key_column_usage kcu ON tc.constraint_name = kcu.constraint_name "
            "JOIN information_schema.constraint_column_usage ccu ON tc.constraint_name = ccu.constraint_name "
            "WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_name = $1",
            [table],
        )
    }
    return {"columns": columns, "unique": uniques, "indexes": indexes, "fks": fks}


async def test_migrated_schema_matches_models(database_url: str, fresh_database_url: str) -> None:
    async with open_database(database_url):
        migrated = await introspect(database_url)

    async with open_database(fresh_database_url):
        await Tortoise.generate_schemas(safe=False)
        generated = await introspect(fresh_database_url)

    assert len(migrated) >= 45, "the whole mission's model is expected"
    assert sorted(migrated) == sorted(generated)
    for table in generated:
        assert migrated[table] == generated[table], f"table {table} differs from its model"


async def test_migrate_is_idempotent(fresh_database_url: str) -> None:
    first = await migrate(fresh_database_url)
    files = sorted(Path(store.__file__).parent.glob("migrations/0*.py"))
    assert first == [f"gridbill.{f.stem}" for f in files]
    assert first[:3] == [
        "gridbill.0001_initial",
        "gridbill.0002_ledger_append_only",
        "gridbill.0003_tariff_source",
    ]
    assert await migrate(fresh_database_url) == []


async def _account() -> Account:
    await f.customer(number="C-1", name="A. Kumar")
    return await f.account(number="A-1", connected_on=dt.date(2026, 1, 1))


async def test_ledger_is_append_only(db: object) -> None:
    account = await _account()
    entry = await LedgerEntry.create(
        account=account, kind="opening_balance", amount_paise=12_345,
        effective_on=dt.date(2026, 4, 1), source_key=f"opening:{uuid.uuid4()}",
    )  # fmt: skip
    with pytest.raises((IntegrityError, OperationalError), match="append-only"):
        await LedgerEntry.filter(id=entry.id).update(amount_paise=1)
    with pytest.raises((IntegrityError, OperationalError), match="append-only"):
        await LedgerEntry.filter(id=entry.id).delete()
    assert (await LedgerEntry.get(id=entry.id)).amount_paise == 12_345


async def test_ledger_source_key_posts_once(db: object) -> None:
    account = await _account()
    fields = {
        "account": account,
        "kind": "bill",
        "amount_paise": 500,
        "effective_on": dt.date(2026, 5, 1),
    }
    await LedgerEntry.create(source_key="bill:1", **fields)
    with pytest.raises(IntegrityError):
        await LedgerEntry.create(source_key="bill:1", **fields)
