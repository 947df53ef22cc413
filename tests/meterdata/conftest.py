"""Fixtures for the meter-data tests: a migrated database with one smart-meter site."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx2
import pytest
from meterdata_helpers import secret_hash, smart_meter
from starlette.applications import Starlette
from tortoise.context import TortoiseContext

from api.ingest_route import ingest_route
from gridbill.settings import Settings
from store.models import PartnerClient
from tests.factories import Site


@pytest.fixture
async def site(db: TortoiseContext) -> AsyncIterator[Site]:
    yield await smart_meter()


@pytest.fixture
async def http(site: Site, settings: Settings) -> AsyncIterator[httpx2.AsyncClient]:
    """The ingest route on a bare Starlette app; the test's database is already open.

    ``hes-1`` may deliver readings, ``app-1`` may not (both with ``SECRET``).
    """
    await PartnerClient.create(
        client_id="hes-1", secret_hash=secret_hash(), name="Head-end",
        scopes=["readings:write"],
    )  # fmt: skip
    await PartnerClient.create(
        client_id="app-1", secret_hash=secret_hash(), name="Usage app", scopes=["usage:read"]
    )
    app = Starlette(routes=[ingest_route(settings)])
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://gridbill.test") as client:
        yield client
