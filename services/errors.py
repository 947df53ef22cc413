"""Refusals a caller can act on, each with a stable machine-readable code.

Services raise :class:`Refused` for a user's mistake (a wrong password, a meter already
installed, a date in the past); the API turns it into a typed result or an error with
``extensions.code``. Anything else a service raises is a bug.
"""

from __future__ import annotations

from gridbill.errors import UserError


class Refused(UserError):
    """The request cannot be done as asked; ``code`` is stable, ``message`` is for people."""

    def __init__(
        self, code: str, message: str, *, field: str | None = None, retry_after_s: int | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.retry_after_s = retry_after_s


class NotFound(Refused):
    """The thing does not exist, or the caller may not know that it does."""

    def __init__(self, what: str, *, field: str | None = None) -> None:
        super().__init__("NOT_FOUND", f"{what} not found", field=field)
