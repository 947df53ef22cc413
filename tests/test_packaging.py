"""Every top-level package ships in the wheel: an editable install would hide a missing one."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOT_SHIPPED = {"tests", "bench", "scripts"}


def test_every_top_level_package_is_packaged() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    included = {
        pattern.rstrip("*")
        for pattern in config["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - NOT_SHIPPED
    assert packages <= included, (
        f"add to [tool.setuptools.packages.find] include: {sorted(packages - included)}"
    )
    assert included <= packages | {p for p in included if (ROOT / p).is_dir()}
