"""The payment sandbox every test pays through: the loopback Razorpay-compatible gateway
(``gateway/``), driven by the real razorpay SDK through ``RAZORPAY_BASE_URL``.

The ``sandbox`` fixture (tests/conftest.py) runs one in a thread on a free loopback port
with ``sandbox_config()``; ``razorpay_env(sandbox)`` is what the app's settings need to
reach it. Webhooks are sent only once a test sets ``sandbox.config.webhook_url``.
"""

from __future__ import annotations

from typing import Any

from gateway import GatewayConfig, SandboxGateway

KEY_ID = "rzp_test_gridbill"
KEY_SECRET = "sandbox_key_secret_for_tests"
WEBHOOK_SECRET = "sandbox_webhook_secret_for_tests"


def sandbox_config(**overrides: Any) -> GatewayConfig:
    """The tests' gateway configuration: short webhook retry delays (50 ms base)."""
    chosen: dict[str, Any] = {
        "key_id": KEY_ID, "key_secret": KEY_SECRET, "webhook_secret": WEBHOOK_SECRET,
        "retry_base_s": 0.05, **overrides,
    }  # fmt: skip
    return GatewayConfig(**chosen)


def razorpay_env(sandbox: SandboxGateway) -> dict[str, str]:
    """Settings overrides (``make_settings(..., **razorpay_env(sandbox))``) for the sandbox."""
    return {
        "RAZORPAY_KEY_ID": sandbox.config.key_id,
        "RAZORPAY_KEY_SECRET": sandbox.config.key_secret,
        "RAZORPAY_WEBHOOK_SECRET": sandbox.config.webhook_secret,
        "RAZORPAY_BASE_URL": sandbox.url,
    }
