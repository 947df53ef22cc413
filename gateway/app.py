"""The sandbox gateway's Starlette app: orders, payments, refunds, checkout and webhooks.

JSON shapes follow Razorpay's documented entities (see tests/fixtures/razorpay/). State is
in memory and lives as long as the process. Checkout is simulated by ``POST
/sandbox/checkout``: success answers what Razorpay's checkout hands the app (payment id,
order id, signature) and sends ``payment.authorized``, ``payment.captured`` and
``order.paid``; failure sends ``payment.failed``. Webhooks are signed exactly as Razorpay
signs them and retried with exponential backoff until our endpoint answers 2xx; they can
be delivered twice, out of order, or dropped (to exercise reconciliation).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import logging
import secrets
import string
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

log = logging.getLogger(__name__)

ID_ALPHABET = string.ascii_letters + string.digits
MIN_AMOUNT = 100
MAX_PAGE = 100


def sign_payment(key_secret: str, order_id: str, payment_id: str) -> str:
    """Checkout's ``razorpay_signature``: HMAC-SHA256 of ``order_id|payment_id``, hex."""
    message = f"{order_id}|{payment_id}".encode()
    return hmac.new(key_secret.encode(), message, hashlib.sha256).hexdigest()


def sign_webhook(webhook_secret: str, body: bytes) -> str:
    """``X-Razorpay-Signature``: HMAC-SHA256 of the raw body with the webhook secret, hex."""
    return hmac.new(webhook_secret.encode(), body, hashlib.sha256).hexdigest()


def new_id(prefix: str) -> str:
    return prefix + "_" + "".join(secrets.choice(ID_ALPHABET) for _ in range(14))


@dataclass
class GatewayConfig:
    key_id: str
    key_secret: str = field(repr=False)
    webhook_secret: str = field(repr=False)
    webhook_url: str = ""
    retry_base_s: float = 1.0
    max_attempts: int = 8
    timeout_s: float = 5.0
    duplicate: bool = False
    out_of_order: bool = False
    drop_webhooks: bool = False


@dataclass
class Delivery:
    event_id: str
    event: str
    body: bytes
    attempts: int = 0
    status: int | None = None
    delivered: bool = False
    errors: list[str] = field(default_factory=list)


class GatewayState:
    """Everything the sandbox knows: entities by id, and the webhook log."""

    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        self.orders: dict[str, dict[str, Any]] = {}
        self.payments: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.deliveries: list[Delivery] = []
        self.pending = 0
        self.tasks: set[asyncio.Task[None]] = set()
        self.http: httpx2.AsyncClient | None = None

    # --- webhooks ---------------------------------------------------------------------

    def event_body(self, event: str, **entities: dict[str, Any]) -> bytes:
        envelope = {
            "entity": "event",
            "account_id": "acc_SandboxGridbil",
            "event": event,
            "contains": list(entities),
            "payload": {name: {"entity": entity} for name, entity in entities.items()},
            "created_at": int(time.time()),
        }
        return json.dumps(envelope, indent=2).encode() + b"\n"

    def emit(self, batch: list[tuple[str, bytes]]) -> None:
        """Queue a batch of events (one checkout's, one refund's) for delivery."""
        if not self.config.webhook_url or self.config.drop_webhooks:
            return
        deliveries = [Delivery(new_id("evt"), event, body) for event, body in batch]
        if self.config.out_of_order:
            deliveries.reverse()
        self.deliveries.extend(deliveries)
        self.pending += len(deliveries)
        self._spawn(self._deliver_batch(deliveries))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _deliver_batch(self, deliveries: list[Delivery]) -> None:
        for delivery in deliveries:
            if self.config.duplicate:
                twin = Delivery(delivery.event_id, delivery.event, delivery.body)
                self.deliveries.append(twin)
                self.pending += 1
                await asyncio.gather(self._deliver(delivery), self._deliver(twin))
            else:
                await self._deliver(delivery)

    async def _deliver(self, delivery: Delivery) -> None:
        """Post one event until it is acknowledged or the attempts run out."""
        try:
            for attempt in range(self.config.max_attempts):
                if attempt:
                    await asyncio.sleep(self.config.retry_base_s * 2 ** (attempt - 1))
                delivery.attempts += 1
                if await self._post(delivery):
                    delivery.delivered = True
                    return
            log.warning("webhook %s (%s) gave up", delivery.event_id, delivery.event)
        finally:
            self.pending -= 1

    async def _post(self, delivery: Delivery) -> bool:
        assert self.http is not None
        headers = {
            "Content-Type": "application/json",
            "X-Razorpay-Signature": sign_webhook(self.config.webhook_secret, delivery.body),
            "X-Razorpay-Event-Id": delivery.event_id,
            "Request-Id": new_id("req"),
            "User-Agent": "Razorpay-Webhook/v1 (gridbill sandbox)",
        }
        try:
            response = await self.http.post(
                self.config.webhook_url,
                content=delivery.body,
                headers=headers,
                timeout=self.config.timeout_s,
            )
        except httpx2.HTTPError as exc:
            delivery.errors.append(f"{type(exc).__name__}: {exc}")
            return False
        delivery.status = response.status_code
        if 200 <= response.status_code < 300:
            return True
        delivery.errors.append(f"HTTP {response.status_code}")
        return False


# --- HTTP helpers ---------------------------------------------------------------------


def error(status: int, description: str, *, field_name: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {
        "code": "BAD_REQUEST_ERROR" if status in (400, 401) else "SERVER_ERROR",
        "description": description,
        "source": "business",
        "step": "payment_initiation",
        "reason": "input_validation_failed",
        "metadata": {},
    }
    if field_name:
        body["field"] = field_name
    return JSONResponse({"error": body}, status_code=status)


def state_of(request: Request) -> GatewayState:
    state: GatewayState = request.app.state.gateway
    return state


def authorized(request: Request) -> bool:
    config = state_of(request).config
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return False
    try:
        key_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return hmac.compare_digest(key_id, config.key_id) and hmac.compare_digest(
        secret, config.key_secret
    )


def unauthorized() -> JSONResponse:
    return error(401, "The api key provided is invalid")


async def json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def collection(items: list[dict[str, Any]], request: Request) -> JSONResponse:
    q = request.query_params
    try:
        start = int(q.get("from", 0))
        end = int(q.get("to", 2**62))
        count = min(int(q.get("count", 10)), MAX_PAGE)
        skip = int(q.get("skip", 0))
    except ValueError:
        return error(400, "from, to, count and skip must be integers")
    chosen = [i for i in items if start <= i["created_at"] <= end]
    chosen.sort(key=lambda i: i["created_at"], reverse=True)
    page = chosen[skip : skip + count]
    return JSONResponse({"entity": "collection", "count": len(page), "items": page})


# --- orders ---------------------------------------------------------------------------


async def create_order(request: Request) -> JSONResponse:
    if not authorized(request):
        return unauthorized()
    data = await json_body(request)
    amount = data.get("amount")
    if not isinstance(amount, int) or isinstance(amount, bool) or amount < MIN_AMOUNT:
        return error(400, "The amount must be at least INR 1.00", field_name="amount")
    currency = data.get("currency")
    if not isinstance(currency, str) or len(currency) != 3:
        return error(400, "The currency field is required.", field_name="currency")
    receipt = data.get("receipt")
    if receipt is not None and (not isinstance(receipt, str) or len(receipt) > 40):
        return error(
            400, "The receipt may not be greater than 40 characters.", field_name="receipt"
        )
    notes = data.get("notes") or []
    if isinstance(notes, dict) and len(notes) > 15:
        return error(400, "Number of notes should be less than or equal to 15", field_name="notes")
    order: dict[str, Any] = {
        "id": new_id("order"),
        "entity": "order",
        "amount": amount,
        "amount_paid": 0,
        "amount_due": amount,
        "currency": currency,
        "receipt": receipt,
        "offer_id": None,
        "status": "created",
        "attempts": 0,
        "notes": notes,
        "created_at": int(time.time()),
    }
    state_of(request).orders[order["id"]] = order
    return JSONResponse(order)


async def fetch_order(request: Request) -> JSONResponse:
    if not authorized(request):
        return unauthorized()
    order = state_of(request).orders.get(request.path_params["order_id"])
    if order is None:
        return error(400, "The id provided does not exist")
    return JSONResponse(order)


async def list_orders(request: Request) -> JSONResponse:
    if not authorized(request):
        return unauthorized()
    return collection(list(state_of(request).orders.values()), request)


async def order_payments(request: Request) -> JSONResponse:
    if not authorized(request):
        return unauthorized()
    order_id = request.path_params["order_id"]
    state = state_of(request)
    if order_id not in state.orders:
        return error(400, "The id provided does not exist")
    items = [p for p in state.payments.values() if p["order_id"] == order_id]
    return JSONResponse({"entity": "collection", "count": len(items), "items": items})


# --- payments -------------------------------------------------------------------------


def new_payment(order: dict[str, Any], method: str, email: str, contact: str) -> dict[str, Any]:
    """A payment entity as Razorpay reports it; never any card number, only what it shows."""
    return {
        "id": new_id("pay"),
        "entity": "payment",
        "amount": order["amount"],
        "currency": order["currency"],
        "status": "created",
        "order_id": order["id"],
        "invoice_id": None,
        "international": False,
        "method": method,
        "amount_refunded": 0,
        "refund_status": None,
        "captured": False,
        "description": None,
        "card_id": None,
        "bank": "HDFC" if method == "netbanking" else None,
        "wallet": None,
        "vpa": "customer@upi" if method == "upi" else None,
        "email": email,
        "contact": contact,
        "notes": order["notes"],
        "fee": None,
        "tax": None,
        "error_code": None,
        "error_description": None,
        "error_source": None,
        "error_step": None,
        "error_reason": None,
        "acquirer_data": {},
        "created_at": int(time.time()),
    }


async def checkout(request: Request) -> JSONResponse:
    """Simulate the customer paying in Razorpay's checkout (no auth: it is the browser)."""
    state = state_of(request)
    data = await json_body(request)
    order = state.orders.get(str(data.get("order_id", "")))
    if order is None:
        return error(400, "The id provided does not exist", field_name="order_id")
    if data.get("key_id", state.config.key_id) != state.config.key_id:
        return unauthorized()
    if order["status"] == "paid":
        return error(400, "Order has already been paid", field_name="order_id")
    method = str(data.get("method", "upi"))
    payment = new_payment(
        order, method, str(data.get("email", "")), str(data.get("contact", "+919000090000"))
    )
    state.payments[payment["id"]] = payment
    order["attempts"] += 1
    order["status"] = "attempted"
    if data.get("outcome", "success") != "success":
        payment.update(
            status="failed",
            error_code="BAD_REQUEST_ERROR",
            error_description="Payment failed",
            error_source="bank",
            error_step="payment_authorization",
            error_reason="payment_failed",
        )
        state.emit([("payment.failed", state.event_body("payment.failed", payment=payment))])
        return JSONResponse(
            {
                "error": {
                    "code": "BAD_REQUEST_ERROR",
                    "description": "Payment failed",
                    "source": "bank",
                    "step": "payment_authorization",
                    "reason": "payment_failed",
                    "metadata": {"payment_id": payment["id"], "order_id": order["id"]},
                }
            }
        )
    payment["status"] = "authorized"
    authorized_body = state.event_body("payment.authorized", payment=payment)
    payment.update(status="captured", captured=True, fee=2 * payment["amount"] // 100, tax=0)
    order.update(status="paid", amount_paid=order["amount"], amount_due=0)
    state.emit(
        [
            ("payment.authorized", authorized_body),
            ("payment.captured", state.event_body("payment.captured", payment=payment)),
            ("order.paid", state.event_body("order.paid", payment=payment, order=order)),
        ]
    )
    return JSONResponse(
        {
            "razorpay_payment_id": payment["id"],
            "razorpay_order_id": order["id"],
            "razorpay_signature": sign_payment(state.config.key_secret, order["id"], payment["id"]),
        }
    )


async def fetch_payment(request: Request) -> JSONResponse:
    if not authorized(request):
        return unauthorized()
    payment = state_of(request).payments.get(request.path_params["payment_id"])
    if payment is None:
        return error(400, "The id provided does not exist")
    return JSONResponse(payment)


async def list_payments(request: Request) -> JSONResponse:
    if not authorized(request):
        return unauthorized()
    return collection(list(state_of(request).payments.values()), request)


# --- refunds --------------------------------------------------------------------------


async def refund_payment(request: Request) -> JSONResponse:
    """Refunds are processed at once in the sandbox: ``refund.created``, ``refund.processed``."""
    if not authorized(request):
        return unauthorized()
    state = state_of(request)
    payment = state.payments.get(request.path_params["payment_id"])
    if payment is None:
        return error(400, "The id provided does not exist")
    if payment["status"] not in ("captured", "refunded"):
        return error(400, "The payment has not been captured")
    data = await json_body(request)
    left = payment["amount"] - payment["amount_refunded"]
    amount = data.get("amount", left)
    if not isinstance(amount, int) or isinstance(amount, bool) or not 100 <= amount <= left:
        return error(
            400, "The refund amount provided is greater than amount captured", field_name="amount"
        )
    refund: dict[str, Any] = {
        "id": new_id("rfnd"),
        "entity": "refund",
        "amount": amount,
        "currency": payment["currency"],
        "payment_id": payment["id"],
        "notes": data.get("notes") or [],
        "receipt": data.get("receipt"),
        "acquirer_data": {"arn": None},
        "created_at": int(time.time()),
        "batch_id": None,
        "status": "processed",
        "speed_processed": "normal",
        "speed_requested": str(data.get("speed", "normal")),
    }
    state.refunds[refund["id"]] = refund
    payment["amount_refunded"] += amount
    full = payment["amount_refunded"] == payment["amount"]
    payment.update(refund_status="full" if full else "partial")
    if full:
        payment["status"] = "refunded"
    state.emit(
        [
            ("refund.created", state.event_body("refund.created", refund=refund, payment=payment)),
            (
                "refund.processed",
                state.event_body("refund.processed", refund=refund, payment=payment),
            ),
        ]
    )
    return JSONResponse(refund)


async def fetch_refund(request: Request) -> JSONResponse:
    if not authorized(request):
        return unauthorized()
    refund = state_of(request).refunds.get(request.path_params["refund_id"])
    if refund is None:
        return error(400, "The id provided does not exist")
    return JSONResponse(refund)


# --- sandbox controls -----------------------------------------------------------------


async def sandbox_status(request: Request) -> JSONResponse:
    state = state_of(request)
    return JSONResponse(
        {
            "pending": state.pending,
            "deliveries": [
                {
                    "event_id": d.event_id,
                    "event": d.event,
                    "attempts": d.attempts,
                    "status": d.status,
                    "delivered": d.delivered,
                    "errors": d.errors,
                }
                for d in state.deliveries
            ],
        }
    )


async def sandbox_config(request: Request) -> JSONResponse:
    """Change delivery behaviour at run time: duplicate, out_of_order, drop_webhooks."""
    config = state_of(request).config
    data = await json_body(request)
    for name in ("duplicate", "out_of_order", "drop_webhooks"):
        if name in data:
            setattr(config, name, bool(data[name]))
    if "webhook_url" in data:
        config.webhook_url = str(data["webhook_url"])
    return JSONResponse(
        {
            "duplicate": config.duplicate,
            "out_of_order": config.out_of_order,
            "drop_webhooks": config.drop_webhooks,
            "webhook_url": config.webhook_url,
        }
    )


async def sandbox_redeliver(request: Request) -> JSONResponse:
    """Send an event already sent again, ``times`` times, with the same event id."""
    state = state_of(request)
    event_id = request.path_params["event_id"]
    found = next((d for d in state.deliveries if d.event_id == event_id), None)
    if found is None:
        return error(404, "no such event")
    times = int(request.query_params.get("times", "1"))
    for _ in range(times):
        copy = Delivery(found.event_id, found.event, found.body)
        state.deliveries.append(copy)
        state.pending += 1
        state._spawn(state._deliver(copy))
    return JSONResponse({"redelivering": times})


def create_gateway_app(config: GatewayConfig) -> Starlette:
    state = GatewayState(config)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with httpx2.AsyncClient() as http:
            state.http = http
            try:
                yield
            finally:
                for task in list(state.tasks):
                    task.cancel()
                await asyncio.gather(*state.tasks, return_exceptions=True)
                state.http = None

    app = Starlette(
        routes=[
            Route("/v1/orders", create_order, methods=["POST"]),
            Route("/v1/orders", list_orders, methods=["GET"]),
            Route("/v1/orders/{order_id}", fetch_order, methods=["GET"]),
            Route("/v1/orders/{order_id}/payments", order_payments, methods=["GET"]),
            Route("/v1/payments", list_payments, methods=["GET"]),
            Route("/v1/payments/{payment_id}", fetch_payment, methods=["GET"]),
            Route("/v1/payments/{payment_id}/refund", refund_payment, methods=["POST"]),
            Route("/v1/refunds/{refund_id}", fetch_refund, methods=["GET"]),
            Route("/sandbox/checkout", checkout, methods=["POST"]),
            Route("/sandbox/status", sandbox_status, methods=["GET"]),
            Route("/sandbox/config", sandbox_config, methods=["POST"]),
            Route("/sandbox/events/{event_id}/redeliver", sandbox_redeliver, methods=["POST"]),
        ],
        lifespan=lifespan,
    )
    app.state.gateway = state
    return app
