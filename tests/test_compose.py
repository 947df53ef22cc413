"""docker-compose.yml and the Dockerfile describe a stack that can start.

Docker is not needed: the files are parsed and checked against what the code expects
(the ``gridbill`` console script, the health endpoints, PostgreSQL as the database).
"""

from __future__ import annotations

import ipaddress
import json
import re
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from gridbill.settings import POSTGRES_SCHEMES, validate_database_url

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
CONSOLE_SCRIPT = "gridbill"
APP_SERVICES = ("api", "worker")
MIN_POSTGRES_MAJOR = 15


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict), "docker-compose.yml must be a mapping"
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    services = compose.get("services")
    assert isinstance(services, dict), "docker-compose.yml has no services"
    return services


def command_of(service: dict[str, Any]) -> list[str]:
    """A service's command as argv, whichever of compose's two forms it uses."""
    command = service.get("command") or []
    return shlex.split(command) if isinstance(command, str) else [str(part) for part in command]


def environment_of(service: dict[str, Any]) -> dict[str, str]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        pairs = (item.split("=", 1) for item in environment)
        return {pair[0]: pair[1] if len(pair) == 2 else "" for pair in pairs}
    return {key: "" if value is None else str(value) for key, value in environment.items()}


def conditions_of(service: dict[str, Any]) -> dict[str, str]:
    """``depends_on`` as {service: condition}; the short list form means service_started."""
    depends_on = service.get("depends_on") or {}
    if isinstance(depends_on, list):
        return dict.fromkeys(depends_on, "service_started")
    return {
        name: (spec or {}).get("condition", "service_started") for name, spec in depends_on.items()
    }


def named_volumes_mounted(service: dict[str, Any]) -> set[str]:
    """Sources of the service's volume mounts that are named volumes, not host paths."""
    names = set()
    for mount in service.get("volumes") or []:
        if isinstance(mount, str):
            source = mount.split(":", 1)[0] if ":" in mount else ""
        elif mount.get("type", "volume") == "volume":
            source = mount.get("source") or ""
        else:
            source = ""
        if source and not source.startswith((".", "/", "~", "$")):
            names.add(source)
    return names


def healthcheck_test(service: dict[str, Any]) -> str:
    healthcheck = service.get("healthcheck") or {}
    if healthcheck.get("disable"):
        return ""
    test = healthcheck.get("test") or ""
    if isinstance(test, list):
        if test and test[0] == "NONE":
            return ""
        assert test and test[0] in ("CMD", "CMD-SHELL"), f"healthcheck test {test!r}"
        return " ".join(test[1:])
    return str(test)


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    instructions = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):  # Docker drops comments inside continuations too
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        keyword, _, arguments = line.partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
    return instructions


def exec_form(arguments: str) -> list[str]:
    """A CMD/ENTRYPOINT's argv: JSON exec form, or the shell form split like a shell."""
    if arguments.startswith("["):
        argv = json.loads(arguments)
        assert isinstance(argv, list)
        return [str(part) for part in argv]
    return shlex.split(arguments)


# --- compose ------------------------------------------------------------------------------


def test_the_three_services_are_defined(services: dict[str, dict[str, Any]]) -> None:
    assert {"postgres", "api", "worker"} <= services.keys()


def test_postgres_is_a_supported_major_version(services: dict[str, dict[str, Any]]) -> None:
    image = services["postgres"]["image"]
    match = re.fullmatch(r"(?:[\w.-]+(?::\d+)?/)*postgres:(\d+)(?:[.\w-]*)", image)
    assert match, f"postgres image {image!r} must name an explicit major version, e.g. postgres:16"
    assert int(match.group(1)) >= MIN_POSTGRES_MAJOR


def test_postgres_healthcheck_uses_pg_isready(services: dict[str, dict[str, Any]]) -> None:
    assert "pg_isready" in healthcheck_test(services["postgres"])


def test_api_healthcheck_asks_readiness(services: dict[str, dict[str, Any]]) -> None:
    test = healthcheck_test(services["api"])
    assert "/readyz" in test, "the API is healthy when its database answers, i.e. /readyz"
    assert "127.0.0.1:8000" in test


def test_worker_is_checked_or_waits_for_healthy_services(
    services: dict[str, dict[str, Any]],
) -> None:
    worker = services["worker"]
    conditions = conditions_of(worker)
    assert healthcheck_test(worker) or (
        conditions and set(conditions.values()) == {"service_healthy"}
    )


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_wait_for_a_healthy_database(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    assert conditions_of(services[name]).get("postgres") == "service_healthy"


def test_worker_starts_after_the_api_has_migrated(services: dict[str, dict[str, Any]]) -> None:
    assert "--migrate" in command_of(services["api"])
    assert conditions_of(services["worker"]).get("api") == "service_healthy"


def test_postgres_data_lives_in_a_declared_named_volume(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    declared = set((compose.get("volumes") or {}).keys())
    mounted = named_volumes_mounted(services["postgres"])
    assert mounted, "postgres must keep its data in a named volume"
    assert mounted <= declared, f"volumes {sorted(mounted - declared)} are not declared"


def test_commands_use_the_console_script(services: dict[str, dict[str, Any]]) -> None:
    api, worker = command_of(services["api"]), command_of(services["worker"])
    assert api[:2] == [CONSOLE_SCRIPT, "serve"]
    assert worker[:2] == [CONSOLE_SCRIPT, "worker"]


def test_api_listens_on_the_published_port(services: dict[str, dict[str, Any]]) -> None:
    command = command_of(services["api"])
    host = command[command.index("--host") + 1]
    port = command[command.index("--port") + 1]
    # Bound to loopback only, the server would be unreachable from outside the container.
    assert ipaddress.ip_address(host).is_unspecified, f"--host {host} must be 0.0.0.0"
    published = [str(mapping).rsplit(":", 1)[-1] for mapping in services["api"].get("ports", [])]
    assert port in published


@pytest.mark.parametrize("name", APP_SERVICES)
def test_database_url_points_at_the_postgres_service(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    url = environment_of(services[name])["DATABASE_URL"]
    assert validate_database_url(url) == url
    parts = urlsplit(url)
    assert parts.scheme in POSTGRES_SCHEMES
    assert parts.hostname == "postgres"
    postgres = environment_of(services["postgres"])
    assert parts.username == postgres["POSTGRES_USER"]
    assert parts.password == postgres["POSTGRES_PASSWORD"]
    assert parts.path.strip("/") == postgres["POSTGRES_DB"]


@pytest.mark.parametrize("name", APP_SERVICES)
def test_production_mode_requires_a_secret_key(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    environment = environment_of(services[name])
    assert environment["GRIDBILL_ENV"] == "production"
    # Interpolated with ":?" so compose stops when it is unset, never a key in the file.
    assert environment["GRIDBILL_SECRET_KEY"].startswith("${GRIDBILL_SECRET_KEY:?")


def test_api_is_built_from_the_dockerfile_at_the_root(
    services: dict[str, dict[str, Any]],
) -> None:
    build = services["api"]["build"]
    context, dockerfile = (
        (build, "Dockerfile")
        if isinstance(build, str)
        else (build.get("context", "."), build.get("dockerfile", "Dockerfile"))
    )
    assert (ROOT / context / dockerfile).resolve() == DOCKERFILE


# --- Dockerfile -----------------------------------------------------------------------------


def test_dockerfile_runs_the_console_script() -> None:
    assert DOCKERFILE.is_file()
    instructions = dict(dockerfile_instructions())  # the last of each kind wins, as in Docker
    argv = [
        *exec_form(instructions.get("ENTRYPOINT", "[]")),
        *exec_form(instructions.get("CMD", "[]")),
    ]
    assert argv, "the Dockerfile needs a CMD or ENTRYPOINT"
    assert argv[0] == CONSOLE_SCRIPT


def test_dockerfile_installs_the_project_and_drops_root() -> None:
    instructions = dockerfile_instructions()
    base = next(arguments for keyword, arguments in instructions if keyword == "FROM")
    assert re.match(r"python:3\.(1[1-9]|[2-9]\d)\b", base), base
    runs = [arguments for keyword, arguments in instructions if keyword == "RUN"]
    assert any("pip install ." in run for run in runs), "the image must install the project"
    users = [arguments for keyword, arguments in instructions if keyword == "USER"]
    assert users, "the image must not run as root"
    assert users[-1].split(":")[0] not in ("root", "0")
    assert ("EXPOSE", "8000") in instructions


def test_dockerignore_keeps_local_state_out_of_the_image() -> None:
    patterns = {
        line.strip().rstrip("/")
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    # var/ holds the development secret key and SQLite database.
    assert {".git", ".venv", "var", ".env"} <= patterns
    assert patterns & {"__pycache__", "**/__pycache__"}
