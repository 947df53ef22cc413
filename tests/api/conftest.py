"""The API under test: the real app in a TestClient (lifespan running), on both databases.

``api`` is the app with helpers (``tests/api/api_helpers.py``): ``api.run(fn, …)`` runs an
async function (a factory, a service) in the app's own event loop and database context,
``api.gql(query, …)`` posts a GraphQL request, ``api.token(user)`` mints an access token
without a sign-in (Argon2 is slow; the sign-in tests sign in for real).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from api_helpers import Api, MakeApi
from starlette.testclient import TestClient

from api.app import create_app
from gridbill.settings import Settings
from tests.conftest import make_settings


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    with TestClient(create_app(settings)) as client:
        yield Api(client, settings)


@pytest.fixture
def make_api(database_url: str, tmp_path: Path) -> Iterator[MakeApi]:
    """An app on the test's database with extra settings: ``make_api(GRIDBILL_ENV=…)``.

    ``peer`` is the client address the app sees (an IP, to test trusted proxies).

    One app runs at a time (Tortoise has one global context): building another stops
    the previous one.
    """
    stack = ExitStack()

    def build(peer: str = "testclient", **env: str) -> Api:
        stack.close()
        settings = make_settings(database_url, tmp_path / "var", **env)
        client = stack.enter_context(TestClient(create_app(settings), client=(peer, 50000)))
        return Api(client, settings)

    with stack:
        yield build
