"""``gridbill mailcatcher``: a loopback SMTP server that saves mails to a folder (demo, dev)."""

from __future__ import annotations

import argparse
import logging
import threading
from pathlib import Path
from typing import Any

from cli.commands import help_for
from cli.gateway import LOOPBACK
from gridbill.errors import UserError
from gridbill.settings import Settings


class MailCatcherError(UserError):
    """The mail catcher cannot start as asked."""


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "mailcatcher",
        help=help_for("mailcatcher"),
        description="Listen for SMTP on loopback and write every mail to a folder, so the "
        "demo's notifications can be read without sending anything. See docs/notifications.md.",
    )
    p.add_argument("--host", default="127.0.0.1", help="loopback address to listen on")
    p.add_argument("--port", type=int, default=None, help="default: GRIDBILL_SMTP_PORT")
    p.add_argument("--dir", default=None, help="default: GRIDBILL_VAR_DIR/mail")
    p.set_defaults(handler=cmd_mailcatcher)


def cmd_mailcatcher(settings: Settings, args: argparse.Namespace) -> int:
    from notifications.mailcatcher import start

    if args.host not in LOOPBACK:
        raise MailCatcherError("the mail catcher only listens on loopback (--host 127.0.0.1)")
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every command
    folder = Path(args.dir) if args.dir else settings.var_dir / "mail"
    port = args.port or settings.smtp_port
    try:
        controller = start(folder, args.host, port)
    except (OSError, RuntimeError) as exc:
        raise MailCatcherError(f"cannot listen on {args.host}:{port} ({exc})") from None
    print(
        f"mail catcher on smtp://{args.host}:{port}: caught mails are saved in {folder}/",
        flush=True,
    )
    try:
        threading.Event().wait()
    finally:
        controller.stop()
    return 0
