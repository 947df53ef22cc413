"""A throwaway PostgreSQL cluster for the test suite and benchmarks.

Started in a temporary directory on a free loopback port with trust authentication,
and removed on exit. initdb refuses to run as root, so as root (CI) every server
command runs as the ``postgres`` system user through ``runuser``.

Usage as a context manager::

    with TempPostgres() as pg:
        os.environ["GRIDBILL_TEST_PG_URL"] = pg.url

or from the shell: ``python scripts/pg_cluster.py -- COMMAND…`` runs COMMAND with
``GRIDBILL_TEST_PG_URL`` set and tears the cluster down afterwards.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from throwaway import Throwaway

PG_BIN_CANDIDATES = ("/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin")
SERVICE_USER = "postgres"


def find_pg_bin() -> Path:
    """The directory holding initdb/pg_ctl: $PG_BIN, then Debian's versioned dirs, then PATH."""
    configured = os.environ.get("PG_BIN")
    candidates = [configured] if configured else list(PG_BIN_CANDIDATES)
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").exists():
            return Path(candidate)
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    raise RuntimeError(
        "PostgreSQL server binaries (initdb) not found: install postgresql-15 or set PG_BIN"
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class TempPostgres(Throwaway):
    """``options`` are more ``-c name=value`` server settings (e.g. WAL archiving)."""

    def __init__(self, options: str = "") -> None:
        self.options = options
        self.bin = find_pg_bin()
        self.root = Path(tempfile.mkdtemp(prefix="gridbill-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.as_root = os.geteuid() == 0
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        """A PostgreSQL program (initdb, pg_ctl, pg_basebackup…) as the cluster's owner."""
        command = [str(self.bin / args[0]), *args[1:]]
        if self.as_root:
            command = ["runuser", "-u", SERVICE_USER, "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def own(self, path: Path) -> None:
        """Give ``path`` (and what is under it) to the cluster's owner."""
        if self.as_root:
            user = pwd.getpwnam(SERVICE_USER)
            for item in [path, *path.rglob("*")]:
                os.chown(item, user.pw_uid, user.pw_gid)

    def start(self) -> TempPostgres:
        if self.as_root:
            user = pwd.getpwnam(SERVICE_USER)
            os.chown(self.root, user.pw_uid, user.pw_gid)
        self.root.chmod(0o700)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--no-instructions", "--locale=C")  # fmt: skip
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.root} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 "
            + self.options
        )
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "log"),
                  "-w", "-t", "60", "start")  # fmt: skip
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 1),
            ):
                return
            time.sleep(0.1)
        raise RuntimeError(f"PostgreSQL did not start on port {self.port}")

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError, FileNotFoundError):
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


def stop_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so ``with TempPostgres()`` still removes the cluster."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def main(argv: list[str]) -> int:
    stop_on_sigterm()
    if "--" in argv:
        argv = argv[argv.index("--") + 1 :]
    if not argv:
        print("usage: pg_cluster.py -- COMMAND [ARGS…]", file=sys.stderr)
        return 2
    with TempPostgres() as pg:
        print(f"throwaway PostgreSQL at {pg.url}", file=sys.stderr)
        env = {**os.environ, "GRIDBILL_TEST_PG_URL": pg.url}
        return subprocess.call(argv, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
