"""``gridbill`` starts in the time of the one command that runs (issue #19): ``--help`` and
``quote`` never import the ORM or a service, and the lazy listing says what each command's
own module says."""

from __future__ import annotations

import argparse
import subprocess
import sys

from cli.commands import COMMANDS
from cli.main import build_parser

PROBE = """
import sys
from cli.main import build_parser
build_parser(sys.argv[1:])
heavy = sorted(m for m in sys.modules if m.split(".")[0] in {"tortoise", "services", "store", "api", "strawberry"})
print(",".join(heavy))
"""


def loaded_by(*argv: str) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, check=True
    ).stdout.strip()
    return [m for m in out.split(",") if m]


def test_help_and_a_pure_command_import_no_database_code() -> None:
    assert loaded_by("--help") == []
    assert loaded_by("quote", "--kwh", "1") == []


def test_a_database_command_loads_its_services() -> None:
    assert "services.meter_data.ingest" in loaded_by("import-readings", "x.csv")


def subcommands(parser: argparse.ArgumentParser) -> argparse._SubParsersAction:  # type: ignore[type-arg]
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))


def test_every_listed_command_is_added_by_its_module_with_the_same_help() -> None:
    full = subcommands(build_parser())
    helps = {action.dest: action.help for action in full._choices_actions}
    for name, command in COMMANDS.items():
        assert name in full.choices, f"{command.module} does not add {name!r}"
        assert helps[name] == command.help
    lazy = subcommands(build_parser(["quote"]))
    assert set(lazy.choices) == set(full.choices)
