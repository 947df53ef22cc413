"""A taken port: one ``gridbill: error:`` line naming it and the way out, nothing started."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def taken() -> Iterator[int]:
    """A loopback port something is listening on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def gridbill(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def one_error_line(result: subprocess.CompletedProcess[str], port: int) -> str:
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("gridbill: error: ") and f" {port} " in lines[0]
    assert "make run PORT=N SANDBOX_PORT=M" in lines[0] and "Traceback" not in result.stderr
    return lines[0]


def test_serve_on_a_taken_port_says_so_before_anything(
    taken: int, subprocess_env: dict[str, str]
) -> None:
    result = gridbill("serve", "--port", str(taken), env=subprocess_env)
    one_error_line(result, taken)
    assert "serving on" not in result.stdout and "ready" not in result.stdout


def test_the_sandbox_gateway_on_a_taken_port(taken: int, subprocess_env: dict[str, str]) -> None:
    env = {**subprocess_env, "RAZORPAY_KEY_SECRET": "k" * 20, "RAZORPAY_WEBHOOK_SECRET": "w" * 20}
    result = gridbill("gateway", "--port", str(taken), env=env)
    assert "sandbox gateway port" in one_error_line(result, taken)
    assert result.stdout == ""


def test_make_run_checks_both_ports_before_it_migrates(taken: int) -> None:
    recipe = (ROOT / "Makefile").read_text().split("\nrun:", 1)[1].split("\ntest:", 1)[0]
    steps = [line.strip().lstrip("@") for line in recipe.splitlines() if line.startswith("\t")]
    assert steps[0] == "$(BIN)/python -m gridbill.ports $(HOST):$(PORT) 127.0.0.1:$(SANDBOX_PORT)"
    assert "gridbill migrate" in steps[1]
    result = subprocess.run(
        [sys.executable, "-m", "gridbill.ports", "127.0.0.1:0", f"127.0.0.1:{taken}"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    one_error_line(result, taken)
    free = subprocess.run([sys.executable, "-m", "gridbill.ports", "127.0.0.1:0"], timeout=30)
    assert free.returncode == 0


def test_readme_documents_choosing_ports() -> None:
    readme = (ROOT / "README.md").read_text()
    assert re.search(r"make run PORT=\d+ SANDBOX_PORT=\d+", readme)
    assert "port 8000 on 127.0.0.1 is taken" in (ROOT / "docs/troubleshooting.md").read_text()
