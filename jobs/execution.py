"""Running one job: every engine goes through here, so every run leaves a JobRun row.

Recording here rather than in each task means a task that fails, or one added by a later
issue, is still visible to an operator, with the engine that ran it. A run interrupted
before it finished keeps ``succeeded`` NULL.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from jobs.registry import Task
from store.models import JobRun

log = logging.getLogger(__name__)

ERROR_TEXT_MAX = 300


async def run_task(task: Task, engine: str, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Run ``task`` inside the open database context; re-raises so the engine sees failures."""
    run = await JobRun.create(
        task=task.name, engine=engine, started_at=datetime.now(UTC), result={}
    )
    try:
        result = await task.fn(**kwargs)
    except Exception as exc:
        await _finish(run, succeeded=False, result={"error": _describe(exc)})
        raise
    await _finish(run, succeeded=True, result=result)
    return result


async def _finish(run: JobRun, *, succeeded: bool, result: dict[str, Any]) -> None:
    run.finished_at = datetime.now(UTC)
    run.succeeded = succeeded
    run.result = result
    await run.save(update_fields=["finished_at", "succeeded", "result"])


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:ERROR_TEXT_MAX]
