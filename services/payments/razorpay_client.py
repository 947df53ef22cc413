"""The official Razorpay SDK, called off the event loop.

The SDK is synchronous (``requests``), so every call runs in a worker thread
(:func:`asyncio.to_thread`). ``RAZORPAY_BASE_URL`` picks Razorpay or the loopback sandbox
(``gridbill gateway``). Gateway failures become :class:`GatewayUnavailable`, a refusal
the caller can show; signature checks use the SDK's own verifiers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import razorpay
import razorpay.client
import requests
from razorpay.errors import BadRequestError, GatewayError, ServerError, SignatureVerificationError

from gridbill.settings import Settings
from services.errors import Refused

T = TypeVar("T")
PAGE = 100
log = logging.getLogger(__name__)


def _sdk_print(*args: object, **_: object) -> None:
    """The SDK ``print``s "Connection failed." to stdout before raising: log it instead.

    A stray line on stdout corrupts ``gridbill reconcile --format json`` and the one-line
    error contract; the exception that follows carries the same news.
    """
    log.debug("razorpay sdk: %s", " ".join(str(a) for a in args))


razorpay.client.print = _sdk_print  # module-level, not builtins


class GatewayUnavailable(Refused):
    """Razorpay (or the sandbox) refused the call or could not be reached."""

    def __init__(self, message: str) -> None:
        super().__init__("UNAVAILABLE", message)


class RazorpayGateway:
    """The calls gridbill makes to Razorpay, each awaited from async code."""

    def __init__(self, settings: Settings) -> None:
        if not settings.razorpay_key_secret:
            raise Refused("UNAVAILABLE", "RAZORPAY_KEY_SECRET is not set")
        self.key_id = settings.razorpay_key_id
        self.base_url = settings.razorpay_base_url
        self.client = razorpay.Client(
            auth=(settings.razorpay_key_id, settings.razorpay_key_secret),
            base_url=settings.razorpay_base_url,
        )

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        try:
            return await asyncio.to_thread(fn, *args)
        except (BadRequestError, GatewayError, ServerError) as exc:
            raise GatewayUnavailable(f"Razorpay refused the request: {exc}") from exc
        except requests.RequestException as exc:
            reason = type(exc).__name__
            raise GatewayUnavailable(
                f"Razorpay at {self.base_url} is not reachable ({reason}); check "
                "RAZORPAY_BASE_URL (the demo's sandbox: `make run` or `gridbill gateway`)"
            ) from exc

    async def create_order(
        self, *, amount_paise: int, currency: str, receipt: str, notes: dict[str, str]
    ) -> dict[str, Any]:
        data = {"amount": amount_paise, "currency": currency, "receipt": receipt, "notes": notes}
        order: dict[str, Any] = await self._call(self.client.order.create, data)
        return order

    async def fetch_payment(self, payment_id: str) -> dict[str, Any]:
        payment: dict[str, Any] = await self._call(self.client.payment.fetch, payment_id)
        return payment

    async def order_payments(self, order_id: str) -> list[dict[str, Any]]:
        page: dict[str, Any] = await self._call(self.client.order.payments, order_id)
        return list(page.get("items", []))

    async def payments_between(self, start: int, end: int) -> list[dict[str, Any]]:
        """Every payment created in ``[start, end]`` (unix seconds), page by page."""
        items: list[dict[str, Any]] = []
        while True:
            query = {"from": start, "to": end, "count": PAGE, "skip": len(items)}
            page: dict[str, Any] = await self._call(self.client.payment.all, query)
            batch = list(page.get("items", []))
            items.extend(batch)
            if len(batch) < PAGE:
                return items

    async def refund(
        self, payment_id: str, *, amount_paise: int, notes: dict[str, str]
    ) -> dict[str, Any]:
        data = {"amount": amount_paise, "notes": notes}
        refund: dict[str, Any] = await self._call(self.client.payment.refund, payment_id, data)
        return refund

    def checkout_signature_ok(self, *, order_id: str, payment_id: str, signature: str) -> bool:
        """The checkout's signature over *our* stored order id and the payment id."""
        if not signature.isascii():  # hex; the SDK's compare_digest needs ASCII
            return False
        try:
            self.client.utility.verify_payment_signature(
                {
                    "razorpay_order_id": order_id,
                    "razorpay_payment_id": payment_id,
                    "razorpay_signature": signature,
                }
            )
        except SignatureVerificationError:
            return False
        return True


def webhook_signature_ok(settings: Settings, body: bytes, signature: str) -> bool:
    """``X-Razorpay-Signature`` over the raw body (never a re-serialised one), by the SDK.

    Needs only ``RAZORPAY_WEBHOOK_SECRET``; without it every webhook is refused.
    """
    secret = settings.razorpay_webhook_secret
    if not secret or not signature or not signature.isascii():  # hex; the SDK needs ASCII
        return False
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    try:
        razorpay.Client().utility.verify_webhook_signature(text, signature, secret)
    except SignatureVerificationError:
        return False
    return True
