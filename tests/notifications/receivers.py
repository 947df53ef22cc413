"""Loopback receivers for the tests: an SMS provider and FCM (OAuth token + send), over HTTP.

They check what a real provider checks (DLT sender, template id and text; the service
account's signed JWT; the bearer token) independently of gridbill's own checks, drop
repeats by idempotency key the way a careful receiver does, and count the repeats.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jwt
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

SMS_KEY = "sms-api-key-for-tests"
SENDER = "GRDBIL"
PROJECT = "gridbill-test"
CLIENT_EMAIL = "push@gridbill-test.iam.gserviceaccount.com"


def registered_text_matches(registered: str, text: str) -> bool:
    """An independent DLT check: the fixed parts in order, 0 to 30 characters per variable."""
    parts = registered.split("{#var#}")

    def match(i: int, pos: int) -> bool:
        if not text.startswith(parts[i], pos):
            return False
        pos += len(parts[i])
        if i == len(parts) - 1:
            return pos == len(text)
        return any(match(i + 1, pos + n) for n in range(31) if pos + n <= len(text))

    return match(0, 0)


@dataclass
class Received:
    unique: dict[str, Any] = field(default_factory=dict)
    repeats: Counter[str] = field(default_factory=Counter)
    rejected: list[str] = field(default_factory=list)

    def add(self, key: str, value: Any) -> None:
        if key in self.unique:
            self.repeats[key] += 1
        else:
            self.unique[key] = value


@dataclass
class Receivers:
    url: str
    templates: dict[str, dict[str, str]]
    public_key: Any
    sms: Received = field(default_factory=Received)
    push: Received = field(default_factory=Received)
    tokens_issued: list[str] = field(default_factory=list)
    fail_next_sms: int = 0

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/sms", self.receive_sms, methods=["POST"]),
                Route("/token", self.token, methods=["POST"]),
                Route("/v1/projects/{project}/messages:send", self.receive_push, methods=["POST"]),
            ]
        )

    async def receive_sms(self, request: Request) -> JSONResponse:
        if self.fail_next_sms:
            self.fail_next_sms -= 1
            return JSONResponse({"error": "temporarily unavailable"}, status_code=503)
        if request.headers.get("authorization") != f"Bearer {SMS_KEY}":
            return JSONResponse({"error": "bad key"}, status_code=401)
        body = await request.json()
        key = request.headers.get("idempotency-key", "")
        by_id = {t["template_id"]: t for t in self.templates.values()}
        problem = None
        if body.get("sender") != SENDER:
            problem = f"unregistered sender {body.get('sender')!r}"
        elif body.get("dlt_template_id") not in by_id:
            problem = f"unknown template {body.get('dlt_template_id')!r}"
        elif not registered_text_matches(by_id[body["dlt_template_id"]]["text"], body["text"]):
            problem = "text does not match the template"
        elif not key:
            problem = "no idempotency key"
        if problem:
            self.sms.rejected.append(problem)
            return JSONResponse({"error": problem}, status_code=422)
        self.sms.add(key, body)
        return JSONResponse({"status": "accepted", "id": f"sms-{key[:8]}"})

    async def token(self, request: Request) -> JSONResponse:
        form = parse_qs((await request.body()).decode())
        try:
            claims = jwt.decode(
                form["assertion"][0], self.public_key, algorithms=["RS256"],
                audience=f"{self.url}/token",
            )  # fmt: skip
        except (KeyError, jwt.PyJWTError) as exc:
            return JSONResponse({"error": "invalid_grant", "detail": str(exc)}, status_code=400)
        if claims.get("iss") != CLIENT_EMAIL or "firebase.messaging" not in claims.get("scope", ""):
            return JSONResponse({"error": "invalid_scope"}, status_code=400)
        token = secrets.token_urlsafe(16)
        self.tokens_issued.append(token)
        return JSONResponse({"access_token": token, "expires_in": 3599, "token_type": "Bearer"})

    async def receive_push(self, request: Request) -> JSONResponse:
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
        if bearer not in self.tokens_issued:
            return JSONResponse({"error": {"status": "UNAUTHENTICATED"}}, status_code=401)
        if request.path_params["project"] != PROJECT:
            return JSONResponse({"error": {"status": "NOT_FOUND"}}, status_code=404)
        message = (await request.json())["message"]
        if message["token"].startswith("gone-"):
            return JSONResponse(
                {"error": {"status": "NOT_FOUND", "details": [{"errorCode": "UNREGISTERED"}]}},
                status_code=404,
            )
        self.push.add(f"{message['token']}:{message['data']['key']}", message)
        return JSONResponse({"name": f"projects/{PROJECT}/messages/{len(self.push.unique)}"})


def service_account(path: Path) -> Any:
    """Write a service-account JSON with a fresh RSA key; returns the public key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    path.write_text(
        json.dumps({
            "type": "service_account", "project_id": PROJECT, "private_key_id": "k1",
            "private_key": pem, "client_email": CLIENT_EMAIL,
        }),
        encoding="utf-8",
    )  # fmt: skip
    return key.public_key()


@contextmanager
def serving(receivers: Receivers, sock: socket.socket) -> Iterator[Receivers]:
    """Serve the receivers in a thread of their own, so sync and async tests both reach them."""
    server = uvicorn.Server(
        uvicorn.Config(
            receivers.app(), lifespan="off", ws="none", log_level="warning", access_log=False
        )
    )
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the loopback receivers did not start"
        time.sleep(0.01)
    try:
        yield receivers
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def read_mails(folder: Path) -> list[EmailMessage]:
    return [
        BytesParser(policy=policy.default).parsebytes(path.read_bytes())  # type: ignore[misc]
        for path in sorted(folder.glob("*.eml"))
    ]


def by_message_id(mails: list[EmailMessage]) -> tuple[dict[str, EmailMessage], Counter[str]]:
    """Mails deduplicated by Message-ID, and how many repeats each had."""
    unique: dict[str, EmailMessage] = {}
    repeats: Counter[str] = Counter()
    for mail in mails:
        key = str(mail["Message-ID"])
        if key in unique:
            repeats[key] += 1
        else:
            unique[key] = mail
    return unique, repeats
