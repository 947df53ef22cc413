"""Meter-data validation in the background: the safety net for reads left ``pending``.

The sync push judges the reads it stored as soon as its items are committed; when that
fails (or a read goes back to pending some other way) this task, every ten minutes,
judges whatever is still pending (``services.meter_data.vee_pending``).
"""

from __future__ import annotations

from typing import Any

from gridbill.settings import get_settings
from jobs.registry import task
from services.meter_data.vee_config import load_config
from services.meter_data.vee_pending import validate_pending_reads as validate


@task(name="validate_pending_reads", periodic_cron="*/10 * * * *")
async def validate_pending_reads() -> dict[str, Any]:
    """Judge every pending register read with the register-read VEE rules."""
    settings = get_settings()
    outcome = await validate(zone=settings.zone, config=load_config(settings))
    return outcome.as_dict()
