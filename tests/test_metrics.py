"""``/metrics``: per-route and per-operation counters, the installation's figures from the
database, the token in production, and correct sums across several server processes.
"""

from __future__ import annotations

import asyncio
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import date

import pytest
from starlette.testclient import TestClient

from api.app import create_app
from demo.loader import load_demo_data
from gridbill.settings import Settings
from tests.conftest import make_settings


def value(text: str, name: str, **labels: str) -> float:
    """The sample ``name{labels…}``'s value in a scrape (0 when absent)."""
    for line in text.splitlines():
        sample = re.fullmatch(r"(\w+)(?:\{(.*)\})? (\S+)", line)
        if sample is None or sample.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', sample.group(2) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(sample.group(3))
    return 0.0


def test_metrics_count_routes_operations_and_read_the_installation(
    settings: Settings, capsys: pytest.CaptureFixture[str], on_sqlite: None
) -> None:
    asyncio.run(load_demo_data(settings, customers=20, progress=False, today=date(2026, 5, 10)))
    capsys.readouterr()
    with TestClient(create_app(settings)) as client:
        before = client.get("/metrics").text
        client.get("/healthz")
        client.post("/graphql", json={"query": "query Probe { health { status } }"})
        client.post("/graphql", json={"query": "{ nonsense"})
        assert client.get("/bills/999999/pdf").status_code in (401, 403, 404)
        after = client.get("/metrics")
    assert after.status_code == 200 and after.headers["content-type"].startswith("text/plain")
    text = after.text
    for labels, grew in (({"route": "/healthz", "method": "GET", "status": "200"}, 1),
                         ({"route": "/graphql", "method": "POST", "status": "200"}, 2)):  # fmt: skip
        assert (
            value(text, "gridbill_http_requests_total", **labels)
            - value(before, "gridbill_http_requests_total", **labels)
            == grew
        )
    assert value(text, "gridbill_graphql_operations_total", operation="query health") >= 1
    assert value(text, "gridbill_graphql_operations_total", operation="invalid") >= 1
    assert value(text, "gridbill_http_request_seconds_count", route="/bills/{bill_id}/pdf") >= 1
    assert 'route="/bills/999999' not in text  # ids never become labels
    runs = re.findall(
        r'gridbill_bill_run_accounts\{cycle="(CYC-\d+)",period="2026-04",status="completed"\} (\d+)',
        text,
    )
    assert runs and all(int(n) > 0 for _, n in runs)
    assert value(text, "gridbill_sync_push_items_total", result="accepted") >= 1
    assert value(text, "gridbill_vee_exceptions_open") >= 1
    assert "gridbill_outbox_backlog 0.0" in text and "gridbill_job_queue_depth" in text


def test_the_token_protects_metrics_and_production_needs_one(
    database_url: str, tmp_path: object, on_sqlite: None
) -> None:
    guarded = make_settings(database_url, tmp_path / "var", GRIDBILL_METRICS_TOKEN="m" * 32)  # type: ignore[operator]
    with TestClient(create_app(guarded)) as client:
        assert client.get("/metrics").status_code == 401
        wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        good = client.get("/metrics", headers={"Authorization": f"Bearer {'m' * 32}"})
        assert good.status_code == 200 and "gridbill_http_requests_total" in good.text
    production = make_settings(database_url, tmp_path / "var", GRIDBILL_ENV="production")  # type: ignore[operator]
    with TestClient(create_app(production)) as client:
        assert client.get("/metrics").status_code == 404


def test_several_server_processes_add_up(
    on_postgres: None, settings: Settings, subprocess_env: dict[str, str]
) -> None:
    """prometheus_client's multiprocess mode: whichever process answers sums them all."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "serve", "--port", str(port), "--workers", "2", "--migrate"],
        env=subprocess_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(f"{base}/readyz", timeout=1).close()
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        for _ in range(30):
            urllib.request.urlopen(f"{base}/healthz", timeout=5).close()
        scrapes = []
        for _ in range(6):
            with urllib.request.urlopen(f"{base}/metrics", timeout=10) as answer:
                scrapes.append(answer.read().decode())
    finally:
        server.terminate()
        server.wait(timeout=30)
    counts = {
        value(s, "gridbill_http_requests_total", route="/healthz", status="200") for s in scrapes
    }
    assert counts == {30.0}
