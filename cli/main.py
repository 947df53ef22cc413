"""The ``gridbill`` command: one entry point for operators, each subcommand a thin wrapper.

Failures a person can fix (bad configuration, an unreachable database, bad input) print
one line ``gridbill: error: …`` and exit 1; only genuine bugs show a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import importlib
import logging
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from cli.commands import COMMANDS
from gridbill import __version__
from gridbill.errors import UserError
from gridbill.logs import hold_early_lines
from gridbill.ports import ensure_free
from gridbill.settings import Settings, get_settings

log = logging.getLogger("gridbill")


class CLIError(UserError):
    """A user-facing failure: printed as one line, exit status 1."""


def _configure_logging(settings: Settings, verbose: bool) -> None:
    from gridbill.logs import configure

    configure(settings, verbose=verbose)


def _run(coro: Coroutine[Any, Any, int | None]) -> int:
    return asyncio.run(coro) or 0


# --- subcommands ------------------------------------------------------------------------


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    from store.db import migrate

    applied = _run_value(migrate(settings.direct_url))  # DDL not through a pooler
    if settings.is_postgres:
        from jobs.procrastinate_app import ensure_schema

        if _run_value(ensure_schema(settings)):
            applied.append("procrastinate.schema")
    if applied:
        for name in applied:
            print(f"applied {name}")
    else:
        print("database is up to date")
    return 0


def _run_value(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coro)


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from store.db import check_database

    if args.workers > 1 and not settings.is_postgres:
        raise CLIError("--workers > 1 needs PostgreSQL: SQLite mode runs jobs in-process")
    ensure_free(args.host, args.port)
    if args.migrate:
        cmd_migrate(settings, args)
    else:
        _run_value(check_database(settings.database_url))  # one line now, not a uvicorn traceback
    if args.workers > 1:  # each process counts requests; /metrics adds up their files
        import socket

        from api.metrics import prepare_multiprocess
        from services.operations.backup import METRICS_DIR

        # One directory per serve instance: another instance (a rolling restart's twin, or
        # a machine sharing GRIDBILL_VAR_DIR) starting up must not wipe this one's counters.
        instance = f"{socket.gethostname()}-{args.port}"
        prepare_multiprocess(settings.var_dir / METRICS_DIR / instance)
    print(f"gridbill {__version__} serving on http://{args.host}:{args.port}/graphql", flush=True)
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=settings.log_level.lower(),
        log_config=None,  # uvicorn's lines go through gridbill.logs: request ids, scrubbed
        proxy_headers=True,
    )
    return 0


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    if not settings.is_postgres:
        raise CLIError(
            "gridbill worker needs DATABASE_URL=postgres://…: in SQLite mode "
            "`gridbill serve` runs background jobs in-process"
        )
    from jobs.worker import run_worker

    return _run(run_worker(settings, concurrency=args.concurrency, once=args.once))


def cmd_demo_data(settings: Settings, args: argparse.Namespace) -> int:
    from demo.loader import load_demo_data

    return _run(
        load_demo_data(
            settings,
            customers=args.customers,
            seed=args.seed,
            if_empty=args.if_empty,
            progress=not args.no_progress,
            served=args.served,
        )
    )


def cmd_createuser(settings: Settings, args: argparse.Namespace) -> int:
    from cli.users import create_user

    password = args.password or os.environ.get("GRIDBILL_NEW_PASSWORD", "")
    if not password:
        if not sys.stdin.isatty():
            raise CLIError(
                "no password: pass --password, set GRIDBILL_NEW_PASSWORD or run interactively"
            )
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Password (again): "):
            raise CLIError("passwords do not match")
    user_id = _run_value(
        create_user(
            settings,
            email=args.email,
            phone=args.phone,
            full_name=args.name,
            role=args.role,
            password=password,
        )
    )
    print(f"created {args.role} user #{user_id} ({args.email or args.phone})")
    return 0


# --- parser -----------------------------------------------------------------------------

Handler = Callable[[Settings, argparse.Namespace], int]


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The whole command line, importing only the module of the command ``argv`` names.

    Commands other than the one being run are listed by name and help alone (from
    ``cli.commands``), which is all ``gridbill --help`` shows; without ``argv`` every
    command's module is loaded (for tests and documentation).
    """
    parser = argparse.ArgumentParser(
        prog="gridbill",
        description="Electricity bill management for a utility. Configuration comes from "
        "environment variables (see README, 'Configuration').",
    )
    parser.add_argument("--version", action="version", version=f"gridbill {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("migrate", help="apply pending database migrations")
    p.set_defaults(handler=cmd_migrate)

    p = sub.add_parser("serve", help="run the API server (uvicorn)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1, help="server processes (PostgreSQL only)")
    p.add_argument("--migrate", action="store_true", help="apply migrations first")
    p.set_defaults(handler=cmd_serve)

    p = sub.add_parser("worker", help="run background jobs (PostgreSQL, procrastinate)")
    p.add_argument("--concurrency", type=int, default=4, help="jobs run at once by this worker")
    p.add_argument("--once", action="store_true", help="run queued jobs, then exit")
    p.set_defaults(handler=cmd_worker)

    p = sub.add_parser("demo-data", help="load a realistic small demo utility")
    p.add_argument("--customers", type=int, default=1000)
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--if-empty", action="store_true", help="do nothing if data is already there")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--served", action="store_true", help=argparse.SUPPRESS
    )  # make run: the server starts next, so the printout does not ask for it
    p.set_defaults(handler=cmd_demo_data)

    p = sub.add_parser("createuser", help="create a staff, admin or meter reader user")
    p.add_argument("--email")
    p.add_argument("--phone")
    p.add_argument("--name", required=True, help="full name")
    p.add_argument("--role", required=True, choices=["staff", "admin", "meter_reader"])
    p.add_argument(
        "--password", help="prefer GRIDBILL_NEW_PASSWORD or the prompt: argv is visible to ps"
    )
    p.set_defaults(handler=cmd_createuser)

    chosen = COMMANDS.get(_command_named(argv) or "")
    if chosen is not None:
        importlib.import_module(chosen.module).add_parser(sub)
    for name, command in COMMANDS.items():
        if name in sub.choices:
            continue  # added already (the module of backup adds restore too)
        if argv is None:
            importlib.import_module(command.module).add_parser(sub)
        else:
            sub.add_parser(name, help=command.help, add_help=False)
    return parser


def _command_named(argv: Sequence[str] | None) -> str | None:
    """The subcommand in ``argv``: its first word that is not an option."""
    return next((word for word in argv or () if not word.startswith("-")), None)


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(words).parse_args(words)
    handler: Handler = args.handler
    try:
        hold_early_lines()  # a warning while reading the settings comes out formatted too
        settings = get_settings()
        _configure_logging(settings, args.verbose)
        return handler(settings, args)
    except UserError as exc:
        print(f"gridbill: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("gridbill: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `gridbill … | head`: the reader left; stop quietly like other Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
