"""Fixtures for the field app's tests: a local store with a route, and a real gridbill
server (the sync routes on uvicorn, on a free port) over a seeded database."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from field_app.local_store import LocalStore

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "sync"))

from field_pages import stop_page


@pytest.fixture
def local(tmp_path: Path) -> LocalStore:
    store = LocalStore(tmp_path / "field.sqlite3")
    store.apply_pull_page(stop_page(1, 11))
    page = stop_page(2, 12, cursor="c2", sequence=20)
    store.apply_pull_page(page)
    return store


@pytest.fixture
def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Enrol test devices with a low-cost Argon2id hash, as tests/sync does."""
    from argon2 import PasswordHasher

    from sync import devices

    monkeypatch.setattr(
        devices, "hash_secret", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash
    )


@pytest.fixture
def server(
    database_url: str, subprocess_env: dict[str, str], cheap_argon2: None
) -> Iterator[tuple[Any, Any]]:
    """A seeded world (tests/sync/sync_helpers.py: two readers, routes, three meters on
    reader one's route R01, enrolled devices) behind a running sync server."""
    from field_server import FieldServer
    from sync_helpers import build_world

    srv = FieldServer(database_url, subprocess_env)
    world = srv.query(build_world)
    with srv:
        yield srv, world
