"""Docs that stay true: links between docs resolve, and runnable examples still print what
the docs show.

A fenced block right after the line ``<!-- runnable -->`` is runnable: each line starting
with ``$ `` is a command (a trailing ``\\`` continues it on the next line), and the lines
after it, up to the next command, are its expected output (stdout, compared exactly,
trailing spaces aside; no lines means only that it succeeds, with exit status 0). In an
expected line, ``...`` stands for any text (a path, a time, a size), so volatile parts
need no special command form. A command that ends with the comment ``# exits N`` must exit
with status N instead of 0, and its expected lines are compared with stdout followed by
stderr (where ``gridbill: error: …`` goes).

Each command runs in ``bash`` (``-o pipefail``: pipes, ``$(…)`` and ``VAR=value cmd``
work as a reader types them) in the repository's root, with ``gridbill`` and
``gridbill-field`` on ``PATH`` meaning this checkout's commands, against one fresh
20-customer demo database shared by the module (demo "today" 2026-05-10) and a sandbox
gateway of its own (``RAZORPAY_*`` point at it, as ``make run``'s defaults do), and
``TMPDIR`` a fresh empty directory: write scratch files under ``"${TMPDIR:-/tmp}"`` (a
reader's ``/tmp``), never into the checkout. Examples run in document order (README, then
``docs/*.md`` by name), so an example that changes the demo must not change what a later
one prints (README, "Development"). A block marked ``<!-- runnable: own demo -->`` instead
runs on a copy of the demo as loaded, its own: for examples that change what others show.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from demo.loader import load_demo_data
from gateway.server import SandboxGateway
from gridbill.settings import DEVELOPMENT_SANDBOX
from tests.conftest import make_settings
from tests.payment_sandbox import sandbox_config

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MARKER = "<!-- runnable -->"
OWN_DEMO = "<!-- runnable: own demo -->"  # the block gets a copy of the fresh demo
EXITS = re.compile(r"\s#\s*exits (\d+)$")  # `$ cmd  # exits 1`: a documented failure
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found: set[str] = set()
    fenced = False
    for line in path.read_text().splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("#"):
            base = slug(line.lstrip("#"))
            name, n = base, 0
            while name in found:
                n += 1
                name = f"{base}-{n}"
            found.add(name)
    return found


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_link_between_docs_resolves(doc: Path) -> None:
    broken = []
    for target in LINK.findall(doc.read_text()):
        if re.match(r"[a-z]+:", target):
            continue  # http(s), mailto: not checked offline
        path, _, anchor = target.partition("#")
        file = (doc.parent / path).resolve() if path else doc
        if not file.exists() or (anchor and file.suffix == ".md" and anchor not in anchors(file)):
            broken.append(target)
    assert not broken, f"{doc.name}: {broken}"


@dataclass(frozen=True)
class Example:
    doc: str
    line: int
    command: str
    expected: list[str]
    own_demo: str = ""  # the block's marker (doc:line) when it runs on a copy of its own


def examples() -> list[Example]:
    found = []
    for doc in DOCS:
        lines = doc.read_text().splitlines()
        for n, line in enumerate(lines):
            if line.strip() not in (MARKER, OWN_DEMO):
                continue
            own = f"{doc.name}:{n + 1}" if line.strip() == OWN_DEMO else ""
            assert lines[n + 1].startswith("```"), f"{doc.name}:{n + 1}: {MARKER} before a fence"
            end = next(i for i in range(n + 2, len(lines)) if lines[i].startswith("```"))
            body, i = lines[n + 2 : end], 0
            while i < len(body):
                assert body[i].startswith("$ "), f"{doc.name}:{n + 3 + i}: a command starts with $"
                start, command = n + 3 + i, body[i][2:]
                while command.endswith("\\"):
                    i += 1
                    command = command[:-1] + " " + body[i].strip()
                i += 1
                output = []
                while i < len(body) and not body[i].startswith("$ "):
                    output.append(body[i].rstrip())
                    i += 1
                found.append(Example(doc.name, start, command, output, own))
    return found


@pytest.fixture(scope="module")
def demo_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A fresh demo of its own: what a reader has after `make run` (with its sandbox gateway,
    here on a free port, not 8100), and our commands on PATH. ``pristine/`` keeps a copy
    of the demo as loaded, for the blocks marked ``own demo``."""
    root = tmp_path_factory.mktemp("docs-demo")
    settings = make_settings(f"sqlite://{root / 'demo.sqlite3'}", root / "var")
    asyncio.run(load_demo_data(settings, customers=20, progress=False, today=date(2026, 5, 10)))
    copy_demo(root, root / "pristine")
    bin_dir, scratch = root / "bin", root / "tmp"
    bin_dir.mkdir()
    scratch.mkdir()
    for command, module in (("gridbill", "cli.main"), ("gridbill-field", "field_app.cli")):
        shim = bin_dir / command
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m {module} "$@"\n')
        shim.chmod(0o755)
    config = sandbox_config(
        key_secret=DEVELOPMENT_SANDBOX["key"], webhook_secret=DEVELOPMENT_SANDBOX["hook"]
    )
    with SandboxGateway(config) as gateway:
        yield {
            "GRIDBILL_ENV": "test", "DATABASE_URL": settings.database_url,
            "GRIDBILL_VAR_DIR": str(settings.var_dir), "GRIDBILL_SECRET_KEY": settings.secret_key,
            "RAZORPAY_KEY_ID": config.key_id, "RAZORPAY_KEY_SECRET": config.key_secret,
            "RAZORPAY_WEBHOOK_SECRET": config.webhook_secret, "RAZORPAY_BASE_URL": gateway.url,
            "PATH": f"{bin_dir}:/usr/bin:/bin", "PYTHONPATH": str(ROOT), "TMPDIR": str(scratch),
            "COLUMNS": "80", "LANG": "C.UTF-8",
        }  # fmt: skip


def copy_demo(source: Path, target: Path) -> None:
    """Copy a demo (``demo.sqlite3`` through SQLite's backup API, and ``var/``): milliseconds,
    where loading a fresh one takes seconds."""
    target.mkdir()
    with (
        closing(sqlite3.connect(source / "demo.sqlite3")) as src,
        closing(sqlite3.connect(target / "demo.sqlite3")) as dst,
    ):
        src.backup(dst)
    shutil.copytree(source / "var", target / "var")


def env_for(example: Example, demo_env: dict[str, str]) -> dict[str, str]:
    """The shared demo, or for an ``own demo`` block the copy its first command made."""
    if not example.own_demo:
        return demo_env
    root = Path(demo_env["TMPDIR"]).parent
    own = root / "own" / re.sub(r"\W", "_", example.own_demo)
    if not own.exists():
        own.parent.mkdir(exist_ok=True)
        copy_demo(root / "pristine", own)
    return {
        **demo_env, "DATABASE_URL": f"sqlite://{own / 'demo.sqlite3'}",
        "GRIDBILL_VAR_DIR": str(own / "var"),
    }  # fmt: skip


def matches(expected: str, got: str) -> bool:
    """An expected line matches exactly, except that each ``...`` in it stands for any text."""
    pattern = ".*".join(re.escape(part) for part in expected.split("..."))
    return re.fullmatch(pattern, got) is not None


def test_dots_in_expected_output_stand_for_any_text() -> None:
    assert matches("to ... (... MB)", "to /tmp/x/backup (3.5 MB)")
    assert matches("3 rows", "3 rows")
    assert not matches("3 rows", "4 rows")
    assert not matches("to ... (... MB)", "to /tmp/x (3.5 kB)")
    assert not matches("a.b", "axb")  # only the three dots are a wildcard


def test_there_are_runnable_examples() -> None:
    assert len(examples()) >= 2


@pytest.mark.parametrize("example", examples(), ids=lambda e: f"{e.doc}:{e.line}")
def test_runnable_example_prints_what_the_doc_shows(
    example: Example, demo_env: dict[str, str]
) -> None:
    result = subprocess.run(
        ["bash", "-o", "pipefail", "-c", example.command],
        cwd=ROOT, env=env_for(example, demo_env), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    documented = EXITS.search(example.command)
    status = int(documented.group(1)) if documented else 0
    assert result.returncode == status, (
        f"{example.doc}:{example.line}: exit {result.returncode}, not {status}: {result.stderr}"
    )
    if example.expected:
        printed = result.stdout + (result.stderr if status else "")
        got = [line.rstrip() for line in printed.rstrip("\n").splitlines()]
        same = len(got) == len(example.expected) and all(
            matches(shown, line) for shown, line in zip(example.expected, got, strict=True)
        )
        assert same, f"{example.doc}:{example.line}: printed\n" + "\n".join(got)
