"""GraphiQL works without internet: the page loads only assets our server ships.

The static test reads the page's every ``src``/``href`` and fetches it from the app,
checking each file against the Subresource Integrity hash the page declares. The
browser test loads the page in Debian's headless ``chromium`` with every host but
loopback unreachable (a dead proxy that only 127.0.0.1 bypasses) and checks GraphiQL
rendered its editor, which it only does once React and GraphiQL's scripts ran.
Budget: under 20 s (one chromium start).
"""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest
import uvicorn
from starlette.testclient import TestClient

from api.app import create_app
from gridbill.settings import Settings


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str]] = []  # (url, integrity)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        url = values.get("src") or values.get("href")
        if url:
            self.found.append((url, values.get("integrity") or ""))


def test_the_graphiql_page_references_only_same_origin_assets(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        page = client.get("/graphql", headers={"Accept": "text/html"})
        assert page.status_code == 200
        parser = _Assets()
        parser.feed(page.text)
        assert len(parser.found) >= 7, parser.found  # favicon, 5 scripts, 2 stylesheets
        assert "unpkg.com" not in page.text and "cdn" not in page.text.lower()
        for url, integrity in parser.found:
            if url.startswith("data:"):
                continue
            assert url.startswith("/graphiql-assets/"), f"{url} is not served by us"
            answer = client.get(url)
            assert answer.status_code == 200, url
            digest = base64.b64encode(hashlib.sha384(answer.content).digest()).decode()
            assert integrity == f"sha384-{digest}", f"{url}: the file and its SRI hash differ"


def test_graphiql_assets_are_not_served_when_graphiql_is_off(settings: Settings) -> None:
    off = settings.__class__(**{**settings.__dict__, "graphiql": False})
    with TestClient(create_app(off)) as client:
        assert client.get("/graphiql-assets/graphiql.min.js").status_code == 404


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(settings: Settings, on_sqlite: None) -> Iterator[str]:
    """The app on a loopback port, in a thread of this process."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_config=None)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def test_graphiql_renders_in_a_browser_with_the_internet_blocked(served: str) -> None:
    chromium = shutil.which("chromium")
    assert chromium, "make test installs Debian's chromium (scripts/virtual_display.py)"
    started = time.monotonic()
    dom_run = subprocess.run(
        [
            chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-dev-shm-usage", "--disable-background-networking",
            "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=127.0.0.1",
            "--virtual-time-budget=15000", "--dump-dom", f"{served}/graphql",
        ],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    dom = dom_run.stdout
    assert time.monotonic() - started < 60
    assert "Loading..." not in dom, "GraphiQL never rendered: an asset did not load"
    assert re.search(r'class="[^"]*graphiql-editors', dom), dom_run.stderr[-3000:]
