"""The SQLite engine: jobs and periodic tasks run as asyncio tasks inside the server.

Embedded mode has one server process and no job queue tables, so the queue is in memory.
Shutdown first stops the schedulers, then lets queued and running jobs finish within
``shutdown_timeout``; only what is still unfinished then is cancelled (and logged), so a
restart does not silently cut a running job short.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

from jobs.execution import run_task
from jobs.registry import Task
from jobs.schedule import next_run

log = logging.getLogger(__name__)

ENGINE = "inprocess"
DEFAULT_CONCURRENCY = 2
SHUTDOWN_TIMEOUT_S = 30.0


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class _Job:
    task: Task
    kwargs: dict[str, Any]


class InProcessRunner:
    """A bounded pool of job tasks fed by an in-memory queue, plus a scheduler per cron task."""

    def __init__(
        self,
        tasks: Iterable[Task],
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        shutdown_timeout: float = SHUTDOWN_TIMEOUT_S,
    ) -> None:
        self._periodic = [task for task in tasks if task.periodic_cron is not None]
        self._concurrency = concurrency
        self._shutdown_timeout = shutdown_timeout
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()
        self._slots = asyncio.Semaphore(concurrency)
        self._running: set[asyncio.Task[None]] = set()
        self._loops: list[asyncio.Task[None]] = []
        self._dispatcher: asyncio.Task[None] | None = None
        self._closed = False

    async def __aenter__(self) -> Self:
        self._dispatcher = asyncio.create_task(self._dispatch(), name="inprocess jobs")
        self._loops = [
            asyncio.create_task(self._schedule(task), name=f"schedule {task.name}")
            for task in self._periodic
        ]
        log.info("in-process jobs started: %d at a time", self._concurrency)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def defer(self, task: Task, kwargs: dict[str, Any]) -> None:
        if self._closed:
            raise RuntimeError(f"cannot defer {task.name!r}: background jobs are shutting down")
        self._queue.put_nowait(_Job(task, kwargs))

    async def defer_many(self, task: Task, runs: list[dict[str, Any]]) -> None:
        for kwargs in runs:
            await self.defer(task, kwargs)

    async def stop(self) -> None:
        self._closed = True
        await _cancel(self._loops)
        try:
            await asyncio.wait_for(self._queue.join(), self._shutdown_timeout)
        except TimeoutError:
            log.warning(
                "background jobs still running after %.0f s: cancelling them",
                self._shutdown_timeout,
            )
        await _cancel([self._dispatcher] if self._dispatcher else [])
        await _cancel(self._running)
        if dropped := self._queue.qsize():
            log.warning("%d queued background job(s) were not started before shutdown", dropped)

    async def _dispatch(self) -> None:
        while True:
            job = await self._queue.get()
            try:
                await self._slots.acquire()
            except asyncio.CancelledError:
                self._queue.put_nowait(job)  # counted as not started by stop()
                self._queue.task_done()
                raise
            running = asyncio.create_task(self._execute(job), name=f"job {job.task.name}")
            self._running.add(running)
            running.add_done_callback(self._finished)

    def _finished(self, running: asyncio.Task[None]) -> None:
        self._running.discard(running)
        self._slots.release()
        self._queue.task_done()

    async def _execute(self, job: _Job) -> None:
        try:
            await run_task(job.task, ENGINE, job.kwargs)
        except Exception:
            log.exception("background task %s failed", job.task.name)

    async def _schedule(self, task: Task) -> None:
        """Defer ``task`` at each cron instant; runs missed while suspended are skipped.

        The next instant counts from the one just served, never from a clock read that
        may lag it by a few milliseconds, so one instant can never fire twice.
        """
        assert task.periodic_cron is not None
        due = next_run(task.periodic_cron, utc_now())
        while True:
            await asyncio.sleep(max(0.0, (due - utc_now()).total_seconds()))
            await self.defer(task, {})
            due = next_run(task.periodic_cron, max(due, utc_now()))


async def _cancel(tasks: Collection[asyncio.Task[None]]) -> None:
    pending = list(tasks)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
