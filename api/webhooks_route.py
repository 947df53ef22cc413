"""``POST /webhooks/razorpay``: the HTTP side of Razorpay's webhooks.

Reads the raw body (the signature covers the exact bytes, so it is never parsed before
verification), hands it to :func:`services.payments.online.handle_webhook` and answers its
status: 200 for handled, repeated or ignored events, 400 for a bad signature or body,
500 when applying failed (Razorpay then retries). The lead mounts it in ``api/app.py``:
``webhook_routes(settings)`` in the routes list.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gridbill.settings import Settings
from services.payments.online import handle_webhook

MAX_WEBHOOK_BYTES = 256 * 1024


def webhook_routes(settings: Settings) -> list[Route]:
    async def razorpay_webhook(request: Request) -> JSONResponse:
        body = await request.body()
        if len(body) > MAX_WEBHOOK_BYTES:
            return JSONResponse({"status": "rejected", "reason": "too large"}, status_code=413)
        result = await handle_webhook(
            settings,
            body=body,
            signature=request.headers.get("x-razorpay-signature", ""),
            event_id=request.headers.get("x-razorpay-event-id", ""),
        )
        status = "ok" if result.status_code == 200 else "rejected"
        return JSONResponse(
            {"status": status, "outcome": result.outcome}, status_code=result.status_code
        )

    return [Route("/webhooks/razorpay", razorpay_webhook, methods=["POST"])]
