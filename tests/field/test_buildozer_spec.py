"""buildozer.spec builds the Android app: the Android SDK cannot be fetched here, so this
parses the spec and checks what the build needs."""

from __future__ import annotations

import ast
import configparser
import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def spec() -> configparser.SectionProxy:
    parser = configparser.ConfigParser()
    assert parser.read(ROOT / "buildozer.spec") == [str(ROOT / "buildozer.spec")]
    return parser["app"]


def listed(value: str) -> set[str]:
    return {part.strip() for part in value.split(",") if part.strip()}


def test_requirements() -> None:
    requirements = listed(spec()["requirements"])
    assert {"python3", "kivy==2.3.1", "pyjnius", "android"} <= requirements
    assert any(r.startswith("pyserial") for r in requirements)
    server_only = {"tortoise-orm", "strawberry-graphql", "starlette", "asyncpg", "uvicorn"}
    assert not {r.split("=")[0] for r in requirements} & server_only


def test_permissions() -> None:
    permissions = listed(spec()["android.permissions"])
    assert {
        "INTERNET", "BLUETOOTH", "BLUETOOTH_ADMIN", "BLUETOOTH_CONNECT", "BLUETOOTH_SCAN",
        "CAMERA", "ACCESS_FINE_LOCATION",
    } <= permissions  # fmt: skip


def test_only_the_app_is_packaged() -> None:
    app = spec()
    patterns = listed(app["source.include_patterns"])
    tops = [p for p in ROOT.iterdir() if p.name not in (".venv", ".git", "var")]
    paths = [p for top in tops for p in ([top] if top.is_file() else top.rglob("*"))]
    files = [str(p.relative_to(ROOT)) for p in paths if p.is_file()]
    packaged = {f for f in files if any(fnmatch.fnmatch(f, pat) for pat in patterns)}
    assert "main.py" in packaged
    assert "field_app/app.py" in packaged and "field_app/screens/capture.kv" in packaged
    assert "field_app/fonts/NotoSansDevanagari-Regular.ttf" in packaged
    assert "field_app/fonts/OFL.txt" in packaged
    assert {f.split("/")[0] for f in packaged} == {"main.py", "field_app"}
    for folder in ("api", "services", "store", "sync", "domain", "gridbill", "tests"):
        assert folder in listed(app["source.exclude_dirs"])
    assert int(app["android.minapi"]) >= 24 and int(app["android.api"]) >= 33


def test_entry_point_starts_the_app() -> None:
    tree = ast.parse((ROOT / "main.py").read_text())
    modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert modules == {"field_app.app"}
