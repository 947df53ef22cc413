"""``gridbill gateway``: run the sandbox Razorpay-compatible gateway on loopback.

For the demo and manual testing only. It takes the same ``RAZORPAY_KEY_ID``,
``RAZORPAY_KEY_SECRET`` and ``RAZORPAY_WEBHOOK_SECRET`` as the server, so the server
(with ``RAZORPAY_BASE_URL`` pointing here) and the sandbox agree on every signature.
"""

from __future__ import annotations

import argparse
from typing import Any

from cli.commands import help_for
from gridbill.errors import UserError
from gridbill.ports import ensure_free
from gridbill.settings import Settings

LOOPBACK = ("127.0.0.1", "localhost", "::1")


class GatewayCommandError(UserError):
    """The sandbox gateway cannot start as asked."""


def add_parser(subparsers: Any) -> None:
    """Add ``gateway`` to the ``gridbill`` command's subparsers."""
    p = subparsers.add_parser(
        "gateway",
        help=help_for("gateway"),
        description="Serve a loopback imitation of Razorpay's orders, payments and refunds "
        "API, simulate checkout, and send signed webhooks to gridbill. See docs/payments.md.",
    )
    p.add_argument("--host", default="127.0.0.1", help="loopback address to listen on")
    p.add_argument("--port", type=int, default=8100)
    p.add_argument(
        "--webhook-url",
        metavar="URL",
        help="where to send webhooks (default: GRIDBILL_BASE_URL/webhooks/razorpay)",
    )
    p.add_argument("--retry-base", type=float, default=1.0, metavar="S", help="first retry delay")
    p.add_argument("--duplicate", action="store_true", help="deliver every webhook twice")
    p.add_argument("--out-of-order", action="store_true", help="deliver each batch reversed")
    p.add_argument("--drop-webhooks", action="store_true", help="never send webhooks")
    p.set_defaults(handler=cmd_gateway)


def cmd_gateway(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.app import GatewayConfig
    from gateway.server import serve_forever

    if args.host not in LOOPBACK:
        raise GatewayCommandError("the sandbox gateway only listens on loopback (--host 127.0.0.1)")
    if settings.is_production:
        raise GatewayCommandError("the sandbox gateway is not for GRIDBILL_ENV=production")
    if not settings.razorpay_key_secret or not settings.razorpay_webhook_secret:
        raise GatewayCommandError(
            "set RAZORPAY_KEY_SECRET and RAZORPAY_WEBHOOK_SECRET (the same values as the server)"
        )
    config = GatewayConfig(
        key_id=settings.razorpay_key_id,
        key_secret=settings.razorpay_key_secret,
        webhook_secret=settings.razorpay_webhook_secret,
        webhook_url=args.webhook_url or f"{settings.base_url}/webhooks/razorpay",
        retry_base_s=args.retry_base,
        duplicate=args.duplicate,
        out_of_order=args.out_of_order,
        drop_webhooks=args.drop_webhooks,
    )
    ensure_free(args.host, args.port, what="sandbox gateway port")
    print(f"sandbox gateway on http://{args.host}:{args.port} → webhooks to {config.webhook_url}")
    serve_forever(config, args.host, args.port)
    return 0
