"""The API under test: the real app in a TestClient (lifespan running), on both databases.

``api`` is the app with helpers (``tests/api/api_helpers.py``): ``api.run(fn, …)`` runs an
async function (a factory, a service) in the app's own event loop and database context,
``api.gql(query, …)`` posts a GraphQL request, ``api.token(user)`` mints an access token
without a sign-in (Argon2 is slow; the sign-in tests sign in for real).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from api_helpers import Api
from starlette.testclient import TestClient

from api.app import create_app
from gridbill.settings import Settings


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    with TestClient(create_app(settings)) as client:
        yield Api(client, settings)
