"""The sync endpoint's HTTP routes (Starlette), mounted by the app under ``/sync``.

Thin: authenticate the device, read the body within its limit, call the use case, turn
its answer into JSON. Errors are ``{"error": {"code", "message"}}`` with a 4xx status.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api.client_address import client_address
from gridbill.settings import Settings
from services.field import photos as field_photos
from services.field.photos import PhotoRefused
from services.identity import throttle
from services.meter_data.vee_config import load_config
from store.models import FieldDevice
from sync import devices, photos
from sync.batches import BatchConflict
from sync.protocol import BadBatch, parse_batch
from sync.pull import BadCursor, BadLimit, pull
from sync.push import push


class HTTPProblem(Exception):
    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def _error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=headers
    )


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPProblem(413, "too_large", f"the body is over {limit} bytes: send smaller batches")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPProblem(
                413, "too_large", f"the body is over {limit} bytes: send smaller batches"
            )
        chunks.append(chunk)
    return b"".join(chunks)


def sync_routes(settings: Settings) -> list[BaseRoute]:
    """The routes, bound to ``settings``: ``Mount("/sync", routes=sync_routes(settings))``."""

    async def device_of(request: Request) -> FieldDevice:
        header = request.headers.get("authorization")
        address = client_address(request, settings.trusted_proxies)
        uid = devices.claimed_uid(header)
        rules = throttle.credential_rules(settings, "device", address, uid)
        if (wait := await throttle.retry_after(settings, rules)) is not None:
            message = f"too many failed attempts: try again in {wait} seconds"
            raise HTTPProblem(429, "too_many_attempts", message, {"Retry-After": str(wait)})
        try:
            return await devices.authenticate(header, cache_ttl_s=settings.sync_auth_cache_ttl_s)
        except devices.AuthFailed as exc:
            if exc.code == "bad_credentials":
                await throttle.failed(settings, rules)
            raise HTTPProblem(
                401, exc.code, exc.message, {"WWW-Authenticate": 'Device realm="gridbill-sync"'}
            ) from None

    def handler(fn: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            try:
                return await fn(request)  # type: ignore[no-any-return]
            except HTTPProblem as exc:
                return _error(exc.status, exc.code, exc.message, exc.headers)
            except (PhotoRefused, photos.PhotoError) as caught:
                error = photos.PhotoError.of(caught) if isinstance(caught, PhotoRefused) else caught
                offset = error.offset
                headers = {"Upload-Offset": str(offset)} if offset is not None else None
                return _error(error.status, error.code, error.message, headers)
            except ClientDisconnect:
                return Response(status_code=400)

        return endpoint

    async def do_pull(request: Request) -> Response:
        device = await device_of(request)
        try:
            limit = int(request.query_params.get("limit", "200"))
        except ValueError:
            raise HTTPProblem(400, "bad_limit", "limit must be a whole number") from None
        try:
            page = await pull(
                device,
                request.query_params.get("cursor"),
                limit=limit,
                zone=settings.zone,
                settle_s=settings.sync_pull_settle_s,
            )
        except BadCursor as exc:
            raise HTTPProblem(400, "bad_cursor", str(exc)) from None
        except BadLimit as exc:
            raise HTTPProblem(400, "bad_limit", str(exc)) from None
        return JSONResponse(page)

    async def do_push(request: Request) -> Response:
        # The clock offset is measured against the moment the request arrived, before the
        # credential check (Argon2 can take a second) and the body upload.
        arrived_at = datetime.now(UTC)
        device = await device_of(request)
        body = await _body(request, settings.sync_max_body_bytes)
        try:
            batch = parse_batch(body)
        except BadBatch as exc:
            raise HTTPProblem(400, exc.code, exc.message) from None
        try:
            result = await push(
                device,
                batch,
                zone=settings.zone,
                postgres=settings.is_postgres,
                received_at=arrived_at,
                vee_config=load_config(settings),
            )
        except BatchConflict as exc:
            raise HTTPProblem(409, "batch_conflict", str(exc)) from None
        return JSONResponse(result.as_json())

    async def declare_photo(request: Request) -> Response:
        device = await device_of(request)
        declaration = photos.parse_declaration(await _body(request, 4096))
        state = await field_photos.declare(
            device, declaration, max_bytes=settings.sync_max_photo_bytes, root=settings.var_dir
        )
        return JSONResponse(
            photos.state_json(state), headers={"Upload-Offset": str(state.bytes_received)}
        )

    def _photo_uuid(request: Request) -> UUID:
        try:
            return UUID(request.path_params["photo_uuid"])
        except ValueError:
            raise HTTPProblem(404, "unknown_photo", "not a photo UUID") from None

    async def photo_status(request: Request) -> Response:
        device = await device_of(request)
        state = await field_photos.status(device, _photo_uuid(request))
        headers = {"Upload-Offset": str(state.bytes_received), "Cache-Control": "no-store"}
        if request.method == "HEAD":
            return Response(status_code=200, headers=headers)
        return JSONResponse(photos.state_json(state), headers=headers)

    async def photo_chunk(request: Request) -> Response:
        device = await device_of(request)
        photo_uuid = _photo_uuid(request)
        offset_text = request.headers.get("upload-offset", "")
        if not offset_text.isdigit():
            raise HTTPProblem(400, "bad_offset", "send Upload-Offset: <bytes already uploaded>")
        chunk = await _body(request, settings.sync_max_photo_bytes)
        state = await field_photos.append(device, photo_uuid, offset=int(offset_text), chunk=chunk)
        return JSONResponse(
            photos.state_json(state), headers={"Upload-Offset": str(state.bytes_received)}
        )

    return [
        Route("/v1/pull", handler(do_pull), methods=["GET"]),
        Route("/v1/push", handler(do_push), methods=["POST"]),
        Route("/v1/photos", handler(declare_photo), methods=["POST"]),
        Route("/v1/photos/{photo_uuid}", handler(photo_status), methods=["GET", "HEAD"]),
        Route("/v1/photos/{photo_uuid}", handler(photo_chunk), methods=["PATCH"]),
    ]
