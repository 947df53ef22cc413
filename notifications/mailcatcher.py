"""A local SMTP server that keeps every mail as a file: the demo's and the tests' inbox.

``make run`` starts it (``gridbill mailcatcher``) on the port gridbill sends to by default
(127.0.0.1:1025), so the demo's mails are never really sent. Each mail is written as
``<dir>/<YYYYmmddTHHMMSS>-<n>-<to>.eml``, readable by any mail client or text editor.
"""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

_UNSAFE = re.compile(r"[^A-Za-z0-9@._+-]")


class FolderHandler:
    """aiosmtpd handler: write the mail, answer 250."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.counter = itertools.count(1)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        to = _UNSAFE.sub("_", (envelope.rcpt_tos or ["unknown"])[0])[:60]
        path = self.folder / f"{stamp}-{next(self.counter):05d}-{to}.eml"
        content = envelope.original_content or envelope.content
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        return "250 Message accepted for delivery"


def start(folder: Path, host: str = "127.0.0.1", port: int = 1025) -> Controller:
    """Start the catcher in a thread; ``controller.stop()`` ends it."""
    controller = Controller(FolderHandler(folder), hostname=host, port=port)
    controller.start()
    return controller
