"""Payments fixtures: the sandbox gateway in a thread, our webhook endpoint served over
HTTP on the test's event loop."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import uvicorn
from payments_helpers import KEY_ID, KEY_SECRET, WEBHOOK_SECRET
from starlette.applications import Starlette
from tortoise.context import TortoiseContext

from api.webhooks_route import webhook_routes
from gateway import GatewayConfig, SandboxGateway
from gridbill.settings import Settings, load_settings


@pytest.fixture
def sandbox() -> Iterator[SandboxGateway]:
    config = GatewayConfig(
        key_id=KEY_ID, key_secret=KEY_SECRET, webhook_secret=WEBHOOK_SECRET, retry_base_s=0.05
    )
    with SandboxGateway(config) as gateway:
        yield gateway


@pytest.fixture
def pay_settings(database_url: str, tmp_path: Path, sandbox: SandboxGateway) -> Settings:
    return load_settings(
        {
            "GRIDBILL_ENV": "test",
            "DATABASE_URL": database_url,
            "GRIDBILL_VAR_DIR": str(tmp_path / "var"),
            "GRIDBILL_SECRET_KEY": "test-secret-key-" + "x" * 40,
            "RAZORPAY_KEY_ID": KEY_ID,
            "RAZORPAY_KEY_SECRET": KEY_SECRET,
            "RAZORPAY_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "RAZORPAY_BASE_URL": sandbox.url,
        }
    )


@pytest.fixture
async def webhook_server(
    db: TortoiseContext, pay_settings: Settings, sandbox: SandboxGateway
) -> AsyncIterator[str]:
    """Our ``POST /webhooks/razorpay`` on a loopback port, and the sandbox pointed at it."""
    app = Starlette(routes=webhook_routes(pay_settings))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, lifespan="off", ws="none", log_level="warning", access_log=False)
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
        await asyncio.sleep(0.01)
    url = f"http://127.0.0.1:{port}/webhooks/razorpay"
    sandbox.config.webhook_url = url
    yield url
    server.should_exit = True
    await task
    sock.close()
