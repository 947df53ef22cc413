"""A real HTTP connection cut partway through a push body or its response, then resent."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import uvicorn
from sync_helpers import World, app_for, batch_body, read_item

from gridbill.settings import Settings
from store.db import open_database
from store.models import RegisterRead, SyncBatch, SyncItem

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def serve(settings: Settings) -> Iterator[int]:
    port = free_port()
    config = uvicorn.Config(
        app_for(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(30)


def request_bytes(port: int, body: bytes, headers: dict[str, str]) -> bytes:
    lines = ["POST /sync/v1/push HTTP/1.1", f"Host: 127.0.0.1:{port}", "Content-Type: application/json",
             f"Content-Length: {len(body)}", *(f"{k}: {v}" for k, v in headers.items()), "", ""]  # fmt: skip
    return "\r\n".join(lines).encode() + body


def post(port: int, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    """A whole request and response over a fresh connection (Connection: close)."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(request_bytes(port, body, {**headers, "Connection": "close"}))
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, payload = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    return json.loads(payload)  # type: ignore[no-any-return]


def cut(
    port: int, body: bytes, headers: dict[str, str], *, send: int, read: int = 0, wait: float = 0
) -> None:
    """Send the headers and ``send`` bytes of the body, read ``read`` bytes back (or wait
    ``wait`` seconds), and hang up with a reset."""
    raw = request_bytes(port, body, headers)
    head_len = len(raw) - len(body)
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(raw[: head_len + send])
        time.sleep(wait)
        if read:
            got = b""
            while len(got) < read:
                chunk = sock.recv(read - len(got))
                if not chunk:
                    break
                got += chunk
            assert got.startswith(b"HTTP/1.1")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")


def counts(settings: Settings, uuids: list[str]) -> tuple[int, int, int]:
    async def run() -> tuple[int, int, int]:
        async with open_database(settings.database_url):
            return (
                await RegisterRead.filter(client_uuid__in=uuids).count(),
                await SyncBatch.all().count(),
                await SyncItem.all().count(),
            )

    return asyncio.run(run())


def big_batch(world: World, n: int) -> tuple[dict[str, Any], list[str]]:
    now = datetime.now(UTC)
    items = [
        read_item(
            world.registers[i % 3], 10_400_000 + i * 1000, now - timedelta(hours=1, seconds=n - i)
        )
        for i in range(n)
    ]
    return batch_body(items, device_clock=now), [i["uuid"] for i in items]


def test_cut_mid_body_then_resend(settings: Settings, seeded: World) -> None:
    body, uuids = big_batch(seeded, 40)
    raw = json.dumps(body).encode()
    with serve(settings) as port:
        cut(port, raw, seeded.auth("a"), send=len(raw) // 2)
        time.sleep(0.2)
        first = post(port, raw, seeded.auth("a"))
        assert first["replayed"] is False  # nothing of the cut request was applied
        assert {r["result"] for r in first["results"]} <= {"accepted", "conflict_resolved"}
        again = post(port, raw, seeded.auth("a"))
        assert again["replayed"] is True
        assert [{**r, "replayed": False} for r in again["results"]] == first["results"]
    assert counts(settings, uuids) == (40, 1, 40)


@pytest.mark.parametrize("read", [0, 12], ids=["before-response", "mid-response"])
def test_cut_during_the_response_then_resend(settings: Settings, seeded: World, read: int) -> None:
    n = 300
    body, uuids = big_batch(seeded, n)
    raw = json.dumps(body).encode()
    with serve(settings) as port:
        # Hung up while the server is applying the items, or after the first bytes of
        # its answer: the resend finishes the batch or replays it, never applies twice.
        # (Without reading, the resend may even meet the first request still applying.)
        cut(port, raw, seeded.auth("a"), send=len(raw), read=read, wait=0 if read else 0.05)
        resent = post(port, raw, seeded.auth("a"))
        assert len(resent["results"]) == n
        assert {r["result"] for r in resent["results"]} <= {"accepted", "conflict_resolved"}
        if read:  # the first request had finished: every answer comes from the record
            assert all(r["replayed"] for r in resent["results"])
        final = post(port, raw, seeded.auth("a"))
        assert [r["result"] for r in final["results"]] == [r["result"] for r in resent["results"]]
    assert counts(settings, uuids) == (n, 1, n)
