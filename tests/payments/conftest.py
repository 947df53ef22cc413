"""Payments fixtures: settings pointed at the payment sandbox (tests/conftest.py ``sandbox``),
our webhook endpoint served over HTTP on the test's event loop."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import uvicorn
from starlette.applications import Starlette
from tortoise.context import TortoiseContext

from api.webhooks_route import webhook_routes
from gateway import SandboxGateway
from gridbill.settings import Settings
from tests.conftest import make_settings
from tests.payment_sandbox import razorpay_env


@pytest.fixture
def pay_settings(database_url: str, tmp_path: Path, sandbox: SandboxGateway) -> Settings:
    return make_settings(database_url, tmp_path / "var", **razorpay_env(sandbox))


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
