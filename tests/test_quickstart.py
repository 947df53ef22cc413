"""The README's quick start, end to end, as a newcomer runs it: real processes, free port."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

DEMO_CUSTOMERS = "40"  # the full 1,000 is timed in tests/test_demo_data.py


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def run(*args: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def wait_ready(url: str, server: subprocess.Popen[str], timeout: float = 60) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"server exited early: {server.stdout.read() if server.stdout else ''}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return dict(json.load(response))
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    pytest.fail(f"{url} never answered")


@pytest.mark.slow
def test_quick_start_end_to_end(fresh_database_url: str, subprocess_env: dict[str, str]) -> None:
    env = {**subprocess_env, "DATABASE_URL": fresh_database_url}
    assert "applied gridbill.0001_initial" in run("migrate", env=env)
    assert "Sign in" in run("demo-data", "--customers", DEMO_CUSTOMERS, "--no-progress", env=env)

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "serve", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        assert wait_ready(f"{base}/readyz", server) == {"status": "ready", "database": True}
        request = urllib.request.Request(
            f"{base}/graphql",
            data=json.dumps({"query": "{ health { status databaseReachable } }"}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert json.load(response) == {
                "data": {"health": {"status": "ok", "databaseReachable": True}}
            }
        with urllib.request.urlopen(
            urllib.request.Request(f"{base}/graphql", headers={"Accept": "text/html"}), timeout=10
        ) as page:
            assert "graphiql" in page.read().decode().lower()
    finally:
        server.terminate()
        server.wait(timeout=30)
        if server.stdout:
            server.stdout.close()
