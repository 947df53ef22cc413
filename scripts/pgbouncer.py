"""A throwaway PgBouncer in transaction pooling mode, in front of a PostgreSQL server.

The scale-out test and ``bench/load.py --pgbouncer`` serve the API through it, as a
large installation would (docs/performance.md, "Scale-out"): many server processes'
pools share a few PostgreSQL connections, each transaction on any of them. Debian's
``pgbouncer`` is installed when missing (as the screen tests' packages are); PgBouncer
refuses to run as root, so as root it runs as the ``postgres`` system user.

    with TempPgBouncer(server_port) as bouncer:
        url = bouncer.url("gridbill")
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from pg_cluster import SERVICE_USER, free_port
from throwaway import Throwaway, end_process
from virtual_display import ensure_packages

SERVER_POOL = 10
"""PostgreSQL connections PgBouncer opens per database: fewer than the API's pools hold."""


class TempPgBouncer(Throwaway):
    def __init__(self, server_port: int, server_pool: int = SERVER_POOL) -> None:
        self.server_port = server_port
        self.server_pool = server_pool
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="gridbill-pgbouncer-"))
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def _config(self) -> Path:
        users = self.root / "users.txt"
        users.write_text('"postgres" ""\n', encoding="utf-8")
        ini = self.root / "pgbouncer.ini"
        ini.write_text(
            "[databases]\n"
            f"* = host=127.0.0.1 port={self.server_port}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {users}\n"
            f"pool_mode = transaction\ndefault_pool_size = {self.server_pool}\n"
            "max_client_conn = 1000\n"
            # asyncpg sends these at connect; PgBouncer would refuse the unknown ones.
            "ignore_startup_parameters = extra_float_digits,statement_timeout\n"
            f"logfile = {self.root / 'pgbouncer.log'}\n",
            encoding="utf-8",
        )
        return ini

    def start(self) -> TempPgBouncer:
        ensure_packages(("pgbouncer",), "the connection pooler test")
        binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
        command = [binary, str(self._config())]
        if os.geteuid() == 0:
            user = pwd.getpwnam(SERVICE_USER)
            for item in [self.root, *self.root.iterdir()]:
                os.chown(item, user.pw_uid, user.pw_gid)
            command = ["runuser", "-u", SERVICE_USER, "--", *command]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 1),
            ):
                return self
            if self.process.poll() is not None:
                raise RuntimeError(f"pgbouncer exited: {self.process.stderr.read()!r}")  # type: ignore[union-attr]
            time.sleep(0.1)
        raise RuntimeError(f"pgbouncer did not start on port {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            end_process(self.process)
        shutil.rmtree(self.root, ignore_errors=True)
