"""The one gapless counter service: every series, under concurrency, with rollbacks."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest
from tortoise.context import TortoiseContext
from tortoise.transactions import in_transaction

from services.numbering import take, take_one
from store.models import DocumentSequence


class Abandoned(Exception):
    """Raised inside a transaction to roll it back."""


async def test_concurrent_takers_get_gapless_numbers_and_rollbacks_give_them_back(
    db: TortoiseContext,
) -> None:
    on = date(2026, 3, 10)

    async def taker(i: int) -> list[str]:
        try:
            async with in_transaction():
                numbers = await take("bill", on, 1 + i % 3)
                await asyncio.sleep(0)  # let another taker queue on the row
                if i % 4 == 3:
                    raise Abandoned
                return numbers
        except Abandoned:
            return []

    kept = [n for numbers in await asyncio.gather(*(taker(i) for i in range(12))) for n in numbers]
    # Takers 3, 7 and 11 rolled back (1, 2 and 3 numbers): 24 taken, 18 kept, none lost.
    assert sorted(kept) == [f"BL/2025-26/{n:06d}" for n in range(1, 19)]
    row = await DocumentSequence.get(series="bill", financial_year="2025-26")
    assert row.last_value == 18


async def test_numbers_carry_on_from_an_existing_database(db: TortoiseContext) -> None:
    # Rows as earlier releases left them: the series' next number follows the last one.
    await DocumentSequence.create(series="receipt", financial_year="2025-26", last_value=41)
    await DocumentSequence.create(series="customer", financial_year="all", last_value=7)
    async with in_transaction():
        assert await take_one("receipt", date(2026, 3, 31)) == "RC/2025-26/000042"
        assert await take_one("receipt", date(2026, 4, 1)) == "RC/2026-27/000001"
        assert await take_one("customer", date(2031, 1, 1)) == "CU00000008"
        assert await take("debit_note", date(2026, 4, 1), 2) == [
            "DN/2026-27/000001",
            "DN/2026-27/000002",
        ]


async def test_taking_no_numbers_is_refused(db: TortoiseContext) -> None:
    with pytest.raises(ValueError, match="at least one"):
        await take("bill", date(2026, 3, 10), 0)
    assert not await DocumentSequence.exists(series="bill")
