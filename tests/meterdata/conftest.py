"""Fixtures for the meter-data tests: a migrated database with one smart-meter site."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from meterdata_helpers import Site, make_site
from tortoise.context import TortoiseContext


@pytest.fixture
async def site(db: TortoiseContext) -> AsyncIterator[Site]:
    yield await make_site()
