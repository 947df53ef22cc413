"""A sign-out in one server process reaches every other at once (PostgreSQL NOTIFY), so no
process honours an ended session for the length of its standing cache (issue #19:
nothing held in one process that another needs)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

from domain.enums import Role
from gridbill.settings import Settings
from services import events
from services.identity import token_standing

PUBLISHER = """
import asyncio, sys
from services.identity import token_standing
from store.db import open_database

async def main():
    async with open_database(sys.argv[1]):
        await token_standing.changed(int(sys.argv[2]))

asyncio.run(main())
"""


async def test_another_process_forgets_a_signed_out_persons_standing(
    on_postgres: None, settings: Settings, db: object
) -> None:
    async with events.event_bus(settings) as hub:
        hub.listeners.append(token_standing.on_event)
        # This process remembers that person 4242's token stands, for a long while.
        token_standing._remembered[(4242, "s", Role.CUSTOMER.value)] = (
            time.monotonic() + 3600,
            None,
        )
        token_standing._remembered[(7, "s", Role.CUSTOMER.value)] = (time.monotonic() + 3600, None)
        done = await asyncio.to_thread(
            subprocess.run, [sys.executable, "-c", PUBLISHER, settings.database_url, "4242"],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        deadline = time.monotonic() + 10
        while any(key[0] == 4242 for key in token_standing._remembered):
            assert time.monotonic() < deadline, "the sign-out never reached this process"
            await asyncio.sleep(0.05)
        assert (7, "s", Role.CUSTOMER.value) in token_standing._remembered  # others untouched
    token_standing.forget(7)
