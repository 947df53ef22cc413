"""The ``gridbill`` command as an operator meets it: real processes, real databases."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gridbill.passwords import verify_secret
from store.db import open_database
from store.models import User
from tests.conftest import TEST_SECRET_KEY


def gridbill(
    *args: str, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def base_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRIDBILL_", "DATABASE_URL"))}
    return {
        **env,
        "GRIDBILL_VAR_DIR": str(tmp_path / "var"),
        "GRIDBILL_SECRET_KEY": TEST_SECRET_KEY,
        **extra,
    }


def assert_one_line_error(result: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("gridbill: error:")]
    assert len(lines) == 1, result.stderr
    assert fragment in lines[0]


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ({"DATABASE_URL": "mysql://root@localhost/x"}, "scheme 'mysql' is not supported"),
        ({"DATABASE_URL": "postgres://u@127.0.0.1:99999/db"}, "invalid port"),
        (
            {"DATABASE_URL": "postgres://nobody@127.0.0.1:1/gridbill"},
            "cannot connect to postgres://nobody@127.0.0.1:1/gridbill",
        ),
        (
            {"GRIDBILL_ENV": "production", "GRIDBILL_SECRET_KEY": ""},
            "GRIDBILL_SECRET_KEY must be set",
        ),
    ],
)
def test_bad_configuration_is_one_clear_line(
    tmp_path: Path, extra: dict[str, str], fragment: str
) -> None:
    assert_one_line_error(gridbill("migrate", env=base_env(tmp_path, **extra)), fragment)


def test_password_of_unreachable_database_is_not_printed(tmp_path: Path) -> None:
    env = base_env(tmp_path, DATABASE_URL="postgres://app:hunter2-secret@127.0.0.1:1/gridbill")
    result = gridbill("migrate", env=env)
    assert_one_line_error(result, "cannot connect")
    assert "hunter2-secret" not in result.stderr


def test_unopenable_sqlite_file_fails_fast(tmp_path: Path) -> None:
    """Tortoise would wait forever on its own lock; we must answer in one line, quickly."""
    folder_as_file = tmp_path / "db.sqlite3"
    folder_as_file.mkdir()
    result = gridbill(
        "migrate", env=base_env(tmp_path, DATABASE_URL=f"sqlite://{folder_as_file}"), timeout=30
    )
    assert_one_line_error(result, "cannot open SQLite database")


def test_unknown_postgres_role_is_one_line(
    on_postgres: None, fresh_database_url: str, tmp_path: Path
) -> None:
    url = fresh_database_url.replace("postgres://postgres@", "postgres://no_such_role:pw@", 1)
    for command in ("migrate", "serve"):
        result = gridbill(command, env=base_env(tmp_path, DATABASE_URL=url), timeout=60)
        assert_one_line_error(result, "cannot connect to postgres://no_such_role:***@")
        assert ":pw@" not in result.stderr


def test_server_with_unreachable_database_is_one_line(tmp_path: Path) -> None:
    env = base_env(tmp_path, DATABASE_URL="postgres://u@127.0.0.1:1/gridbill")
    assert_one_line_error(gridbill("serve", "--port", "1", env=env, timeout=60), "cannot connect")


def test_production_server_refuses_to_start_without_secret(tmp_path: Path) -> None:
    env = base_env(tmp_path, GRIDBILL_ENV="production", GRIDBILL_SECRET_KEY="")
    assert_one_line_error(
        gridbill("serve", "--port", "1", env=env, timeout=30), "GRIDBILL_SECRET_KEY must be set"
    )


def test_worker_explains_it_needs_postgres(tmp_path: Path) -> None:
    result = gridbill(
        "worker", env=base_env(tmp_path, DATABASE_URL=f"sqlite://{tmp_path}/x.sqlite3")
    )
    assert_one_line_error(result, "gridbill worker needs DATABASE_URL=postgres://")


def test_migrate_creates_the_sqlite_file_on_first_run(tmp_path: Path) -> None:
    env = base_env(tmp_path)
    first = gridbill("migrate", env=env)
    assert first.returncode == 0, first.stderr
    assert "applied gridbill.0001_initial" in first.stdout
    assert (tmp_path / "var" / "gridbill.sqlite3").exists()
    again = gridbill("migrate", env=env)
    assert again.returncode == 0 and "up to date" in again.stdout


async def test_createuser(subprocess_env: dict[str, str], database_url: str) -> None:
    env = {**subprocess_env, "GRIDBILL_NEW_PASSWORD": "correct horse battery"}
    args = ("createuser", "--email", "Ops@Utility.example", "--name", "Ops Lead", "--role", "staff")
    created = gridbill(*args, env=env)
    assert created.returncode == 0, created.stderr
    duplicate = gridbill(*args, env=env)
    assert_one_line_error(duplicate, "already exists")
    weak = gridbill("createuser", "--email", "x@y.example", "--name", "X", "--role", "admin",
                    env={**env, "GRIDBILL_NEW_PASSWORD": "short"})  # fmt: skip
    assert_one_line_error(weak, "at least 10 characters")
    async with open_database(database_url):
        user = await User.get(email="ops@utility.example")
        assert user.role == "staff" and user.password_hash
        assert verify_secret(user.password_hash, "correct horse battery")
        assert await User.all().count() == 1
