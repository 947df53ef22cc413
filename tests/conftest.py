"""Test fixtures: every database test runs on real SQLite and on real PostgreSQL.

A test that asks for ``database_url`` (or ``db``, or ``settings``) is collected once per
backend: ``[sqlite]`` always, ``[postgres]`` when ``GRIDBILL_TEST_PG_URL`` points at a
server (the test command starts a throwaway cluster and sets it; in CI its absence is an
error, not a skip). Each test gets its own freshly migrated database, copied from a
template migrated once per session, so tests never see each other's rows.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from tortoise.context import TortoiseContext

from gateway import SandboxGateway
from gridbill.settings import Settings, load_settings
from jobs.inprocess import InProcessRunner
from jobs.registry import Task
from services.identity import throttle
from store.db import migrate, open_database
from tests.payment_sandbox import sandbox_config

PG_ENV = "GRIDBILL_TEST_PG_URL"
TEST_SECRET_KEY = "test-secret-key-" + "x" * 40


WORKING_VAR = Path(__file__).resolve().parent.parent / "var"


def _listing(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``root`` with its size and modification time (empty if absent)."""
    if not root.exists():
        return {}
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in root.rglob("*")
        if p.is_file()
    }


@pytest.fixture(scope="session", autouse=True)
def process_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Code that reads the process's settings (background tasks call ``get_settings()``)
    must never land in the working copy's ``./var``, the demo's data: point the process
    at a throwaway directory, and fail the run if ``./var`` changed all the same.
    """
    from gridbill.settings import get_settings

    before = _listing(WORKING_VAR)
    var_dir = tmp_path_factory.mktemp("process-var")
    patch = pytest.MonkeyPatch()
    patch.setenv("GRIDBILL_ENV", "test")
    patch.setenv("GRIDBILL_VAR_DIR", str(var_dir))
    patch.setenv("DATABASE_URL", f"sqlite://{var_dir / 'unused.sqlite3'}")
    patch.setenv("GRIDBILL_SECRET_KEY", TEST_SECRET_KEY)
    get_settings.cache_clear()
    yield
    patch.undo()
    get_settings.cache_clear()
    after = _listing(WORKING_VAR)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, f"the test suite changed the working copy's ./var: {changed[:10]}"


def pg_admin_url() -> str | None:
    return os.environ.get(PG_ENV) or None


def backends() -> list[str]:
    if pg_admin_url():
        return ["sqlite", "postgres"]
    if os.environ.get("CI"):
        raise pytest.UsageError(f"CI must test PostgreSQL too: {PG_ENV} is not set")
    return ["sqlite"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize by backend; ``on_sqlite``/``on_postgres`` pin a test to one engine."""
    if "backend" not in metafunc.fixturenames:
        return
    chosen = backends()
    for only in ("sqlite", "postgres"):
        if f"on_{only}" in metafunc.fixturenames:
            chosen = [b for b in chosen if b == only]
    metafunc.parametrize("backend", chosen, scope="session")


@pytest.fixture
def on_sqlite(backend: str) -> None:
    """Request this to run a test on SQLite only (e.g. the embedded in-process engine)."""


@pytest.fixture
def on_postgres(backend: str) -> None:
    """Request this to run a test on PostgreSQL only (e.g. procrastinate, LISTEN/NOTIFY)."""


def with_database(admin_url: str, name: str) -> str:
    parts = urlsplit(admin_url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def pg_execute(sql: str) -> None:
    admin = pg_admin_url()
    assert admin is not None
    with psycopg.connect(admin.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]  # psycopg wants LiteralString


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    asyncio.run(migrate(f"sqlite://{path}"))
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    name = f"gridbill_template_{uuid.uuid4().hex[:8]}"
    admin = pg_admin_url()
    assert admin is not None
    pg_execute(f'CREATE DATABASE "{name}"')
    asyncio.run(migrate(with_database(admin, name)))
    yield name
    pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def fresh_database_url(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[str]:
    """A URL to an empty, unmigrated database of the test's backend."""
    if backend == "sqlite":
        yield f"sqlite://{tmp_path / 'fresh.sqlite3'}"
        return
    admin = pg_admin_url()
    assert admin is not None
    name = f"gridbill_t_{uuid.uuid4().hex[:12]}"
    pg_execute(f'CREATE DATABASE "{name}"')
    yield with_database(admin, name)
    pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to a migrated database of the test's own, on the test's backend."""
    if backend == "sqlite":
        path = tmp_path / "gridbill.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite://{path}"
        return
    template = request.getfixturevalue("pg_template")
    admin = pg_admin_url()
    assert admin is not None
    name = f"gridbill_t_{uuid.uuid4().hex[:12]}"
    pg_execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    yield with_database(admin, name)
    pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def make_settings(database_url: str, var_dir: Path, **overrides: str) -> Settings:
    env = {
        "GRIDBILL_ENV": "test",
        "DATABASE_URL": database_url,
        "GRIDBILL_VAR_DIR": str(var_dir),
        "GRIDBILL_SECRET_KEY": TEST_SECRET_KEY,
        **overrides,
    }
    return load_settings(env)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path / "var")


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[TortoiseContext]:
    """An open Tortoise context on the test's database."""
    async with open_database(database_url) as ctx:
        yield ctx


@pytest.fixture
def subprocess_env(settings: Settings) -> dict[str, str]:
    """Environment for running ``gridbill`` as a subprocess against the test database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRIDBILL_", "DATABASE_URL"))}
    env.update(
        GRIDBILL_ENV="test",
        DATABASE_URL=settings.database_url,
        GRIDBILL_VAR_DIR=str(settings.var_dir),
        GRIDBILL_SECRET_KEY=settings.secret_key,
    )
    return env


@pytest.fixture
def sandbox() -> Iterator[SandboxGateway]:
    """The one payment sandbox (tests/payment_sandbox.py): the Razorpay-compatible gateway
    on a free loopback port, for the real razorpay SDK; webhooks once a test sets a URL."""
    with SandboxGateway(sandbox_config()) as gateway:
        yield gateway


@pytest.fixture(autouse=True)
def _no_cron_timers(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The in-process runner's cron timers stay unstarted in tests (``cron_timers`` marks
    the ones that test them): a cron instant falling inside a test would otherwise run a
    periodic task beside it (a bill run at 20:30 UTC, VEE every 10 minutes), so what the
    test sees would depend on the time of day. Tests run periodic tasks themselves."""
    if request.node.get_closest_marker("cron_timers") is None:

        async def no_timer(self: InProcessRunner, task: Task) -> None:
            return None

        monkeypatch.setattr(InProcessRunner, "_schedule", no_timer)


@pytest.fixture(autouse=True)
def _fresh_throttles() -> None:
    """Every test starts with no failed credentials counted in memory (SQLite throttles)."""
    throttle.reset_memory()
