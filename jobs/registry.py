"""The background tasks gridbill knows: plain async functions, registered once by name.

A task is written once and knows nothing of the engine that will run it: procrastinate
workers on PostgreSQL, the in-process runner on SQLite. Callers refer to tasks by name
(see :func:`jobs.runtime.defer`), which is also what the PostgreSQL job queue stores.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from jobs.schedule import validate_cron

TaskFunction = Callable[..., Awaitable[dict[str, Any]]]
F = TypeVar("F", bound=TaskFunction)

DEFAULT_QUEUE = "default"

# Modules whose import registers tasks. A new task module is added here, so that the
# server, the workers and `defer` all see the same set whichever imports ran first.
TASK_MODULES = ("jobs.housekeeping", "jobs.billing", "jobs.vee", "jobs.notifications")


class UnknownTask(LookupError):
    """A task name that nothing registered: a typo, or a module missing from TASK_MODULES."""

    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(
            f"no background task named {name!r}; known tasks: {', '.join(known) or 'none'}"
        )


@dataclass(frozen=True)
class Task:
    name: str
    fn: TaskFunction
    queue: str = DEFAULT_QUEUE
    periodic_cron: str | None = None


class TaskRegistry:
    """Name → task; separate instances let tests register throwaway tasks."""

    def __init__(self) -> None:
        self._tasks: dict[str, Task] = {}

    def task(
        self, *, name: str, periodic_cron: str | None = None, queue: str = DEFAULT_QUEUE
    ) -> Callable[[F], F]:
        """Register ``async def fn(**kwargs) -> dict``; the function itself is unchanged."""

        def register(fn: F) -> F:
            self.add(Task(name=name, fn=fn, queue=queue, periodic_cron=periodic_cron))
            return fn

        return register

    def add(self, task: Task) -> Task:
        if not inspect.iscoroutinefunction(task.fn):
            raise TypeError(f"task {task.name!r} must be an async function")
        if task.name in self._tasks:
            raise ValueError(f"a task named {task.name!r} is already registered")
        if task.periodic_cron is not None:
            validate_cron(task.periodic_cron)
        self._tasks[task.name] = task
        return task

    def get(self, name: str) -> Task:
        try:
            return self._tasks[name]
        except KeyError:
            raise UnknownTask(name, sorted(self._tasks)) from None

    def __iter__(self) -> Iterator[Task]:
        return iter(list(self._tasks.values()))


registry = TaskRegistry()
task = registry.task


def load_tasks() -> TaskRegistry:
    """The application's registry with every task module imported."""
    for module in TASK_MODULES:
        importlib.import_module(module)
    return registry
