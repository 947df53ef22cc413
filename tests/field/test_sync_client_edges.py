"""The sync client against a scripted HTTP server, for answers the real one gives rarely
or only when something is wrong: a 5xx, a cut answer, "retry" results, a pull cursor
that does not move, a refusal of the whole batch. Nothing is lost in any of them."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from field_pages import stop_page

from field_app.local_store import LocalStore
from field_app.sync_client import SyncClient

Answer = tuple[int, dict[str, Any] | bytes]


class Scripted:
    def __init__(self) -> None:
        self.answers: dict[str, list[Callable[[dict[str, Any]], Answer]]] = {}
        self.requests: list[tuple[str, dict[str, Any]]] = []


@pytest.fixture
def scripted() -> Iterator[tuple[Scripted, str]]:
    script = Scripted()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def answer(self, method: str) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            path = self.path.split("?")[0].removeprefix("/sync/v1/")
            script.requests.append((f"{method} {path}", body))
            status, payload = script.answers[path].pop(0)(body)
            raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw) + (50 if status == 299 else 0)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self) -> None:
            self.answer("GET")

        def do_POST(self) -> None:
            self.answer("POST")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield script, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def results(code: str) -> Callable[[dict[str, Any]], Answer]:
    def answer(body: dict[str, Any]) -> Answer:
        out = [
            {"uuid": i["uuid"], "result": "rejected" if code else "accepted",
             "detail": {"code": code, "message": "busy"} if code else {"revision": 1}}
            for i in body["items"]
        ]  # fmt: skip
        return 200, {"protocol": 1, "batch_id": body["batch_id"], "results": out}

    return answer


def enrolled(tmp_path: Path, url: str) -> SyncClient:
    store = LocalStore(tmp_path / "h.sqlite3")
    store.put(server_url=url, device_uid="dev_0123456789abcdef", credential="c" * 43)
    store.apply_pull_page(stop_page(1, 11))
    return SyncClient(store)


def read(client: SyncClient) -> str:
    return client.store.capture_read(
        register_id=11, value_milli=10_500_000, captured_at=datetime.now(UTC)
    )


def test_5xx_and_a_cut_answer_resend_the_same_batch(
    scripted: tuple[Scripted, str], tmp_path: Path
) -> None:
    script, url = scripted
    client = enrolled(tmp_path, url)
    read(client)
    script.answers["push"] = [
        lambda body: (503, {"error": {"code": "x", "message": "down"}}),
        lambda body: (299, b'{"protocol": 1, "resu'),  # cut: fewer bytes than announced
        results(""),
    ]
    script.answers["pull"] = [lambda body: (200, {**stop_page(1, 11, cursor="c9")})]
    first = client.sync_now()
    assert first.offline and "had a problem (503)" in (first.error or "")
    second = client.sync_now()
    assert second.offline
    third = client.sync_now()
    assert third.error is None
    batch_ids = {body["batch_id"] for what, body in script.requests if what == "POST push"}
    assert len(batch_ids) == 1  # the same batch, three times
    assert client.store.pending_count() == 0


def test_retry_results_wait_for_the_next_sync(
    scripted: tuple[Scripted, str], tmp_path: Path
) -> None:
    script, url = scripted
    client = enrolled(tmp_path, url)
    uuid = read(client)
    script.answers["push"] = [results("retry"), results("")]
    script.answers["pull"] = [lambda body: (200, stop_page(1, 11, cursor="c9"))] * 2
    client.sync_now()
    assert [c.state for c in client.store.captures()] == ["queued"]
    client.sync_now()
    assert [(c.uuid, c.state) for c in client.store.captures()] == [(uuid, "done")]
    pushes = [body for what, body in script.requests if what == "POST push"]
    assert len(pushes) == 2 and pushes[0]["batch_id"] != pushes[1]["batch_id"]
    assert pushes[0]["items"] == pushes[1]["items"]  # resent as is


def test_a_pull_that_does_not_move_on_stops(scripted: tuple[Scripted, str], tmp_path: Path) -> None:
    script, url = scripted
    client = enrolled(tmp_path, url)
    client.store.put(cursor="c1")
    script.answers["pull"] = [
        lambda body: (200, {**stop_page(1, 11, cursor="c1"), "has_more": True})
    ] * 3
    report = client.sync_now()
    assert report.offline and "did not move on" in (report.error or "")
    assert len(script.requests) == 1


def test_a_batch_refused_whole_is_kept(scripted: tuple[Scripted, str], tmp_path: Path) -> None:
    script, url = scripted
    client = enrolled(tmp_path, url)
    read(client)
    script.answers["push"] = [
        lambda body: (400, {"error": {"code": "unsupported_protocol", "message": "update the app"}})
    ]
    report = client.sync_now()
    assert report.error == "unsupported_protocol: update the app" and not report.offline
    assert client.store.pending_count() == 1
    assert client.store.get("last_sync_error") == report.error
