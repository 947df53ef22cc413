"""The test command's body: lint, type-check, then the suite on SQLite and PostgreSQL.

``make test`` runs this inside the project's virtualenv. PostgreSQL is a throwaway
cluster started here (scripts/pg_cluster.py) and removed afterwards, and the field app's
screen tests get a virtual X display (scripts/virtual_display.py, installing Debian's
xvfb and libgl1-mesa-dri when missing), and the console's browser tests get Debian's
chromium (installed the same way), and the bill PDF review test Debian's poppler-utils
(pdftoppm, pdftotext), so nothing has to be set up by hand. Extra
arguments go to pytest (``make test ARGS=-k…`` is not needed:
``.venv/bin/python scripts/check.py -k ledger``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

sys.path.insert(0, str(ROOT / "scripts"))
from pg_cluster import TempPostgres, stop_on_sigterm  # noqa: E402
from virtual_display import VirtualDisplay, ensure_packages  # noqa: E402


def step(title: str, command: list[str], env: dict[str, str] | None = None) -> None:
    print(f"\n==> {title}: {' '.join(command)}", flush=True)
    started = time.monotonic()
    result = subprocess.run(command, cwd=ROOT, env=env)
    if result.returncode != 0:
        print(f"\n{title} failed (exit {result.returncode})", file=sys.stderr)
        sys.exit(result.returncode)
    print(f"    {title} ok in {time.monotonic() - started:.1f}s", flush=True)


def lint() -> None:
    step("ruff check", [str(BIN / "ruff"), "check", "."])
    step("ruff format", [str(BIN / "ruff"), "format", "--check", "."])
    step("mypy", [str(BIN / "mypy")])
    step("import contracts", [str(BIN / "lint-imports"), "--no-cache"])


def parallel(pytest_args: list[str]) -> list[str]:
    """pytest-xdist over the machine's cores (at most 4), unless the caller chose ``-n``.

    Tests go to workers a file at a time (``--dist loadfile``), so a module's expensive
    fixture (a demo, a browser, a server) is built once. Each worker has its own
    SQLite and PostgreSQL templates (tests/conftest.py), so nothing is shared but the
    throwaway cluster.
    """
    if any(arg == "-n" or arg.startswith(("-n", "--numprocesses")) for arg in pytest_args):
        return pytest_args
    workers = min(os.cpu_count() or 1, 4)
    return ["-n", str(workers), "--dist", "loadfile", *pytest_args]


def main(pytest_args: list[str]) -> None:
    if "--lint-only" in pytest_args:
        lint()
        return
    lint()
    stop_on_sigterm()
    ensure_packages(("poppler-utils",), "the bill PDF review test (pdftoppm, pdftotext)")
    with TempPostgres() as pg, VirtualDisplay() as xvfb:
        print(f"\n==> throwaway PostgreSQL on port {pg.port} in {pg.root}", flush=True)
        print(f"==> virtual display {xvfb.display} for the field app's screen tests", flush=True)
        env = {**os.environ, "GRIDBILL_TEST_PG_URL": pg.url, "DISPLAY": xvfb.display}
        step(
            "pytest (SQLite and PostgreSQL)",
            [str(BIN / "python"), "-m", "pytest", *parallel(pytest_args)],
            env,
        )


if __name__ == "__main__":
    main(sys.argv[1:])
