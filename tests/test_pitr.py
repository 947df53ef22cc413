"""Point-in-time recovery, done as docs/operations.md says, on a throwaway PostgreSQL.

The cluster archives its WAL with the guide's ``archive_command``; a weekly-style base
backup is taken with ``pg_basebackup``; a payment row is written, then (the mistake) the
table is emptied; recovery with the guide's ``restore_command`` and
``recovery_target_time`` brings the row back. The procedure is PostgreSQL's own, so a
one-table database shows it as well as gridbill's would. Budget: about 15 s.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from pg_cluster import TempPostgres, free_port  # noqa: E402

pytestmark = pytest.mark.slow


def libpq(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


def references(url: str) -> set[str]:
    with psycopg.connect(libpq(url)) as conn:
        return {row[0] for row in conn.execute("SELECT reference FROM payments").fetchall()}


def test_recovery_to_a_moment_before_a_mistake() -> None:
    wal = "ARCHIVE"
    options = (
        "-c full_page_writes=on -c wal_level=replica -c archive_mode=on -c archive_timeout=60 "
        f"-c archive_command='test ! -f {wal}/%f && cp %p {wal}/%f'"
    )
    pg = TempPostgres()
    archive = pg.root / "wal"
    pg.options = options.replace(wal, str(archive))
    with pg:
        archive.mkdir()
        pg.own(archive)
        with psycopg.connect(libpq(pg.url), autocommit=True) as conn:
            conn.execute("CREATE DATABASE gridbill")
        url = pg.url.rsplit("/", 1)[0] + "/gridbill"
        with psycopg.connect(libpq(url), autocommit=True) as conn:
            conn.execute("CREATE TABLE payments (reference text PRIMARY KEY, paise bigint)")
        base = pg.root / "base"
        pg._run("pg_basebackup", "-D", str(base), "-Fp", "-X", "stream", "--checkpoint=fast", "-h", "127.0.0.1",
                "-p", str(pg.port), "-U", "postgres")  # fmt: skip
        with psycopg.connect(libpq(url), autocommit=True) as conn:
            conn.execute("INSERT INTO payments VALUES ('RC/2026-27/000001', 150000)")
            time.sleep(1.1)
            target = conn.execute("SELECT now()").fetchone()[0]  # type: ignore[index]
            time.sleep(1.1)
            conn.execute("DELETE FROM payments")  # the mistake
        with psycopg.connect(libpq(pg.url), autocommit=True) as conn:
            segment = conn.execute("SELECT pg_walfile_name(pg_switch_wal())").fetchone()[0]  # type: ignore[index]
        deadline = time.monotonic() + 30
        while not (archive / segment).exists():
            assert time.monotonic() < deadline, "the WAL segment was never archived"
            time.sleep(0.2)
        pg._run("pg_ctl", "-D", str(pg.data), "-m", "fast", "-w", "stop")

        # The guide: move the data directory aside, unpack the base backup, set the
        # restore command and the target, touch recovery.signal, start.
        shutil.move(pg.data, pg.root / "data.broken")
        shutil.copytree(base, pg.data)
        with (pg.data / "postgresql.auto.conf").open("a") as conf:
            conf.write(f"restore_command = 'cp {archive}/%f %p'\n")
            conf.write(f"recovery_target_time = '{target.isoformat()}'\n")
            conf.write("recovery_target_action = 'promote'\n")
        (pg.data / "recovery.signal").touch()
        pg.own(pg.data)
        pg.data.chmod(0o700)
        pg.port = free_port()
        pg.url = f"postgres://postgres@127.0.0.1:{pg.port}/postgres"
        pg.options = ""
        try:
            pg._run("pg_ctl", "-D", str(pg.data), "-o", f"-p {pg.port} -c listen_addresses=127.0.0.1 "
                    f"-c unix_socket_directories={pg.root} -c max_connections=200", "-l", str(pg.root / "log2"), "-w",
                    "-t", "60", "start")  # fmt: skip
        except subprocess.CalledProcessError:
            pytest.fail((pg.root / "log2").read_text()[-3000:])
        recovered = pg.url.rsplit("/", 1)[0] + "/gridbill"
        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(libpq(recovered)) as conn:
                    if not conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]:  # type: ignore[index]
                        break
            except psycopg.OperationalError:
                pass
            assert time.monotonic() < deadline, (pg.root / "log2").read_text()[-2000:]
            time.sleep(0.2)
        assert references(recovered) == {"RC/2026-27/000001"}
    assert not os.path.exists(pg.root)
