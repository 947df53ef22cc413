"""Notification tasks: deliver the outbox every minute, walk the dunning schedule daily.

Both are safe to run concurrently and again: delivery claims rows (see
``notifications/dispatcher.py``) and every dunning step is taken once per bill.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gridbill.settings import get_settings
from jobs.registry import task
from notifications.dispatcher import Dispatcher, channels
from services.payments.dunning import run_dunning


@task(name="deliver_notifications", periodic_cron="* * * * *")
async def deliver_notifications() -> dict[str, Any]:
    settings = get_settings()
    return (await Dispatcher(settings, channels(settings)).drain()).as_dict()


@task(name="dunning", periodic_cron="30 3 * * *")
async def dunning(on: str | None = None) -> dict[str, Any]:
    """The day's reminders and notices (09:00 IST = 03:30 UTC by default's cron)."""
    settings = get_settings()
    today = datetime.now(settings.zone).date() if on is None else datetime.fromisoformat(on).date()
    return await run_dunning(settings, today=today)
