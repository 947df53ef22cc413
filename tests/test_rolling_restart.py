"""docs/operations.md, "Rolling restarts", as an operator does it with two API processes.

Two ``gridbill serve`` processes share one PostgreSQL. Clients keep asking both, as the
proxy sends them, while each server in turn is taken out of rotation, stopped with
SIGTERM, started again and put back once ``/readyz`` answers. No request may fail. A
request that is half sent when its server is told to stop is finished and answered: the
promise "uvicorn finishes requests in flight on stop".
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.test_quickstart import free_port, wait_ready

ROOT = Path(__file__).resolve().parent.parent
QUERY = json.dumps({"query": "{ health { status databaseReachable } }"}).encode()
CLIENTS = 3


def start(port: int, env: dict[str, str], log: Path) -> subprocess.Popen[str]:
    """``gridbill serve`` on ``port``, its output appended to ``log`` (a pipe would fill)."""
    with log.open("a") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "serve", "--port", str(port)],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
    wait_ready(f"http://127.0.0.1:{port}/readyz", server)
    return server


class Proxy:
    """What nginx does for the test: round-robin over the servers in rotation."""

    def __init__(self, ports: list[int]) -> None:
        self.rotation = list(ports)
        self.answered: Counter[int] = Counter()
        self.failures: list[str] = []
        self.lock = threading.Lock()
        self.running = True
        self.turn = 0

    def pick(self) -> int:
        with self.lock:
            self.turn += 1
            return self.rotation[self.turn % len(self.rotation)]

    def client(self) -> None:
        while self.running:
            port = self.pick()
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/graphql", data=QUERY,
                headers={"Content-Type": "application/json"}, method="POST",
            )  # fmt: skip
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    body = json.load(response)
                ok = body == {"data": {"health": {"status": "ok", "databaseReachable": True}}}
                with self.lock:
                    self.answered[port] += 1
                    if not ok:
                        self.failures.append(f"{port}: {body}")
            except Exception as exc:  # every failure is the finding
                with self.lock:
                    self.failures.append(f"{port}: {exc!r}")
            time.sleep(0.01)

    @contextmanager
    def out_of_rotation(self, port: int) -> Iterator[None]:
        with self.lock:
            self.rotation.remove(port)
        time.sleep(0.3)  # requests already sent to it finish; none new arrive
        yield
        with self.lock:
            self.rotation.append(port)


def half_sent_request(port: int) -> socket.socket:
    """A GraphQL POST whose headers and half its body have reached the server."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=20)
    head = (
        f"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(QUERY)}\r\nConnection: close\r\n\r\n"
    )
    sock.sendall(head.encode() + QUERY[:10])
    time.sleep(0.3)  # the server has accepted the connection and is reading the body
    return sock


def finish(sock: socket.socket) -> tuple[int, dict[str, object]]:
    sock.sendall(QUERY[10:])
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    sock.close()
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


@pytest.mark.slow
def test_rolling_restart_of_two_api_processes_loses_no_request(
    on_postgres: None, subprocess_env: dict[str, str], tmp_path: Path
) -> None:
    ports = [free_port(), free_port()]
    log = tmp_path / "servers.log"
    servers = {port: start(port, subprocess_env, log) for port in ports}
    proxy = Proxy(ports)
    clients = [threading.Thread(target=proxy.client) for _ in range(CLIENTS)]
    for thread in clients:
        thread.start()
    try:
        time.sleep(1)
        for port in ports:
            before = proxy.answered[port]
            with proxy.out_of_rotation(port):
                in_flight = half_sent_request(port)
                servers[port].send_signal(signal.SIGTERM)
                time.sleep(0.5)
                assert servers[port].poll() is None, "the server quit with a request in flight"
                status, body = finish(in_flight)
                assert (status, body["data"]) == (200, {"health": {"status": "ok",
                                                                  "databaseReachable": True}})  # fmt: skip
                servers[port].wait(timeout=30)
                servers[port] = start(port, subprocess_env, log)
            time.sleep(1)
            assert proxy.answered[port] > before
    finally:
        proxy.running = False
        for thread in clients:
            thread.join(timeout=15)
        for server in servers.values():
            if server.poll() is None:
                server.send_signal(signal.SIGTERM)
                server.wait(timeout=30)
    assert proxy.failures == [], log.read_text()[-3000:]
    assert all(proxy.answered[port] > 20 for port in ports), proxy.answered
