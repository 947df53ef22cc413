"""``gridbill-field``: start the field app on a desktop, or, for field support, parse a
probe readout a reader sent in (``gridbill-field readout FILE [--format json]``).

Errors a person can fix are one line on stderr and exit status 1 (listed in
docs/troubleshooting.md); nothing here prints a traceback for bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from field_app.iec62056 import ProbeError, parse_readout


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gridbill-field",
        description="The gridbill meter reader's app. Without a command it starts the app.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    readout = sub.add_parser(
        "readout", help="parse a saved IEC 62056-21 probe readout and print its registers"
    )
    readout.add_argument("file", metavar="FILE", type=Path)
    readout.add_argument(
        "--format", choices=("text", "json"), default="text", help="text (default) or json"
    )
    sub.add_parser("run", help="start the app (the default)")
    return parser


def cmd_readout(path: Path, fmt: str) -> int:
    try:
        data = path.read_bytes()
    except OSError as exc:
        print(f"gridbill-field: cannot read {path}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    try:
        readout = parse_readout(data)
    except ProbeError as exc:
        print(f"gridbill-field: {path}: {exc.message}", file=sys.stderr)
        return 1
    if fmt == "json":
        print(json.dumps(readout.as_json(), indent=2))
        return 0
    ident = readout.identification
    if ident is not None:
        print(
            f"meter {ident.manufacturer} {ident.identification} "
            f"(mode {ident.mode}, baud char {ident.baud_char})"
        )
    for code, (value, unit) in readout.registers.items():
        print(f"{code:<16} {value}{' ' + unit if unit else ''}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "readout":
        return cmd_readout(args.file, args.format)
    try:
        from field_app.app import run  # Kivy is imported only to start the app
    except ImportError as exc:
        print(
            f"gridbill-field: the app needs Kivy ({exc.name or exc}): pip install -e '.[field]'",
            file=sys.stderr,
        )
        return 1
    run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
