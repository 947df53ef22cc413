"""Fixtures of the notification tests: a real SMTP catcher, loopback SMS and FCM receivers."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from starlette.testclient import TestClient
from tortoise.context import TortoiseContext

from api.app import create_app
from gridbill.settings import Settings
from notifications.mailcatcher import start
from notifications.rendering import registration_texts
from tests.api.api_helpers import Api
from tests.billing.billing_factories import Utility
from tests.conftest import make_settings
from tests.notifications.receivers import (
    PROJECT,
    SENDER,
    SMS_KEY,
    Receivers,
    service_account,
    serving,
)


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture
def mail_dir(tmp_path: Path) -> Path:
    return tmp_path / "mail"


@pytest.fixture
def catcher(mail_dir: Path) -> Iterator[Controller]:
    """The product's own mail catcher (aiosmtpd) on a free loopback port."""
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    controller = start(mail_dir, "127.0.0.1", port)
    yield controller
    controller.stop()


@pytest.fixture
def dlt_templates(tmp_path: Path) -> dict[str, dict[str, str]]:
    """Every template registered, with made-up 19-digit ids."""
    return {
        name: {"template_id": f"1107{n:015d}", "text": text}
        for n, (name, text) in enumerate(sorted(registration_texts().items()), start=1)
    }


@pytest.fixture
def receivers(tmp_path: Path, dlt_templates: dict[str, dict[str, str]]) -> Iterator[Receivers]:
    sock = free_socket()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    public_key = service_account(tmp_path / "service-account.json")
    with serving(Receivers(url, dlt_templates, public_key), sock) as running:
        yield running


def notify_overrides(
    tmp_path: Path, catcher: Controller, receivers: Receivers, templates: dict[str, dict[str, str]]
) -> dict[str, str]:
    path = tmp_path / "dlt-templates.json"
    path.write_text(json.dumps(templates, ensure_ascii=False), encoding="utf-8")
    return {
        "GRIDBILL_SMTP_HOST": "127.0.0.1",
        "GRIDBILL_SMTP_PORT": str(catcher.port),
        "GRIDBILL_SMS_URL": f"{receivers.url}/sms",
        "GRIDBILL_SMS_API_KEY": SMS_KEY,
        "GRIDBILL_SMS_SENDER": SENDER,
        "GRIDBILL_SMS_ENTITY_ID": "1101000000000000001",
        "GRIDBILL_SMS_TEMPLATES": str(path),
        "GRIDBILL_FCM_PROJECT_ID": PROJECT,
        "GRIDBILL_FCM_CREDENTIALS": str(tmp_path / "service-account.json"),
        "GRIDBILL_FCM_BASE_URL": receivers.url,
        "GRIDBILL_FCM_TOKEN_URL": f"{receivers.url}/token",
        "GRIDBILL_QUIET_HOURS": "off",
    }


@pytest.fixture
def notify_settings(
    database_url: str,
    tmp_path: Path,
    catcher: Controller,
    receivers: Receivers,
    dlt_templates: dict[str, dict[str, str]],
) -> Settings:
    return make_settings(
        database_url,
        tmp_path / "var",
        **notify_overrides(tmp_path, catcher, receivers, dlt_templates),
    )


@pytest.fixture
async def utility(db: TortoiseContext) -> Utility:
    return await Utility.create()


@pytest.fixture
def api(notify_settings: Settings) -> Iterator[Api]:
    """The real app (lifespan running) with the notification settings, in a TestClient.

    Its in-process runner's cron timers are left unstarted (tests/conftest.py): a minute
    boundary would otherwise run ``deliver_notifications`` between the test's own
    dispatcher runs. The tests run the dispatcher themselves.
    """
    with TestClient(create_app(notify_settings)) as client:
        yield Api(client, notify_settings)
