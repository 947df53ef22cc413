"""The one way to start background jobs and to enqueue them, whichever engine runs them.

DATABASE_URL decides: on PostgreSQL jobs go to procrastinate's queue and separate
``gridbill worker`` processes run them; on SQLite the server runs them itself. Callers
only ever write ``await defer("task_name", **kwargs)``.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Sequence
from typing import Any, Protocol

import procrastinate

from gridbill.settings import Settings
from jobs.inprocess import InProcessRunner
from jobs.procrastinate_app import build_app
from jobs.registry import Task, load_tasks


class JobsNotRunning(RuntimeError):
    """``defer`` was called outside :func:`background_jobs`: nothing would ever run the job."""


class Engine(Protocol):
    async def defer(self, task: Task, kwargs: dict[str, Any]) -> None: ...

    async def defer_many(self, task: Task, runs: list[dict[str, Any]]) -> None: ...


class ProcrastinateDeferrer:
    """Enqueues into procrastinate's tables; running is the workers' business."""

    def __init__(self, app: procrastinate.App) -> None:
        self._app = app

    async def defer(self, task: Task, kwargs: dict[str, Any]) -> None:
        await self._app.configure_task(task.name, allow_unknown=False).defer_async(**kwargs)

    async def defer_many(self, task: Task, runs: list[dict[str, Any]]) -> None:
        await self._app.configure_task(task.name, allow_unknown=False).batch_defer_async(*runs)


_engine: Engine | None = None


@contextlib.asynccontextmanager
async def background_jobs(settings: Settings) -> AsyncIterator[None]:
    """Make :func:`defer` work for the block; on SQLite also run jobs and periodic tasks.

    On PostgreSQL this only opens a small pool to enqueue with; the queue's schema comes
    from ``gridbill migrate`` like every other table. On SQLite it must be entered inside
    an open database, whose Tortoise context the jobs use.
    """
    global _engine
    if _engine is not None:
        raise RuntimeError("background jobs are already running in this process")
    async with _start_engine(settings) as engine:
        _engine = engine
        try:
            yield
        finally:
            _engine = None


@contextlib.asynccontextmanager
async def _start_engine(settings: Settings) -> AsyncIterator[Engine]:
    if settings.is_postgres:
        app = build_app(settings, periodic=False)
        async with app.open_async():
            yield ProcrastinateDeferrer(app)
    else:
        async with InProcessRunner(load_tasks()) as runner:
            yield runner


async def defer(task_name: str, **kwargs: Any) -> None:
    """Enqueue a run of ``task_name``; raises UnknownTask for a name nothing registered.

    Arguments must be JSON values: PostgreSQL stores them, and SQLite mode passes the
    same JSON round-trip on, so a task sees identical arguments under either engine.
    """
    task, engine = _ready(task_name)
    await engine.defer(task, _as_json(task_name, kwargs))


async def defer_many(task_name: str, runs: Sequence[dict[str, Any]]) -> None:
    """Enqueue several runs of ``task_name`` at once (one statement on PostgreSQL)."""
    task, engine = _ready(task_name)
    if runs:
        await engine.defer_many(task, [_as_json(task_name, kwargs) for kwargs in runs])


def _ready(task_name: str) -> tuple[Task, Engine]:
    task = load_tasks().get(task_name)
    if _engine is None:
        raise JobsNotRunning(
            f"cannot defer {task_name!r}: background jobs are not running "
            "(the server starts them; a script wraps its work in `background_jobs(settings)`)"
        )
    return task, _engine


def _as_json(task_name: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    try:
        encoded = json.dumps(kwargs, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"arguments of task {task_name!r} must be JSON values: {exc}") from None
    decoded: dict[str, Any] = json.loads(encoded)
    return decoded
