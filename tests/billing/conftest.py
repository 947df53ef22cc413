"""Fixtures of the billing tests: a small utility on the test's own database (both backends)."""

from __future__ import annotations

import pytest
from tortoise.context import TortoiseContext

from tests.billing.billing_factories import Utility


@pytest.fixture
async def utility(db: TortoiseContext) -> Utility:
    """Cycle C08 (read on the 8th) with the flat test tariff from 1 April 2025."""
    return await Utility.create()
