"""Running the sandbox gateway on loopback, in a thread (tests, demo) or in the foreground."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn

from gateway.app import GatewayConfig, GatewayState, create_gateway_app

START_TIMEOUT_S = 10.0


class SandboxGateway:
    """The sandbox in a background thread with its own event loop, on a free loopback port.

    ``with SandboxGateway(config) as gw:`` starts it; ``gw.url`` is the ``base_url`` to
    give the Razorpay SDK; ``gw.state`` is the in-memory state, for inspection.
    """

    def __init__(self, config: GatewayConfig, host: str = "127.0.0.1", port: int = 0) -> None:
        self.config = config
        self.app = create_gateway_app(config)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.host, self.port = self._sock.getsockname()[:2]
        self._server = uvicorn.Server(
            uvicorn.Config(
                self.app, lifespan="on", ws="none", log_level="warning", access_log=False
            )
        )
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def state(self) -> GatewayState:
        state: GatewayState = self.app.state.gateway
        return state

    def start(self) -> SandboxGateway:
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the sandbox gateway did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(START_TIMEOUT_S)
        self._sock.close()

    def __enter__(self) -> SandboxGateway:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def serve_forever(config: GatewayConfig, host: str, port: int) -> None:
    """``gridbill gateway``: serve in the foreground until interrupted."""
    uvicorn.run(create_gateway_app(config), host=host, port=port, log_level="info")
