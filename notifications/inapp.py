"""The in-app inbox: the outbox row itself is the message, shown by GraphQL.

Delivering it only marks it sent and tells the customer's open subscriptions
(``notificationEvents``) after the commit.
"""

from __future__ import annotations

from notifications.channel import Delivery, Outgoing


class InAppChannel:
    async def send(self, message: Outgoing) -> Delivery:
        return Delivery.sent("in-app inbox")


class Unavailable:
    """A channel whose configuration is broken: every send fails (retried) with why."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    async def send(self, message: Outgoing) -> Delivery:
        return Delivery.failed(self.reason)
