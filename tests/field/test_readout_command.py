"""``gridbill-field readout FILE [--format json]``, run as the installed command."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "iec62056-21"
COMMAND = shutil.which("gridbill-field", path=str(Path(sys.executable).parent))


def run(*args: str) -> subprocess.CompletedProcess[str]:
    assert COMMAND is not None, "gridbill-field is not installed (pyproject [project.scripts])"
    return subprocess.run([COMMAND, *args], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("name", ["iskra_mt174", "landis_zmd"])
def test_json_is_the_fixture_shape_exactly(name: str) -> None:
    done = run("readout", str(FIXTURES / f"{name}.bin"), "--format", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == json.loads((FIXTURES / f"{name}.json").read_text())


def test_text_lists_the_registers() -> None:
    done = run("readout", str(FIXTURES / "iskra_mt174.bin"))
    assert done.returncode == 0
    assert done.stdout.splitlines()[0] == "meter ISk MT174-0001 (mode C, baud char 5)"
    assert "1.8.0            2714.841 kWh" in done.stdout


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("corrupt_bcc", "checksum mismatch (BCC 0x1D sent, 0x47 computed)"),
        ("truncated", "the data block is cut short"),
    ],
)
def test_bad_readout_is_one_line_and_exit_1(name: str, message: str) -> None:
    done = run("readout", str(FIXTURES / f"{name}.bin"), "--format", "json")
    assert done.returncode == 1
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1
    assert message in done.stderr


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    done = run("readout", str(tmp_path / "nope.bin"))
    assert done.returncode == 1
    assert (
        done.stderr.strip()
        == f"gridbill-field: cannot read {tmp_path / 'nope.bin'}: No such file or directory"
    )


def test_any_bytes_never_crash(tmp_path: Path) -> None:
    path = tmp_path / "noise.bin"
    path.write_bytes(bytes(range(256)) * 4 + b"\x02\x03")
    done = run("readout", str(path))
    assert done.returncode == 1
    assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr


def test_without_kivy_the_app_says_what_to_install(tmp_path: Path) -> None:
    """A Python that cannot import kivy (a stub package that fails) gets one line."""
    stub = tmp_path / "kivy"
    stub.mkdir()
    (stub / "__init__.py").write_text("raise ImportError('no kivy here', name='kivy')\n")
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from field_app.cli import main; sys.exit(main([]))"],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr == "gridbill-field: the app needs Kivy (kivy): pip install -e '.[field]'\n"
