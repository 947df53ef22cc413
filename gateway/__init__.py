"""A sandbox of the parts of Razorpay's HTTP API gridbill uses, for the demo and the tests.

``gridbill gateway`` serves it on loopback; tests run it in a thread
(:class:`gateway.server.SandboxGateway`). Point ``RAZORPAY_BASE_URL`` at it and the
official SDK talks to it exactly as it talks to Razorpay. Never used in production.
"""

from gateway.app import GatewayConfig, create_gateway_app, sign_payment, sign_webhook
from gateway.server import SandboxGateway

__all__ = ["GatewayConfig", "SandboxGateway", "create_gateway_app", "sign_payment", "sign_webhook"]
