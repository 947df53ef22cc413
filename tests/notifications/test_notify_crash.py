"""Killing the worker mid-delivery loses nothing and, to a deduplicating receiver, repeats nothing.

The worker is a real process running the ``deliver_notifications`` task. The SMTP receiver
holds the third mail's DATA without answering, the test kills the worker with SIGKILL
while it waits, and a new worker started after the claim lease ran out delivers the rest.
The receiver drops repeats by Message-ID and counts them.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from domain.enums import OutboxStatus
from gridbill.settings import Settings
from store.models import NotificationAttempt, OutboxMessage
from tests.billing.billing_factories import Utility, issue, run
from tests.notifications.conftest import free_socket
from tests.notifications.notify_helpers import dispatch, reachable

# Imported here, not inside the test: importing a test module deep in a running event loop
# made CPython 3.11's parser fail once ("AST constructor recursion depth mismatch").
from tests.test_jobs import gridbill

ROOT = Path(__file__).resolve().parents[2]
WORKER = """
import asyncio
from gridbill.settings import load_settings
from jobs.execution import run_task
from jobs.registry import load_tasks
from store.db import open_database

async def main():
    settings = load_settings()
    async with open_database(settings.database_url):
        await run_task(load_tasks().get("deliver_notifications"), "test", {})

asyncio.run(main())
"""
CUSTOMERS = 6
LEASE_S = 2


class StallingHandler:
    """Keeps every mail by Message-ID; holds the ``stall_at``-th DATA without answering."""

    def __init__(self, stall_at: int) -> None:
        self.unique: dict[str, bytes] = {}
        self.repeats: Counter[str] = Counter()
        self.count = 0
        self.stall_at = stall_at
        self.stalled = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content
        message_id = next(
            line.split(b":", 1)[1].strip().decode()
            for line in content.splitlines()
            if line.lower().startswith(b"message-id:")
        )
        if message_id in self.unique:
            self.repeats[message_id] += 1
        else:
            self.unique[message_id] = content
        self.count += 1
        if self.count == self.stall_at:
            self.stalled.set()
            await asyncio.sleep(60)  # the worker is killed while it waits for our answer
        return "250 OK"


@pytest.fixture
def stalling_smtp() -> Iterator[tuple[Controller, StallingHandler]]:
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    handler = StallingHandler(stall_at=3)
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield controller, handler
    controller.stop()


def worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", WORKER], cwd=ROOT, env=env)


async def test_a_worker_killed_mid_delivery_loses_and_repeats_nothing(
    utility: Utility,
    settings: Settings,
    subprocess_env: dict[str, str],
    stalling_smtp: tuple[Controller, StallingHandler],
) -> None:
    controller, handler = stalling_smtp
    for n in range(CUSTOMERS):
        site, _ = await reachable(utility, email=f"c{n}@example.com", phone=None, signed_up=False)
        await site.read("1.8.0", "0", date(2026, 1, 8))
        await site.read("1.8.0", str(100 + n), date(2026, 2, 8))
    await run("2026-02")
    await issue("2026-02", date(2026, 2, 11))
    assert await OutboxMessage.filter(status=OutboxStatus.PENDING).count() == CUSTOMERS

    env = {
        **subprocess_env,
        "GRIDBILL_SMTP_HOST": "127.0.0.1",
        "GRIDBILL_SMTP_PORT": str(controller.port),
        "GRIDBILL_NOTIFY_LEASE": str(LEASE_S),
        "GRIDBILL_QUIET_HOURS": "off",
    }
    first = worker(env)
    try:
        stalled = await asyncio.to_thread(handler.stalled.wait, 60)
        assert stalled, "the worker never reached the third mail"
        os.kill(first.pid, signal.SIGKILL)
    finally:
        first.wait(30)
    assert first.returncode == -signal.SIGKILL
    sent_before = await OutboxMessage.filter(status=OutboxStatus.SENT).count()
    assert sent_before == 2  # the third was on the wire, unrecorded

    await asyncio.sleep(LEASE_S + 0.5)  # the dead worker's claim runs out
    second = worker(env)
    assert await asyncio.to_thread(second.wait, 60) == 0

    rows = await OutboxMessage.all()
    assert [r.status for r in rows] == [OutboxStatus.SENT] * CUSTOMERS
    assert len(handler.unique) == CUSTOMERS  # every notification arrived
    assert sum(handler.repeats.values()) == 1  # the interrupted one, dropped by Message-ID
    assert await NotificationAttempt.filter(succeeded=True).count() == CUSTOMERS


async def test_concurrent_dispatchers_claim_disjoint_rows(
    utility: Utility, notify_settings: Settings, mail_dir: Path
) -> None:
    from tests.notifications.receivers import by_message_id, read_mails

    for n in range(CUSTOMERS):
        site, _ = await reachable(utility, email=f"d{n}@example.com", phone=None, signed_up=False)
        await site.read("1.8.0", "0", date(2026, 1, 8))
        await site.read("1.8.0", "50", date(2026, 2, 8))
    await run("2026-02")
    await issue("2026-02", date(2026, 2, 11))
    results = await asyncio.gather(*(dispatch(notify_settings, worker=f"w{i}") for i in range(3)))
    assert sum(r.sent for r in results) == CUSTOMERS
    unique, repeats = by_message_id(read_mails(mail_dir))
    assert len(unique) == CUSTOMERS and not repeats
    workers = await NotificationAttempt.all().values_list("worker", flat=True)
    assert len(workers) == CUSTOMERS


@pytest.mark.slow
async def test_two_gridbill_workers_on_procrastinate_deliver_each_notification_once(
    on_postgres: None,
    utility: Utility,
    settings: Settings,
    subprocess_env: dict[str, str],
    stalling_smtp: tuple[Controller, StallingHandler],
) -> None:
    from jobs.procrastinate_app import ensure_schema
    from jobs.runtime import background_jobs, defer

    controller, handler = stalling_smtp
    handler.stall_at = 0  # never stall
    for n in range(CUSTOMERS * 2):
        site, _ = await reachable(utility, email=f"w{n}@example.com", phone=None, signed_up=False)
        await site.read("1.8.0", "0", date(2026, 1, 8))
        await site.read("1.8.0", "70", date(2026, 2, 8))
    await run("2026-02")
    await issue("2026-02", date(2026, 2, 11))
    await ensure_schema(settings)
    async with background_jobs(settings):
        for _ in range(4):
            await defer("deliver_notifications")
    env = {
        **subprocess_env,
        "GRIDBILL_SMTP_HOST": "127.0.0.1",
        "GRIDBILL_SMTP_PORT": str(controller.port),
        "GRIDBILL_QUIET_HOURS": "off",
    }
    worker = ("worker", "--once", "--concurrency", "2")
    for code, output in await asyncio.gather(
        gridbill(*worker, env=env), gridbill(*worker, env=env)
    ):
        assert code == 0, output
    assert len(handler.unique) == CUSTOMERS * 2 and not handler.repeats
    assert await OutboxMessage.filter(status=OutboxStatus.SENT).count() == CUSTOMERS * 2
    assert await NotificationAttempt.all().count() == CUSTOMERS * 2
