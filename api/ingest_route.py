"""``POST /ingest/readings``: head-end systems deliver meter readings in bulk.

The caller is a partner client (``partner_clients``) holding the scope
``readings:write``, authenticated with HTTP Basic: ``client_id:client_secret``, the
secret checked against its Argon2 hash. A successful check is remembered for a minute
in this process (keyed by the client, its stored hash and a SHA-256 of the secret), so a
head-end posting file after file does not pay Argon2's deliberate cost every time, and a
rotated secret or a revoked client takes effect at once.

The body is NDJSON (``application/x-ndjson``) or CSV (``text/csv``), read as a stream
and written chunk by chunk (``services.meter_data.ingest``): its size is not limited here and it is
never held in memory whole. The answer counts rows accepted, duplicate, revised and
rejected (with row numbers and reasons); see docs/meter-data.md.

Status codes: 200 with the counts (even when some rows were rejected), 401 with
``WWW-Authenticate`` for missing or wrong credentials, 429 with ``Retry-After`` after
too many wrong ones from one address, 403 without the scope, 415 for
another content type, 422 when the delivery cannot be read at all (a CSV header without
the columns it needs).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time
from functools import lru_cache

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.client_address import client_address
from api.http import too_many
from gridbill.passwords import hash_secret, verify_secret
from gridbill.settings import Settings
from services.identity import throttle
from services.meter_data.ingest import Format, IngestError, ingest
from services.meter_data.vee_config import VeeConfigError, load_config
from store.models import PartnerClient

PATH = "/ingest/readings"
SCOPE = "readings:write"
REALM = 'Basic realm="gridbill ingest", charset="UTF-8"'
CONTENT_TYPES = {
    "application/x-ndjson": Format.NDJSON,
    "application/jsonl": Format.NDJSON,
    "application/ndjson": Format.NDJSON,
    "text/csv": Format.CSV,
}
CACHE_SECONDS = 60.0

_verified: dict[tuple[int, str, str], float] = {}


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Checked against when the client id is unknown, so both failures take as long."""
    return hash_secret("no such client")


def _unauthorized(message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=401, headers={"WWW-Authenticate": REALM})


def _credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):  # binascii.Error, or non-ASCII input
        return None
    client_id, sep, secret = decoded.partition(":")
    if not sep or not client_id or not secret:
        return None
    return client_id, secret


async def authenticate(request: Request, settings: Settings) -> PartnerClient | Response:
    """The partner client, or the 401/403/429 response to send instead.

    Wrong secrets are throttled per address and per (address, client id): 429 with
    ``Retry-After`` once over the limit (``services.identity.throttle``).
    """
    credentials = _credentials(request)
    if credentials is None:
        return _unauthorized("send HTTP Basic credentials: client_id:client_secret")
    client_id, secret = credentials
    address = client_address(request, settings.trusted_proxies)
    rules = throttle.credential_rules(settings, "ingest", address, client_id)
    if (wait := await throttle.retry_after(settings, rules)) is not None:
        return too_many(f"too many failed attempts: try again in {wait} seconds", wait)
    client = await PartnerClient.get_or_none(client_id=client_id[:64])
    if client is None or not client.is_active:
        await asyncio.to_thread(verify_secret, _dummy_hash(), secret)
        await throttle.failed(settings, rules)
        return _unauthorized("unknown client or wrong secret")
    fingerprint = hashlib.sha256(secret.encode()).hexdigest()
    key = (client.id, client.secret_hash, fingerprint)
    now = time.monotonic()
    if _verified.get(key, 0.0) <= now:
        if not await asyncio.to_thread(verify_secret, client.secret_hash, secret):
            await throttle.failed(settings, rules)
            return _unauthorized("unknown client or wrong secret")
        if len(_verified) > 1000:
            _verified.clear()
        _verified[key] = now + CACHE_SECONDS
    if not any(hmac.compare_digest(str(s), SCOPE) for s in client.scopes or []):
        return JSONResponse(
            {"error": f"this client may not deliver readings: it needs the scope {SCOPE}"},
            status_code=403,
        )
    return client


def ingest_route(settings: Settings) -> Route:
    """The route, for ``create_app`` to mount: ``ingest_route(settings)``."""

    async def ingest_readings(request: Request) -> Response:
        client = await authenticate(request, settings)
        if isinstance(client, Response):
            return client
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        fmt = CONTENT_TYPES.get(media_type)
        if fmt is None:
            return JSONResponse({"error": "send application/x-ndjson or text/csv"}, status_code=415)
        try:
            config = load_config(settings)
        except VeeConfigError as exc:
            return JSONResponse({"error": str(exc)}, status_code=503)
        try:
            result = await ingest(
                request.stream(),
                fmt=fmt,
                config=config,
                zone=settings.zone,
                label=f"partner:{client.id}",
            )
        except IngestError as exc:
            written = exc.result.as_dict() if exc.result is not None else {}
            return JSONResponse({"error": str(exc), **written}, status_code=422)
        return JSONResponse(result.as_dict())

    return Route(PATH, ingest_readings, methods=["POST"])
