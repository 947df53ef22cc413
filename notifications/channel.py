"""The one interface every delivery channel implements, and what passes through it.

A channel gets an :class:`Outgoing` message, already rendered, with a stable ``key``
(the same on every attempt at the same outbox row) that it hands to the provider as the
Message-ID or idempotency key, so a receiver can drop a repeat after a crash between
sending and recording. It answers with a :class:`Delivery`; only a bug raises.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from domain.enums import NotificationChannel

ANSWER_MAX = 500


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mime_type: str = "application/pdf"


@dataclass(frozen=True)
class Outgoing:
    key: str
    channel: NotificationChannel
    recipient: str
    event: str
    language: str
    subject: str
    text: str
    html: str
    sms: str
    attachments: tuple[Attachment, ...] = ()
    unsubscribe_url: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Delivery:
    """The provider's answer. ``permanent`` failures are not retried (a refused template)."""

    ok: bool
    answer: str
    permanent: bool = False

    @classmethod
    def sent(cls, answer: str) -> Delivery:
        return cls(True, answer[:ANSWER_MAX])

    @classmethod
    def failed(cls, answer: str, *, permanent: bool = False) -> Delivery:
        return cls(False, answer[:ANSWER_MAX], permanent)


class Channel(Protocol):
    async def send(self, message: Outgoing) -> Delivery: ...
