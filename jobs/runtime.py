"""Placeholder replaced by the jobs work: starts in-process jobs in SQLite mode."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from gridbill.settings import Settings


@contextlib.asynccontextmanager
async def background_jobs(settings: Settings) -> AsyncIterator[None]:
    yield
