"""``gridbill worker``: one procrastinate worker process running gridbill's tasks.

Run as many processes as the load needs; PostgreSQL hands each job to exactly one of
them. The Tortoise connection pool is opened once per process and shared by its jobs.
"""

from __future__ import annotations

import logging
import os

from gridbill.errors import UserError
from gridbill.settings import Settings
from jobs.procrastinate_app import build_app, ensure_schema
from jobs.runtime import background_jobs
from store.db import open_database

log = logging.getLogger(__name__)

# Besides one connection per running job: fetching, heartbeats and status updates.
EXTRA_QUEUE_CONNECTIONS = 2


async def run_worker(settings: Settings, *, concurrency: int, once: bool) -> int:
    """Process jobs until stopped (SIGINT/SIGTERM), or with ``once`` until the queue is empty.

    A ``once`` run does not schedule periodic tasks: it is for draining a queue (tests,
    cron-driven deployments), and a catch-up run must not add jobs of its own.
    """
    if concurrency < 1:
        raise UserError("--concurrency must be at least 1")
    await ensure_schema(settings)
    app = build_app(settings, periodic=not once, pool_max=concurrency + EXTRA_QUEUE_CONNECTIONS)
    name = f"gridbill-{os.getpid()}"
    async with (
        open_database(settings.database_url, pool_max=max(settings.db_pool_max, concurrency)),
        app.open_async(),
        background_jobs(settings),  # a task may queue follow-ups (issue_bills: the PDFs)
    ):
        log.info(
            "worker %s started: %d job(s) at a time%s", name, concurrency, ", once" if once else ""
        )
        await app.run_worker_async(
            name=name, concurrency=concurrency, wait=not once, listen_notify=not once
        )
    log.info("worker %s stopped", name)
    return 0
