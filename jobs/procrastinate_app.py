"""The PostgreSQL engine: gridbill's tasks as a procrastinate App, and its schema.

Jobs live in procrastinate's tables in the application database, so any number of
``gridbill worker`` processes share one queue (each job is fetched by exactly one worker)
and a job deferred by the server survives restarts.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import procrastinate
import psycopg
from procrastinate.schema import SchemaManager

from gridbill.settings import Settings
from jobs.execution import run_task
from jobs.registry import Task, load_tasks
from store.db import CONNECT_TIMEOUT_S, DatabaseUnavailable

log = logging.getLogger(__name__)

ENGINE = "procrastinate"
# Any fixed number: serialises workers and `migrate` that would apply the schema at once.
SCHEMA_LOCK_KEY = 0x67_72_69_64_6A_6F_62  # "gridjob"
# Procrastinate adds this to the arguments of periodic jobs; our task functions don't take it.
PERIODIC_TIMESTAMP_KWARG = "timestamp"


def conninfo(settings: Settings) -> str:
    """libpq's URL of the database reached directly (the queue LISTENs: no transaction pooler)."""
    _scheme, rest = settings.direct_url.split("://", 1)
    return f"postgresql://{rest}"


def build_app(settings: Settings, *, periodic: bool = True, pool_max: int = 4) -> procrastinate.App:
    """An App with every registered task; ``periodic=False`` leaves cron scheduling to others."""
    connector = procrastinate.PsycopgConnector(
        conninfo=conninfo(settings), min_size=1, max_size=pool_max, timeout=CONNECT_TIMEOUT_S
    )
    app = procrastinate.App(connector=connector)
    for task in load_tasks():
        _register(app, task, periodic=periodic)
    return app


def _register(app: procrastinate.App, task: Task, *, periodic: bool) -> None:
    job = app.task(name=task.name, queue=task.queue)(_job_function(task))
    if periodic and task.periodic_cron is not None:
        app.periodic_registry.register_task(
            task=job, cron=task.periodic_cron, periodic_id=task.name, configure_kwargs={}
        )


def _job_function(task: Task) -> Callable[..., Awaitable[dict[str, Any]]]:
    async def run(**kwargs: Any) -> dict[str, Any]:
        if task.periodic_cron is not None:
            kwargs.pop(PERIODIC_TIMESTAMP_KWARG, None)
        return await run_task(task, ENGINE, kwargs)

    run.__qualname__ = run.__name__ = f"run_{task.name}"
    return run


async def ensure_schema(settings: Settings) -> bool:
    """Apply procrastinate's schema unless present; True if it was applied now.

    Upgrading procrastinate to a version with schema migrations needs those applied
    separately (see procrastinate's "migrations" docs); this only covers a fresh database.
    """
    try:
        async with (
            await psycopg.AsyncConnection.connect(
                conninfo(settings), autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
            ) as conn,
            conn.transaction(),
        ):
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK_KEY,))
            cursor = await conn.execute("SELECT to_regclass('procrastinate_jobs') IS NULL")
            row = await cursor.fetchone()
            if not (row and row[0]):
                return False
            await conn.execute(SchemaManager.get_schema())
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(f"cannot prepare the job queue: {exc}") from exc
    log.info("applied procrastinate's job queue schema")
    return True
