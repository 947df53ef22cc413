"""The field app speaks HTTP only: no module of field_app/ imports a server package."""

from __future__ import annotations

import ast
from pathlib import Path

FIELD_APP = Path(__file__).resolve().parent.parent.parent / "field_app"
SERVER = {"api", "services", "store", "sync", "domain", "gridbill", "jobs", "demo",
          "notifications", "gateway", "bench", "tests"}  # fmt: skip
KIVY_FREE = {"iec62056.py", "transport.py", "local_store.py", "sync_client.py", "sync_http.py",
             "hints.py", "cli.py", "qr.py", "i18n.py", "devices.py"}  # fmt: skip


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_no_server_package_is_imported() -> None:
    modules = sorted(FIELD_APP.rglob("*.py"))
    assert len(modules) > 5
    offenders = {str(p.relative_to(FIELD_APP)): imports(p) & SERVER for p in modules}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_core_needs_no_kivy() -> None:
    for name in sorted(KIVY_FREE):
        assert "kivy" not in imports(FIELD_APP / name), name


def test_the_walker_sees_an_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import os\nfrom sync.protocol import parse_batch\ndef f():\n    import store.db\n"
    )
    assert imports(bad) & SERVER == {"sync", "store"}
