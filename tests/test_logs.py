"""Logs: JSON lines in production with the request id on each, access log included, and
no secret or personal data in them, checked on a real server's output and on the scrubber.
"""

from __future__ import annotations

import io
import json
import logging
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

from gridbill import logs
from gridbill.settings import Settings, load_settings
from services import audit

PASSWORD = "hunter2-very-private"
EMAIL = "asha.rao@example.com"
PHONE = "+91 98200 12345"
WEBHOOK_SECRET = "whsec-test-webhook-secret-123"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"


def test_the_scrubber_removes_secrets_and_personal_data() -> None:
    settings = load_settings(
        {"GRIDBILL_SECRET_KEY": "s" * 40, "RAZORPAY_WEBHOOK_SECRET": WEBHOOK_SECRET,
         "DATABASE_URL": "postgres://gridbill:db-pass-987@db:5432/gridbill"}
    )  # fmt: skip
    stream = io.StringIO()
    logs.configure(settings, stream=stream)
    logger = logging.getLogger("gridbill.test")
    token = audit.request_id.set("req-0001")
    try:
        logger.warning(
            "sign-in %s password=%s phone %s auth Bearer %s key %s db-pass-987 hook %s",
            EMAIL, PASSWORD, PHONE, JWT, "s" * 40, WEBHOOK_SECRET,
        )  # fmt: skip
    finally:
        audit.request_id.reset(token)
        logs.configure(settings)  # back to stderr for the rest of the suite
    line = stream.getvalue().strip()
    for leaked in (EMAIL, PASSWORD, "98200", JWT, "s" * 40, "db-pass-987", WEBHOOK_SECRET):
        assert leaked not in line
    assert "[req-0001]" in line and "password=[redacted]" in line


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def post(url: str, body: dict[str, object], headers: dict[str, str]) -> str:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return str(answer.headers["X-Request-ID"])
    except urllib.error.HTTPError as error:
        return str(error.headers["X-Request-ID"])


def test_a_production_server_logs_json_lines_with_request_ids_and_nothing_private(
    settings: Settings, subprocess_env: dict[str, str]
) -> None:
    env = {**subprocess_env, "GRIDBILL_ENV": "production", "RAZORPAY_KEY_SECRET": "rzp-secret-xyz",
           "RAZORPAY_WEBHOOK_SECRET": WEBHOOK_SECRET, "GRIDBILL_LOG_LEVEL": "INFO"}  # fmt: skip
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "serve", "--port", str(port), "--migrate"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{base}/readyz", timeout=1).close()
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        ids = [
            post(f"{base}/graphql?email={EMAIL}", {"query": "mutation($l: String!, $p: String!) "
                 "{ signIn(input: {login: $l, password: $p}) { __typename } }",
                 "variables": {"l": EMAIL, "p": PASSWORD}}, {"Authorization": f"Bearer {JWT}"}),
            post(f"{base}/webhooks/razorpay", {"event": "payment.captured", "phone": PHONE},
                 {"X-Razorpay-Signature": "bad"}),
        ]  # fmt: skip
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=30)
    lines = [json.loads(line) for line in stderr.splitlines() if line.strip()]
    assert lines and all(
        {"time", "level", "logger", "request_id", "message"} <= set(x) for x in lines
    )
    access = [x for x in lines if x["logger"] == "uvicorn.access"]
    assert {x["request_id"] for x in access} >= set(ids)
    for leaked in (
        EMAIL,
        PASSWORD,
        "98200",
        JWT,
        WEBHOOK_SECRET,
        "rzp-secret-xyz",
        settings.secret_key,
    ):
        assert leaked not in stderr
