"""Fixtures for the field sync tests (helpers are in sync_helpers.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient
from sync_helpers import World, app_for, build_world
from tortoise.context import TortoiseContext

from gridbill.settings import Settings
from store.db import open_database


@pytest.fixture
async def world(db: TortoiseContext) -> World:
    return await build_world()


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(app_for(settings)) as c:
        yield c


@pytest.fixture
def seeded(database_url: str) -> World:
    """The same world, written through its own connection, for tests driving HTTP."""

    async def run() -> World:
        async with open_database(database_url):
            return await build_world()

    return asyncio.run(run())


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Enrol test devices with a low-cost Argon2id hash (still Argon2id, verified the same
    way): the production cost would spend most of this suite hashing."""
    from argon2 import PasswordHasher

    from sync import devices

    monkeypatch.setattr(
        devices, "hash_secret", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash
    )
