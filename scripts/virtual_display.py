"""A virtual X display for the field app's screen tests (Kivy renders there with its
bundled SDL2 and Mesa's software OpenGL), and the headless browser of the GraphiQL test.

Debian's ``xvfb``, ``libgl1-mesa-dri`` and ``chromium`` are installed with apt-get when missing (CI
runs as root on a clean machine; ``apt-get update`` is run first only if the install
fails). Xvfb picks a free display itself (``-displayfd``) and is stopped on exit.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from typing import Self

from throwaway import Throwaway, end_process

PACKAGES = ("xvfb", "libgl1-mesa-dri", "chromium")
SCREEN = "720x1280x24"


def _installed(package: str) -> bool:
    done = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True
    )
    return done.returncode == 0 and "install ok installed" in done.stdout


def ensure_packages(
    packages: tuple[str, ...] = PACKAGES, purpose: str = "the screen tests"
) -> None:
    """Install the Debian ``packages`` that are missing (Xvfb, Mesa, and the browser tests' chromium)."""
    missing = [p for p in packages if not _installed(p)]
    if not missing:
        return
    if os.geteuid() != 0:
        raise RuntimeError(
            f"{purpose} need {' '.join(missing)}: sudo apt-get install -y {' '.join(missing)}"
        )
    print(f"==> installing {' '.join(missing)} for {purpose}", flush=True)
    install = ["apt-get", "install", "-y", "--no-install-recommends", *missing]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(install, env=env).returncode != 0:
        subprocess.run(["apt-get", "update"], env=env, check=True)
        subprocess.run(install, env=env, check=True)


class VirtualDisplay(Throwaway):
    """``with VirtualDisplay() as xvfb: env["DISPLAY"] = xvfb.display``."""

    process: subprocess.Popen[bytes] | None = None
    display = ""

    def start(self) -> Self:
        ensure_packages()
        xvfb = shutil.which("Xvfb")
        if xvfb is None:
            raise RuntimeError("Xvfb is not on PATH after installing xvfb")
        read, write = os.pipe()
        self.process = subprocess.Popen(
            [xvfb, "-displayfd", str(write), "-screen", "0", SCREEN, "-nolisten", "tcp"],
            pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        os.close(write)
        deadline = time.monotonic() + 30
        number = b""
        with os.fdopen(read, "rb") as pipe:
            while not number.endswith(b"\n"):
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError("Xvfb did not start")
                chunk = pipe.read(1)
                if not chunk:
                    raise RuntimeError("Xvfb did not report its display")
                number += chunk
        self.display = f":{number.decode().strip()}"
        return self

    def stop(self) -> None:
        if self.process is not None:
            end_process(self.process)
