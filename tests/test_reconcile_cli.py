"""``gridbill reconcile`` as docs/payments.md shows it: a second terminal next to ``make run``.

In development the settings default to the loopback sandbox's published secrets, so the
command needs no variables; when the gateway cannot be reached it prints one error line
and nothing on stdout (the SDK's own "Connection failed." print is routed to the log).
"""

from __future__ import annotations

import socket
import subprocess
import sys

from gateway.server import SandboxGateway
from gridbill.settings import DEVELOPMENT_SANDBOX, load_settings
from tests.payment_sandbox import sandbox_config


def development_env(env: dict[str, str], **extra: str) -> dict[str, str]:
    unset = ("RAZORPAY_KEY_SECRET", "RAZORPAY_WEBHOOK_SECRET", "RAZORPAY_BASE_URL")
    clean = {k: v for k, v in env.items() if k not in unset}
    return {**clean, "GRIDBILL_ENV": "development", **extra}


def reconcile(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", "reconcile", "--date", "2026-03-10", *args],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_development_defaults_are_the_sandbox_and_production_has_none() -> None:
    dev = load_settings({"GRIDBILL_ENV": "development", "GRIDBILL_SECRET_KEY": "k" * 40})
    assert (dev.razorpay_key_secret, dev.razorpay_base_url) == (
        "sandbox_key_secret",
        "http://127.0.0.1:8100",
    )
    prod = load_settings({"GRIDBILL_ENV": "production", "GRIDBILL_SECRET_KEY": "k" * 40})
    assert (prod.razorpay_key_secret, prod.razorpay_webhook_secret) == ("", "")
    assert prod.razorpay_base_url == "https://api.razorpay.com"


def test_reconcile_works_next_to_the_sandbox_without_any_variable(
    subprocess_env: dict[str, str],
) -> None:
    config = sandbox_config(
        key_secret=DEVELOPMENT_SANDBOX["key"],
        webhook_secret=DEVELOPMENT_SANDBOX["hook"],
        drop_webhooks=True,
    )
    with SandboxGateway(config) as gateway:
        # the port differs from 8100 only because tests must not take the demo's port
        result = reconcile(development_env(subprocess_env, RAZORPAY_BASE_URL=gateway.url))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("reconciliation of 2026-03-10: 0 orders, 0 gateway payments")


def test_an_unreachable_gateway_is_one_line_and_a_clean_stdout(
    subprocess_env: dict[str, str],
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"  # bound, never listening
        result = reconcile(
            development_env(subprocess_env, RAZORPAY_BASE_URL=closed), "--format", "json"
        )
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        f"gridbill: error: Razorpay at {closed} is not reachable (ConnectionError); check "
        "RAZORPAY_BASE_URL (the demo's sandbox: `make run` or `gridbill gateway`)"
    ]
