"""Delivering pending outbox rows: claim, check, render, send, record. Safe to run many times.

* **Claim.** A batch of due rows is claimed by setting ``claimed_until`` (now + the lease,
  ``GRIDBILL_NOTIFY_LEASE``) in one short transaction: on PostgreSQL the candidates are
  read ``FOR UPDATE SKIP LOCKED``, so concurrent workers take disjoint batches without
  waiting; on both databases each row's claim is a conditional UPDATE that only succeeds
  while the row is pending and unclaimed (or its lease ran out).
* **Check.** Preferences are read again (an opt-out stops queued rows: ``skipped``);
  SMS and push inside quiet hours (``GRIDBILL_QUIET_HOURS``, local time) wait for the
  morning without counting an attempt.
* **Send** through the channel, with the row's stable key as Message-ID / idempotency key.
* **Record** the attempt with the provider's answer, and the row's new state, in one
  transaction: ``sent``; or ``pending`` again after a backoff; or ``failed`` after a
  permanent refusal or ``GRIDBILL_NOTIFY_MAX_ATTEMPTS`` tries.

A worker killed between sending and recording leaves the row claimed; when the lease
runs out another worker sends it again, with the same key, and the receiver drops the
repeat. Delivery is therefore at-least-once, and exactly-once to a receiver that
deduplicates by key.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from jinja2 import TemplateError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from domain.backoff import retry_delay
from domain.enums import NotificationChannel, OutboxStatus
from domain.quiet_hours import next_allowed
from gridbill.settings import Settings
from notifications.channel import Channel, Delivery
from notifications.content import outgoing
from notifications.email import EmailChannel
from notifications.inapp import InAppChannel, Unavailable
from notifications.push import PushChannel
from notifications.rendering import TemplateMissing
from notifications.sms import SmsChannel, SmsConfigError
from services.events import publish
from services.notifications.outbox import MANDATORY_EVENTS, SECRET_EVENTS, URGENT_EVENTS
from services.notifications.preferences import wanted
from services.payments.dunning import still_due
from store.models import NotificationAttempt, OutboxMessage

log = logging.getLogger(__name__)

BATCH = 10  # × the slowest send (20 s) stays well inside the default 300 s lease
QUIET_CHANNELS = frozenset({NotificationChannel.SMS, NotificationChannel.PUSH})
RETRY_CAP_S = 6 * 3600


@dataclass
class Summary:
    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    skipped: int = 0
    deferred: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def worker_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"[:60]


def channels(settings: Settings) -> dict[NotificationChannel, Channel]:
    try:
        sms: Channel = SmsChannel(settings)
    except SmsConfigError as exc:
        log.error("SMS cannot be sent: %s", exc)
        sms = Unavailable(str(exc))
    return {
        NotificationChannel.EMAIL: EmailChannel(settings),
        NotificationChannel.SMS: sms,
        NotificationChannel.PUSH: PushChannel(settings),
        NotificationChannel.INAPP: InAppChannel(),
    }


def _clock(text: str) -> time:
    return time.fromisoformat(text)


class Dispatcher:
    def __init__(
        self,
        settings: Settings,
        channels: Mapping[NotificationChannel, Channel],
        *,
        worker: str | None = None,
    ) -> None:
        self.settings = settings
        self.channels = channels
        self.worker = worker or worker_name()
        self.quiet = (_clock(settings.quiet_hours[0]), _clock(settings.quiet_hours[1]))

    async def run_once(self, *, now: datetime | None = None, limit: int = BATCH) -> Summary:
        """Claim and deliver up to ``limit`` due rows."""
        now = now or datetime.now(UTC)
        summary = Summary()
        for row in await self.claim(now, limit):
            summary.claimed += 1
            outcome = await self.deliver(row, now)
            setattr(summary, outcome, getattr(summary, outcome) + 1)
        return summary

    async def drain(self, *, now: datetime | None = None, max_batches: int = 100) -> Summary:
        """Run batches until nothing is due (or ``max_batches``): one job's worth."""
        total = Summary()
        for _ in range(max_batches):
            batch = await self.run_once(now=now)
            for name, value in batch.as_dict().items():
                setattr(total, name, getattr(total, name) + value)
            if batch.claimed == 0:
                break
        return total

    async def claim(self, now: datetime, limit: int) -> list[OutboxMessage]:
        free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
        until = now + timedelta(seconds=self.settings.notify_lease_s)
        claimed = []
        async with in_transaction():
            query = (
                OutboxMessage.filter(status=OutboxStatus.PENDING, next_attempt_at__lte=now)
                .filter(free)
                .order_by("next_attempt_at", "id")
                .limit(limit)
            )
            if self.settings.is_postgres:
                query = query.select_for_update(skip_locked=True)
            for row in await query:
                taken = (
                    await OutboxMessage.filter(id=row.id, status=OutboxStatus.PENDING)
                    .filter(free)
                    .update(claimed_until=until)
                )
                if taken:
                    row.claimed_until = until
                    claimed.append(row)
        return claimed

    async def deliver(self, row: OutboxMessage, now: datetime) -> str:
        """Deliver one claimed row; returns the Summary field it counts under."""
        channel = NotificationChannel(row.channel)
        if row.event not in MANDATORY_EVENTS and channel != NotificationChannel.INAPP:
            has_email = channel == NotificationChannel.EMAIL or bool(row.payload.get("has_email"))
            if not await wanted(row.user_id, row.event, channel, has_email=has_email):  # type: ignore[attr-defined]
                await self._finish(row, OutboxStatus.SKIPPED, error="opted out")
                return "skipped"
        if row.event.startswith("dunning.") and (
            reason := await still_due(int(row.payload["bill_id"]))
        ):
            await self._finish(row, OutboxStatus.SKIPPED, error=reason)
            return "skipped"
        if channel in QUIET_CHANNELS and row.event not in URGENT_EVENTS:
            allowed = next_allowed(now, *self.quiet, self.settings.zone)
            if allowed > now:
                await OutboxMessage.filter(id=row.id).update(
                    next_attempt_at=allowed, claimed_until=None
                )
                return "deferred"
        try:
            message = await outgoing(self.settings, row)
        except (TemplateMissing, TemplateError, KeyError, ValueError) as exc:
            delivery = Delivery.failed(
                f"cannot render: {type(exc).__name__}: {exc}", permanent=True
            )
            return await self._record(row, delivery, now, subject="")
        sender = self.channels.get(channel)
        if sender is None:
            delivery = Delivery.failed(f"no {channel} channel", permanent=True)
        else:
            delivery = await sender.send(message)
        outcome = await self._record(row, delivery, now, subject=message.subject)
        if outcome == "sent" and channel == NotificationChannel.INAPP:
            await publish(
                "notification.created",
                customer_id=row.customer_id,  # type: ignore[attr-defined]
                notification_id=row.id,
                event=row.event,
            )
        return outcome

    async def _record(
        self, row: OutboxMessage, delivery: Delivery, now: datetime, *, subject: str
    ) -> str:
        number = row.attempts + 1
        changes: dict[str, object] = {"attempts": number, "claimed_until": None}
        if subject:
            changes["subject"] = subject[:200]
        if delivery.ok:
            changes.update(status=OutboxStatus.SENT, sent_at=datetime.now(UTC), last_error="")
            outcome = "sent"
        elif delivery.permanent or number >= self.settings.notify_max_attempts:
            changes.update(status=OutboxStatus.FAILED, last_error=delivery.answer)
            outcome = "failed"
        else:
            delay = retry_delay(number, base_s=self.settings.notify_retry_base_s, cap_s=RETRY_CAP_S)
            changes.update(next_attempt_at=now + delay, last_error=delivery.answer)
            outcome = "retrying"
        if outcome in ("sent", "failed") and row.event in SECRET_EVENTS:
            changes["payload"] = {
                **row.payload,
                **dict.fromkeys(SECRET_EVENTS[row.event], "[used]"),
            }
        async with in_transaction():
            await NotificationAttempt.create(
                message_id=row.id,
                number=number,
                at=datetime.now(UTC),
                succeeded=delivery.ok,
                provider_answer=delivery.answer,
                worker=self.worker,
            )
            await OutboxMessage.filter(id=row.id).update(**changes)
        if outcome == "failed":
            log.warning("notification %s (%s) failed: %s", row.id, row.event, delivery.answer)
        return outcome

    async def _finish(self, row: OutboxMessage, status: OutboxStatus, *, error: str) -> None:
        await OutboxMessage.filter(id=row.id).update(
            status=status, last_error=error, claimed_until=None
        )
