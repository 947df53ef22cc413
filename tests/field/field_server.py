"""A real gridbill sync server for the field app's tests, in its own process: the sync
routes (``sync_helpers.app_for``, the same Starlette routes ``gridbill serve`` mounts,
with no pull settle delay) on uvicorn, on a port that stays the same across
:meth:`FieldServer.stop` and :meth:`FieldServer.start`, so a test can take the network
away and give it back, and query the database while the server runs.

Run as a script it is that server: ``python field_server.py PORT`` with the settings
in the environment (``DATABASE_URL``, ``GRIDBILL_VAR_DIR``…).
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class FieldServer:
    def __init__(self, database_url: str, env: dict[str, str]) -> None:
        self.database_url = database_url
        # the repository root too: sync_helpers builds its rows with tests/factories.py
        paths = (HERE, HERE.parent / "sync", HERE.parent.parent)
        self.env = {**env, "PYTHONPATH": ":".join(str(p) for p in paths)}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, str(HERE / "field_server.py"), str(self.port)], env=self.env
        )
        deadline = time.monotonic() + 60
        while True:
            assert self._process.poll() is None, "the server exited"
            assert time.monotonic() < deadline, "the server did not start"
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)

    def stop(self) -> None:
        """Take the network away: the port refuses connections until :meth:`start`."""
        if self._process is not None:
            self._process.terminate()
            self._process.wait(30)
            self._process = None

    def query(self, work: Callable[[], Awaitable[T]]) -> T:
        """Run ``work`` against the server's database (its own connection)."""
        from store.db import open_database

        async def run() -> T:
            async with open_database(self.database_url):
                return await work()

        return asyncio.run(run())

    def __enter__(self) -> FieldServer:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


if __name__ == "__main__":
    import uvicorn
    from sync_helpers import app_for

    from gridbill.settings import load_settings

    uvicorn.run(
        app_for(load_settings()), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning"
    )
