"""The sandbox gateway, driven through the official Razorpay SDK, and its webhook delivery."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import socket
import threading
import time
from pathlib import Path

import httpx2
import pytest
import razorpay
import uvicorn
from payments_helpers import FIXTURES
from razorpay.errors import BadRequestError, SignatureVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gateway import SandboxGateway, sign_payment, sign_webhook
from tests.payment_sandbox import KEY_ID, KEY_SECRET, WEBHOOK_SECRET, sandbox_config

SDK_FIXTURE = FIXTURES / "sdk_test_payment_authorized_webhook__razorpay-python.json"


def hex_hmac(key: bytes, message: bytes) -> str:
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def test_signature_vectors_from_the_docs_and_sdk() -> None:
    body = SDK_FIXTURE.read_bytes()
    assert sign_webhook("key_secret", body) == (
        "d60e67fd884556c045e9be7dad57903e33efc7172c17c6e3ef77db42d2b366e9"
    )
    assert sign_webhook("key_secret", body.rstrip(b"\n")) == (
        "0971cde1d9216765d9aa72c766aef4a913fedfd2d36cc05cbca5de1ef90c12e4"
    )
    assert sign_payment(
        "EnLs21M47BllR3X8PSFtjtbd", "order_IEIaMR65cu6nz3", "pay_IH4NVgf4Dreq1l"
    ) == ("0d4e745a1838664ad6c9c9902212a32d627d68e917290b0ad5f08ff4561bc50f")
    assert sign_payment("key_secret", "fake_order_id", "fake_payment_id") == (
        "b2335e3b0801106b84a7faff035df56ecffde06918c9ddd1f0fafbb37a51cc89"
    )
    client = razorpay.Client(auth=("key_id", "key_secret"))
    assert client.utility.verify_webhook_signature(
        body.decode(), sign_webhook("key_secret", body), "key_secret"
    )
    with pytest.raises(SignatureVerificationError):
        client.utility.verify_webhook_signature("", "test_signature", "key_secret")
    docs = razorpay.Client(auth=("k", "EnLs21M47BllR3X8PSFtjtbd"))
    with pytest.raises(SignatureVerificationError):  # the docs' truncated .NET sample
        docs.utility.verify_payment_signature(
            {
                "razorpay_order_id": "order_IEIaMR65",
                "razorpay_payment_id": "pay_IH4NVgf4Dreq1l",
                "razorpay_signature": "0d4e745a1838664ad6c9c9902212a32d627d68e917290b0ad5f08ff4561bc50",
            }
        )


def test_orders_payments_refunds_through_the_sdk(sandbox: SandboxGateway) -> None:
    client = razorpay.Client(auth=(KEY_ID, KEY_SECRET), base_url=sandbox.url)
    order = client.order.create(
        {"amount": 5000, "currency": "INR", "receipt": "receipt#1", "notes": {"key1": "value3"}}
    )
    assert order["status"] == "created" and order["amount_due"] == 5000
    assert set(order) == {
        "id", "entity", "amount", "amount_paid", "amount_due", "currency", "receipt",
        "offer_id", "status", "attempts", "notes", "created_at",
    }  # fmt: skip
    assert client.order.fetch(order["id"])["receipt"] == "receipt#1"
    with pytest.raises(BadRequestError, match=r"at least INR 1\.00"):
        client.order.create({"amount": 99, "currency": "INR"})
    assert client.order.create({"amount": 100, "currency": "INR"})["amount"] == 100
    with pytest.raises(BadRequestError):
        razorpay.Client(auth=(KEY_ID, "wrong"), base_url=sandbox.url).order.fetch(order["id"])

    result = httpx2.post(f"{sandbox.url}/sandbox/checkout", json={"order_id": order["id"]}).json()
    assert client.utility.verify_payment_signature({**result, "razorpay_order_id": order["id"]})
    payment = client.payment.fetch(result["razorpay_payment_id"])
    assert (payment["status"], payment["captured"], payment["amount"]) == ("captured", True, 5000)
    assert "card" not in payment or payment["card"] is None
    assert client.order.fetch(order["id"])["status"] == "paid"
    assert client.order.payments(order["id"])["count"] == 1
    listed = client.payment.all(
        {"from": payment["created_at"] - 1, "to": payment["created_at"] + 1}
    )
    assert [p["id"] for p in listed["items"]] == [payment["id"]]

    refund = client.payment.refund(payment["id"], {"amount": 2000})
    assert (refund["status"], refund["amount"], refund["payment_id"]) == (
        "processed",
        2000,
        payment["id"],
    )
    assert client.refund.fetch(refund["id"])["id"] == refund["id"]
    assert client.payment.fetch(payment["id"])["refund_status"] == "partial"
    with pytest.raises(BadRequestError):
        client.payment.refund(payment["id"], {"amount": 3001})


class FlakyReceiver:
    """A webhook endpoint that fails its first ``failures`` requests, on its own thread."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.received: list[tuple[str, bytes, str]] = []

        async def hook(request: Request) -> JSONResponse:
            body = await request.body()
            self.received.append(
                (
                    request.headers["x-razorpay-event-id"],
                    body,
                    request.headers["x-razorpay-signature"],
                )
            )
            if len(self.received) <= self.failures:
                return JSONResponse({}, status_code=500)
            return JSONResponse({})

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/hook"
        self.server = uvicorn.Server(
            uvicorn.Config(
                Starlette(routes=[Route("/hook", hook, methods=["POST"])]),
                ws="none",
                log_level="warning",
            )
        )
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def __enter__(self) -> FlakyReceiver:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(5)
        self.sock.close()


def wait_idle(sandbox: SandboxGateway) -> None:
    deadline = time.monotonic() + 10
    time.sleep(0.05)
    while sandbox.state.pending:
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_webhooks_are_signed_and_retried_with_backoff(sandbox: SandboxGateway) -> None:
    with FlakyReceiver(failures=2) as receiver:
        sandbox.config.webhook_url = receiver.url
        client = razorpay.Client(auth=(KEY_ID, KEY_SECRET), base_url=sandbox.url)
        order = client.order.create({"amount": 1000, "currency": "INR"})
        httpx2.post(
            f"{sandbox.url}/sandbox/checkout", json={"order_id": order["id"], "outcome": "failure"}
        )
        wait_idle(sandbox)
    (delivery,) = sandbox.state.deliveries
    assert (delivery.event, delivery.attempts, delivery.delivered) == ("payment.failed", 3, True)
    assert delivery.errors == ["HTTP 500", "HTTP 500"]
    assert len({event_id for event_id, _, _ in receiver.received}) == 1  # same id on retries
    for _, body, signature in receiver.received:
        assert signature == hex_hmac(WEBHOOK_SECRET.encode(), body)
        assert body.endswith(b"\n")


def test_out_of_order_and_duplicate_delivery(sandbox: SandboxGateway) -> None:
    with FlakyReceiver(failures=0) as receiver:
        sandbox.config.webhook_url = receiver.url
        sandbox.config.out_of_order = True
        sandbox.config.duplicate = True
        client = razorpay.Client(auth=(KEY_ID, KEY_SECRET), base_url=sandbox.url)
        order = client.order.create({"amount": 1000, "currency": "INR"})
        httpx2.post(f"{sandbox.url}/sandbox/checkout", json={"order_id": order["id"]})
        wait_idle(sandbox)
    events = [d.event for d in sandbox.state.deliveries]
    assert list(dict.fromkeys(events)) == ["order.paid", "payment.captured", "payment.authorized"]
    assert sorted(events) == sorted(events[:3] * 2)
    assert len(receiver.received) == 6
    assert len({event_id for event_id, _, _ in receiver.received}) == 3


def test_gateway_command_refuses_without_secrets(tmp_path: Path) -> None:
    import argparse

    from cli.gateway import GatewayCommandError, add_parser, cmd_gateway
    from gridbill.settings import load_settings

    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    args = parser.parse_args(["gateway", "--port", "0"])
    # not development: there the secrets default to the sandbox's (README, "Configuration")
    settings = load_settings(
        {"GRIDBILL_ENV": "test", "GRIDBILL_VAR_DIR": str(tmp_path), "GRIDBILL_SECRET_KEY": "k" * 40}
    )
    with pytest.raises(GatewayCommandError, match="RAZORPAY_KEY_SECRET"):
        cmd_gateway(settings, args)
    args = parser.parse_args(["gateway", "--host", "0.0.0.0"])  # noqa: S104
    with pytest.raises(GatewayCommandError, match="loopback"):
        cmd_gateway(settings, args)


def test_gateway_stops_cleanly() -> None:
    gateway = SandboxGateway(sandbox_config()).start()
    assert httpx2.get(f"{gateway.url}/sandbox/status").json() == {"pending": 0, "deliveries": []}
    gateway.stop()
    with pytest.raises(httpx2.ConnectError):
        httpx2.get(f"{gateway.url}/sandbox/status")
    asyncio.run(asyncio.sleep(0))
