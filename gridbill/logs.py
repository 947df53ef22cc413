"""How gridbill's processes log: JSON lines in production, plain lines in development.

Every line carries the request id of the request it belongs to (``-`` outside one), the
access log included: uvicorn's loggers are left unconfigured (``log_config=None``) so
they go through the same handler. Before a line is written it is scrubbed: the secrets
in the settings (secret key, Razorpay secrets, the database password), bearer tokens and
JWTs, ``password=…`` pairs, e-mail addresses and phone numbers become ``[redacted]``, so
a log file can be shared with a vendor without leaking keys or customers' personal data
(docs/operations.md, "Logs").
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import re
import sys
from datetime import UTC, datetime
from typing import IO, Any
from urllib.parse import urlsplit

from gridbill.request_id import request_id
from gridbill.settings import Settings

REDACTED = "[redacted]"
PATTERNS = (
    re.compile(r"(?i)\bbearer\s+[\w.~+/=-]+"),
    re.compile(r"\beyJ[\w-]+\.[\w-]+\.[\w-]*"),  # a JWT, wherever it appears
    re.compile(r"(?i)\b(password|passwd|secret|credential|token)(\"?\s*[=:]\s*\"?)[^\s\"&,}]+"),
    re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),  # e-mail addresses
    re.compile(r"(?<![\w.])\+?(?:91[\s-]?)?[6-9]\d{4}[\s-]?\d{5}(?![\w.])"),  # Indian mobiles
)
QUIET = ("tortoise", "aiosqlite", "asyncio", "procrastinate")
PLAIN = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"
MARK = "_gridbill_handler"


class RequestId(logging.Filter):
    """Put the current request's id (a context variable the middleware sets) on the record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get() or "-"
        return True


class Scrubber:
    """Replace secrets and personal data in a formatted line (the traceback included).

    It works on the formatter's output, never on the record, so other handlers (a test's
    log capture, say) still see the record as it was logged.
    """

    def __init__(self, secrets: list[str]) -> None:
        self.secrets = sorted((s for s in secrets if len(s) >= 6), key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        for pattern in PATTERNS:
            text = pattern.sub(_keep_key, text)
        return text


def _keep_key(match: re.Match[str]) -> str:
    """``password=hunter2`` keeps its key (``password=[redacted]``) so the line still reads."""
    if match.re is PATTERNS[2]:
        return f"{match.group(1)}{match.group(2)}{REDACTED}"
    return REDACTED


class PlainLines(logging.Formatter):
    """``time LEVEL logger [request id]: message``, scrubbed."""

    def __init__(self, scrub: Scrubber) -> None:
        super().__init__(PLAIN)
        self.scrub = scrub

    def format(self, record: logging.LogRecord) -> str:
        return self.scrub(super().format(record))


class JsonLines(logging.Formatter):
    """One JSON object a line: time (UTC), level, logger, request id, message[, error]."""

    def __init__(self, scrub: Scrubber) -> None:
        super().__init__()
        self.scrub = scrub

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": self.scrub(record.getMessage()),
        }
        if record.exc_info:
            line["error"] = self.scrub(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False)


def secrets_of(settings: Settings) -> list[str]:
    password = urlsplit(settings.database_url).password or ""
    return [
        settings.secret_key,
        settings.razorpay_key_secret,
        settings.razorpay_webhook_secret,
        password,
    ]


class Early(logging.handlers.MemoryHandler):
    """Holds lines logged before the settings are known (a settings warning), for later."""


def hold_early_lines() -> None:
    """Keep what is logged until :func:`configure` knows the format, instead of plain text."""
    root = logging.getLogger()
    if not any(isinstance(h, Early) for h in root.handlers):
        root.addHandler(Early(capacity=1000, flushLevel=logging.CRITICAL + 1))
        root.setLevel(logging.INFO)


def configure(settings: Settings, *, verbose: bool = False, stream: IO[str] | None = None) -> None:
    """Send every logger's lines through one scrubbing handler; idempotent per process."""
    root = logging.getLogger()
    early = [h for h in root.handlers if isinstance(h, Early)]
    for handler in [h for h in root.handlers if getattr(h, MARK, False)] + early:
        root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    setattr(handler, MARK, True)
    handler.addFilter(RequestId())
    scrub = Scrubber(secrets_of(settings))
    handler.setFormatter(JsonLines(scrub) if settings.is_production else PlainLines(scrub))
    root.addHandler(handler)
    root.setLevel("DEBUG" if verbose else settings.log_level)
    for held in early:
        for record in held.buffer:
            if record.levelno >= root.level:
                handler.handle(record)
        held.close()
    # Tortoise and the drivers are chatty at INFO; their warnings still show.
    for noisy in QUIET:
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def configured() -> bool:
    return any(getattr(h, MARK, False) for h in logging.getLogger().handlers)
