"""Plain HTTP endpoints beside GraphQL: the OAuth token endpoint, bill PDFs, request ids.

* ``POST /oauth/token``: the OAuth 2.0 client credentials grant (RFC 6749 §4.4) for
  partner applications. Credentials in the form or JSON body, or HTTP Basic. Errors use
  the RFC's codes (``invalid_request``, ``invalid_client``, ``unsupported_grant_type``,
  ``invalid_scope``).
* ``GET /bills/{id}/pdf?expires=…&sig=…``: a bill's PDF through a signed, expiring link
  (``services.billing.downloads``); the link is the authorisation.
* Every response carries ``X-Request-ID`` (the caller's, if sane, or a new one); logs and
  audit rows of the request carry the same id.
"""

from __future__ import annotations

import base64
import logging
import re
import secrets
from typing import Any
from urllib.parse import parse_qs, unquote

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.client_address import client_address
from domain import strict_json
from gridbill.request_id import request_id as request_id_var
from gridbill.settings import Settings
from services.billing.downloads import PURPOSE, pdf_file
from services.errors import Refused
from services.identity import sessions, throttle
from services.identity.tokens import check_link
from store.models import Bill

log = logging.getLogger("gridbill.api")

REQUEST_ID_HEADER = "x-request-id"
_SANE_ID = re.compile(r"^[A-Za-z0-9._-]{8,40}$")
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class RequestIdMiddleware:
    """Give each request an id: set for logs and audit rows, echoed in X-Request-ID."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = (
            dict(scope.get("headers") or []).get(REQUEST_ID_HEADER.encode(), b"").decode("latin-1")
        )
        request_id = given if _SANE_ID.match(given) else secrets.token_hex(8)
        token = request_id_var.set(request_id)
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)


def _oauth_error(code: str, description: str, status: int = 400) -> JSONResponse:
    headers = dict(NO_STORE)
    if code == "invalid_client":
        headers["WWW-Authenticate"] = 'Basic realm="gridbill"'
    return JSONResponse({"error": code, "error_description": description}, status, headers=headers)


async def _token_request(request: Request) -> dict[str, str]:
    body = await request.body()
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    fields: dict[str, str] = {}
    if content_type == "application/json":
        try:
            data = strict_json.loads(body or b"{}")
        except (ValueError, RecursionError):  # bad JSON or UTF-8, or nested past recursion
            raise Refused("invalid_request", "the body is not JSON") from None
        if not isinstance(data, dict):
            raise Refused("invalid_request", "the body must be a JSON object")
        fields = {k: v for k, v in data.items() if isinstance(v, str)}
    elif content_type in ("application/x-www-form-urlencoded", ""):
        parsed = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        fields = {k: v[0] for k, v in parsed.items() if v}
    else:
        raise Refused("invalid_request", "send the form url-encoded or as JSON")
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (ValueError, UnicodeDecodeError):  # binascii.Error, or non-ASCII input
            raise Refused("invalid_client", "malformed Basic credentials") from None
        client_id, _, secret = decoded.partition(":")
        fields.setdefault("client_id", unquote(client_id))
        fields.setdefault("client_secret", unquote(secret))
    return fields


def too_many(message: str, retry_after_s: int, **extra: str) -> JSONResponse:
    """429 with Retry-After: failed credentials from this address are being throttled."""
    headers = {**NO_STORE, "Retry-After": str(retry_after_s)}
    return JSONResponse({"error": message, **extra}, 429, headers=headers)


def oauth_token_endpoint(settings: Settings) -> Any:
    async def oauth_token(request: Request) -> JSONResponse:
        rules: list[throttle.Rule] = []
        try:
            fields = await _token_request(request)
            grant = fields.get("grant_type")
            if not grant:
                raise Refused("invalid_request", "grant_type is missing")
            if grant != "client_credentials":
                raise Refused("unsupported_grant_type", "only client_credentials is supported")
            if not fields.get("client_id") or not fields.get("client_secret"):
                raise Refused("invalid_request", "client_id and client_secret are required")
            address = client_address(request, settings.trusted_proxies)
            rules = throttle.credential_rules(settings, "oauth", address, fields["client_id"])
            if (wait := await throttle.retry_after(settings, rules)) is not None:
                return too_many(
                    "too_many_requests", wait,
                    error_description=f"too many failed attempts: try again in {wait} seconds",
                )  # fmt: skip
            token = await sessions.client_credentials(
                settings, client_id=fields["client_id"], client_secret=fields["client_secret"],
                scope=fields.get("scope"),
            )  # fmt: skip
        except Refused as refusal:
            if refusal.code == "invalid_client" and rules:
                await throttle.failed(settings, rules)
            status = 401 if refusal.code == "invalid_client" else 400
            return _oauth_error(refusal.code, refusal.message, status)
        return JSONResponse(
            {
                "access_token": token.access_token,
                "token_type": "Bearer",
                "expires_in": token.expires_in,
                "scope": " ".join(sorted(token.scopes)),
            },
            headers=NO_STORE,
        )

    return oauth_token


def bill_pdf_endpoint(settings: Settings) -> Any:
    async def bill_pdf(request: Request) -> Response:
        query = request.query_params
        if any(len(query.getlist(name)) > 1 for name in ("expires", "sig")):
            return JSONResponse({"error": "each of expires and sig may be given once"}, 400)
        try:
            bill_id = int(request.path_params["bill_id"])
            expires = int(query.get("expires", ""))
        except ValueError:
            return JSONResponse({"error": "not found"}, 404)
        refused = check_link(settings, PURPOSE, bill_id, expires, query.get("sig", ""))
        if refused is not None:
            return JSONResponse({"error": refused}, 403)
        bill = await Bill.get_or_none(id=bill_id)
        found = await pdf_file(settings, bill_id, bill.pdf_path) if bill is not None else None
        if found is None or bill is None:
            return JSONResponse({"error": "this bill has no PDF yet"}, 404)
        name = f"bill-{(bill.number or str(bill.id)).replace('/', '-')}.pdf"
        headers = {
            "Content-Disposition": f'inline; filename="{name}"',
            "Cache-Control": "private, max-age=300",
        }
        if isinstance(found, bytes):
            return Response(found, media_type="application/pdf", headers=headers)
        return FileResponse(found, media_type="application/pdf", headers=headers)

    return bill_pdf
