"""Background jobs run for real on both engines: in the server on SQLite, in workers on PostgreSQL.

The SQLite tests start the in-process runner inside the test's database; the PostgreSQL
tests defer through procrastinate and run ``gridbill worker --once`` as real processes.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from tortoise.connection import get_connection
from tortoise.context import TortoiseContext

from domain.enums import Role
from gridbill.settings import Settings
from jobs.inprocess import InProcessRunner
from jobs.procrastinate_app import build_app, ensure_schema
from jobs.registry import TaskRegistry, UnknownTask, load_tasks
from jobs.runtime import JobsNotRunning, background_jobs, defer
from jobs.schedule import next_run
from store.models import IdempotencyKey, JobRun, RefreshToken, User
from tests.conftest import make_settings

ROOT = Path(__file__).resolve().parent.parent
WAIT_S = 15.0
NOW = datetime.now(UTC)


# --- helpers ----------------------------------------------------------------------------


async def seed_expiring_rows() -> None:
    """Two keys and two tokens that housekeeping must delete, three rows it must keep."""
    for key, expires in (("old-1", -1), ("old-2", -48), ("live", 24)):
        await IdempotencyKey.create(
            scope="test",
            key=key,
            request_sha256="0" * 64,
            expires_at=NOW + timedelta(hours=expires),
        )
    user = await User.create(full_name="Token Holder", role=Role.CUSTOMER)
    for name, expired_days in (("ancient", 31), ("recent", 1), ("valid", -7)):
        await RefreshToken.create(
            user=user,
            token_hash=name.ljust(64, "0"),
            family=uuid.uuid4(),
            expires_at=NOW - timedelta(days=expired_days),
        )


async def assert_housekept() -> None:
    assert [str(k) for k in await IdempotencyKey.all().values_list("key", flat=True)] == ["live"]
    tokens = await RefreshToken.all().order_by("token_hash").values_list("token_hash", flat=True)
    assert [str(t).rstrip("0") for t in tokens] == ["recent", "valid"]


async def eventually(check: Callable[[], Awaitable[bool]]) -> None:
    deadline = asyncio.get_running_loop().time() + WAIT_S
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "timed out waiting"
        await asyncio.sleep(0.02)


async def succeeded_runs_are(expected: int) -> bool:
    return await JobRun.filter(succeeded=True).count() == expected


async def recorded(record: list[str], event: str) -> bool:
    return event in record


async def gridbill(*args: str, env: dict[str, str]) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cli.main", *args,
        env=env, cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await asyncio.wait_for(process.communicate(), WAIT_S * 4)
    assert process.returncode is not None
    return process.returncode, output.decode()


async def procrastinate_statuses() -> dict[str, int]:
    rows = await get_connection("default").execute_query_dict(
        "SELECT status::text AS status, count(*) AS n FROM procrastinate_jobs GROUP BY status"
    )
    return {row["status"]: row["n"] for row in rows}


# --- the registry and the schedule ------------------------------------------------------


def test_housekeeping_is_registered_nightly() -> None:
    task = load_tasks().get("housekeeping")
    assert task.periodic_cron == "0 3 * * *"
    assert task.queue == "default"


def test_registry_rejects_mistakes_when_tasks_are_declared() -> None:
    registry = TaskRegistry()

    @registry.task(name="once")
    async def once() -> dict[str, Any]:
        return {}

    with pytest.raises(ValueError, match="already registered"):
        registry.task(name="once")(once)
    with pytest.raises(ValueError, match="invalid cron"):
        registry.task(name="bad-cron", periodic_cron="0 25 * * *")(once)
    with pytest.raises(TypeError, match="must be an async function"):
        registry.task(name="sync")(lambda: {})  # type: ignore[type-var]
    with pytest.raises(UnknownTask, match="no background task named 'twice'; known tasks: once"):
        registry.get("twice")


@pytest.mark.parametrize(
    ("cron", "after", "expected"),
    [
        ("0 3 * * *", datetime(2026, 1, 1, 5, 0, tzinfo=UTC), datetime(2026, 1, 2, 3, 0, tzinfo=UTC)),
        ("0 3 * * *", datetime(2026, 1, 1, 2, 59, 59, tzinfo=UTC), datetime(2026, 1, 1, 3, 0, tzinfo=UTC)),
        # strictly after: an instant that matches yields the next one
        ("0 3 * * *", datetime(2026, 1, 1, 3, 0, tzinfo=UTC), datetime(2026, 1, 2, 3, 0, tzinfo=UTC)),
        ("*/15 * * * *", datetime(2026, 3, 31, 23, 50, tzinfo=UTC), datetime(2026, 4, 1, 0, 0, tzinfo=UTC)),
        # lists, ranges and weekdays: 2026-01-02 is a Friday, the next weekday is Monday the 5th
        ("0 9,17 * * 1-5", datetime(2026, 1, 2, 17, 0, tzinfo=UTC), datetime(2026, 1, 5, 9, 0, tzinfo=UTC)),
        ("30 0 1 */3 *", datetime(2026, 2, 10, tzinfo=UTC), datetime(2026, 4, 1, 0, 30, tzinfo=UTC)),
        # cron is read in UTC whatever zone the caller's clock is in (03:00 UTC is 08:30 IST)
        ("0 3 * * *", datetime(2026, 1, 1, 8, 0, tzinfo=ZoneInfo("Asia/Kolkata")), datetime(2026, 1, 1, 3, 0, tzinfo=UTC)),
        # a sixth field counts seconds, as procrastinate reads it
        ("* * * * * */10", datetime(2026, 1, 1, 0, 0, 5, tzinfo=UTC), datetime(2026, 1, 1, 0, 0, 10, tzinfo=UTC)),
    ],
)  # fmt: skip
def test_next_run(cron: str, after: datetime, expected: datetime) -> None:
    assert next_run(cron, after) == expected
    assert next_run(cron, after).tzinfo is UTC


def test_next_run_needs_an_aware_datetime() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_run("0 3 * * *", datetime(2026, 1, 1))  # noqa: DTZ001 - the point of the test


def test_procrastinate_app_has_every_task_and_the_schedule(tmp_path: Path) -> None:
    settings = make_settings("postgres://app:pw@db.invalid:5432/gridbill", tmp_path)
    app = build_app(settings)
    assert {task.name for task in load_tasks()} <= set(app.tasks)
    crons = {key: p.cron for key, p in app.periodic_registry.periodic_tasks.items()}
    assert crons == {
        ("housekeeping", "housekeeping"): "0 3 * * *",
        ("validate_pending_reads", "validate_pending_reads"): "*/10 * * * *",
        ("deliver_notifications", "deliver_notifications"): "* * * * *",
        ("dunning", "dunning"): "30 3 * * *",
        ("draft_due_bill_runs", "draft_due_bill_runs"): "30 20 * * *",
        ("deposit_year_end", "deposit_year_end"): "0 22 * 4 *",
    }
    assert not build_app(settings, periodic=False).periodic_registry.periodic_tasks


# --- defer's contract -------------------------------------------------------------------


async def test_defer_names_unknown_tasks() -> None:
    with pytest.raises(
        UnknownTask, match=r"no background task named 'houskeeping'; known tasks: .*housekeeping"
    ):
        await defer("houskeeping")


async def test_defer_outside_background_jobs_is_refused() -> None:
    with pytest.raises(JobsNotRunning, match="background jobs are not running"):
        await defer("housekeeping")


async def test_defer_accepts_only_json_arguments(
    on_sqlite: None, settings: Settings, db: TortoiseContext
) -> None:
    async with background_jobs(settings):
        with pytest.raises(TypeError, match="must be JSON values"):
            await defer("housekeeping", when=NOW)


# --- SQLite: the in-process engine ------------------------------------------------------


async def test_inprocess_engine_runs_housekeeping(
    on_sqlite: None, settings: Settings, db: TortoiseContext
) -> None:
    await seed_expiring_rows()
    async with background_jobs(settings):
        await defer("housekeeping")
        await eventually(JobRun.filter(engine="inprocess", finished_at__isnull=False).exists)
    run = await JobRun.get(task="housekeeping")
    assert run.engine == "inprocess" and run.succeeded is True
    assert run.finished_at is not None and run.finished_at >= run.started_at
    assert run.result == {"idempotency_keys_deleted": 2, "refresh_tokens_deleted": 1}
    await assert_housekept()


def probe_tasks(record: list[str], *, seconds: float) -> TaskRegistry:
    """Throwaway tasks that note when they start and finish, so tests can see overlap."""
    registry = TaskRegistry()

    @registry.task(name="sleepy")
    async def sleepy(label: str) -> dict[str, Any]:
        record.append(f"start {label}")
        await asyncio.sleep(seconds)
        record.append(f"end {label}")
        return {"label": label}

    @registry.task(name="broken")
    async def broken() -> dict[str, Any]:
        raise RuntimeError("meter service down")

    return registry


def most_at_once(record: list[str]) -> int:
    running = peak = 0
    for event in record:
        running += 1 if event.startswith("start") else -1
        peak = max(peak, running)
    return peak


async def test_inprocess_runs_at_most_concurrency_jobs_at_once(
    on_sqlite: None, db: TortoiseContext
) -> None:
    record: list[str] = []
    sleepy = probe_tasks(record, seconds=0.05).get("sleepy")
    async with InProcessRunner([], concurrency=2) as runner:
        for n in range(5):
            await runner.defer(sleepy, {"label": str(n)})
        await eventually(lambda: succeeded_runs_are(5))
    assert sorted(e for e in record if e.startswith("end")) == [f"end {n}" for n in range(5)]
    assert most_at_once(record) == 2


async def test_inprocess_records_a_failed_job_and_keeps_going(
    on_sqlite: None, db: TortoiseContext
) -> None:
    tasks = probe_tasks([], seconds=0)
    async with InProcessRunner([]) as runner:
        await runner.defer(tasks.get("broken"), {})
        await runner.defer(tasks.get("sleepy"), {"label": "after"})
        await eventually(lambda: succeeded_runs_are(1))
        await eventually(JobRun.filter(succeeded=False).exists)
    failed = await JobRun.get(task="broken")
    assert failed.result == {"error": "RuntimeError: meter service down"}
    assert failed.finished_at is not None


async def test_inprocess_shutdown_finishes_running_and_queued_jobs(
    on_sqlite: None, db: TortoiseContext
) -> None:
    record: list[str] = []
    sleepy = probe_tasks(record, seconds=0.2).get("sleepy")
    async with InProcessRunner([], concurrency=1) as runner:
        await runner.defer(sleepy, {"label": "running"})
        await runner.defer(sleepy, {"label": "queued"})
        await eventually(lambda: recorded(record, "start running"))
    assert record == ["start running", "end running", "start queued", "end queued"]
    assert await JobRun.filter(succeeded=True).count() == 2
    with pytest.raises(RuntimeError, match="shutting down"):
        await runner.defer(sleepy, {"label": "late"})


async def test_inprocess_shutdown_timeout_cancels_a_stuck_job(
    on_sqlite: None, db: TortoiseContext
) -> None:
    record: list[str] = []
    sleepy = probe_tasks(record, seconds=60).get("sleepy")
    started = asyncio.get_running_loop().time()
    async with InProcessRunner([], concurrency=1, shutdown_timeout=0.2) as runner:
        await runner.defer(sleepy, {"label": "stuck"})
        await runner.defer(sleepy, {"label": "never started"})
        await eventually(lambda: recorded(record, "start stuck"))
    assert asyncio.get_running_loop().time() - started < 5
    assert record == ["start stuck"]
    run = await JobRun.get()  # interrupted: no outcome recorded, and only one run began
    assert run.succeeded is None and run.finished_at is None


@pytest.mark.cron_timers
async def test_inprocess_scheduler_defers_periodic_tasks(
    on_sqlite: None, db: TortoiseContext
) -> None:
    registry = TaskRegistry()

    @registry.task(name="tick", periodic_cron="* * * * * *")
    async def tick() -> dict[str, Any]:
        return {"ticked": True}

    async with InProcessRunner(registry):
        await eventually(JobRun.filter(task="tick", succeeded=True).exists)
    run = await JobRun.get(task="tick")
    assert run.engine == "inprocess" and run.result == {"ticked": True}


# --- PostgreSQL: procrastinate workers --------------------------------------------------


@pytest.mark.slow
async def test_procrastinate_worker_runs_housekeeping(
    on_postgres: None, settings: Settings, db: TortoiseContext, subprocess_env: dict[str, str]
) -> None:
    await seed_expiring_rows()
    assert await ensure_schema(settings) is True
    assert await ensure_schema(settings) is False
    async with background_jobs(settings):
        await defer("housekeeping")
    assert await procrastinate_statuses() == {"todo": 1}
    assert not await JobRun.exists()  # deferring on PostgreSQL runs nothing in this process

    code, output = await gridbill("worker", "--once", "--concurrency", "2", env=subprocess_env)

    assert code == 0, output
    run = await JobRun.get(task="housekeeping")
    assert run.engine == "procrastinate" and run.succeeded is True
    assert run.result == {"idempotency_keys_deleted": 2, "refresh_tokens_deleted": 1}
    await assert_housekept()
    assert await procrastinate_statuses() == {"succeeded": 1}


@pytest.mark.slow
async def test_parallel_workers_run_each_job_exactly_once(
    on_postgres: None, settings: Settings, db: TortoiseContext, subprocess_env: dict[str, str]
) -> None:
    jobs = 24
    await ensure_schema(settings)
    async with background_jobs(settings):
        for _ in range(jobs):
            await defer("housekeeping")

    worker = ("worker", "--once", "--concurrency", "2")
    results = await asyncio.gather(
        gridbill(*worker, env=subprocess_env), gridbill(*worker, env=subprocess_env)
    )

    for code, output in results:
        assert code == 0, output
    assert await JobRun.filter(engine="procrastinate", succeeded=True).count() == jobs
    assert await JobRun.all().count() == jobs
    assert await procrastinate_statuses() == {"succeeded": jobs}


@pytest.mark.slow
async def test_migrate_applies_the_job_queue_schema_once(
    on_postgres: None, db: TortoiseContext, subprocess_env: dict[str, str]
) -> None:
    code, output = await gridbill("migrate", env=subprocess_env)
    assert code == 0, output
    assert "applied procrastinate.schema" in output
    assert await procrastinate_statuses() == {}
    code, output = await gridbill("migrate", env=subprocess_env)
    assert code == 0 and "database is up to date" in output, output
