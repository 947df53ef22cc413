"""The deployment examples under deploy/ name commands that exist and agree with each other.

There is no systemd or nginx here, so the files are parsed: each unit's ExecStart is a
real ``gridbill`` command line (the CLI's own parser accepts it), the API's port is the
one nginx proxies to, the backup timer's comment tells its time right in both zones, and
the example environment file holds only documented variables that load as production.
"""

from __future__ import annotations

import configparser
import re
import shlex
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from cli.main import build_parser
from gridbill.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
BIN = "/opt/gridbill/.venv/bin/gridbill"


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((DEPLOY / "systemd" / name).read_text())
    return parser


def gridbill_argv(exec_start: str) -> list[str]:
    argv = shlex.split(exec_start)
    if argv[:2] == ["/bin/sh", "-c"]:
        # the shell only adds the date to the backup directory's name
        argv = shlex.split(re.sub(r"\$\([^)]*\)", "STAMP", argv[2]).removeprefix("exec "))
    assert argv[0] == BIN, exec_start
    return argv[1:]


@pytest.mark.parametrize(
    ("name", "command"),
    [("gridbill-api.service", "serve"), ("gridbill-worker.service", "worker"),
     ("gridbill-backup.service", "backup")],
)  # fmt: skip
def test_each_unit_runs_a_real_gridbill_command(name: str, command: str) -> None:
    service = unit(name)["Service"]
    argv = gridbill_argv(service["ExecStart"])
    assert argv[0] == command
    build_parser().parse_args([a.replace("%%", "%") for a in argv])  # exits 2 if unknown
    assert service["EnvironmentFile"] == "/etc/gridbill/gridbill.env"
    assert service["User"] == "gridbill"
    assert "/var/lib/gridbill" in service["ReadWritePaths"]


def test_nginx_proxies_to_the_port_the_api_listens_on() -> None:
    args = build_parser().parse_args(
        gridbill_argv(unit("gridbill-api.service")["Service"]["ExecStart"])
    )
    assert args.host == "127.0.0.1"  # only the proxy reaches it: forwarded headers trusted
    conf = (DEPLOY / "nginx" / "gridbill.conf").read_text()
    assert re.search(rf"server 127\.0\.0\.1:{args.port};", conf)
    assert "listen 443 ssl;" in conf and "proxy_pass http://gridbill_api;" in conf
    assert "X-Forwarded-Proto $scheme" in conf and "Upgrade $http_upgrade" in conf
    limit = int(re.search(r"client_max_body_size (\d+)m;", conf).group(1))  # type: ignore[union-attr]
    assert (
        limit * 1024 * 1024 > load_settings({"GRIDBILL_SECRET_KEY": "k" * 40}).sync_max_body_bytes
    )


def test_the_backup_timer_says_its_time_in_both_zones() -> None:
    timer = unit("gridbill-backup.timer")
    calendar = timer["Timer"]["OnCalendar"]
    hour, minute = re.search(r"(\d\d):(\d\d):00 UTC", calendar).groups()  # type: ignore[union-attr]
    utc = datetime(2026, 3, 10, int(hour), int(minute), tzinfo=ZoneInfo("UTC"))
    local = utc.astimezone(ZoneInfo("Asia/Kolkata"))
    comment = (DEPLOY / "systemd" / "gridbill-backup.timer").read_text().splitlines()[0]
    assert f"{local:%H:%M} Asia/Kolkata ({utc:%H:%M} UTC)" in comment


def test_the_example_environment_is_documented_and_loads_as_production() -> None:
    env = dict(
        line.split("=", 1)
        for line in (DEPLOY / "gridbill.env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    readme = (ROOT / "README.md").read_text()
    assert all(f"| `{name}` |" in readme for name in env), sorted(env)
    settings = load_settings(env)
    assert settings.is_production and settings.is_postgres
    assert str(settings.var_dir) in unit("gridbill-api.service")["Service"]["ReadWritePaths"]
