"""The per-request GraphQL context: settings, the caller, DataLoaders and the request id."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from api.client_address import client_address
from api.loaders import Loaders
from gridbill.settings import Settings
from services.viewer import Viewer, anonymous


@dataclass
class Context:
    settings: Settings
    request: Request | WebSocket
    response: Response | None
    viewer: Viewer = field(default_factory=anonymous)
    auth_error: str | None = None  # why a presented token was refused, for UNAUTHENTICATED
    request_id: str = ""
    loaders: Loaders = field(default_factory=Loaders)
    connection_params: dict[str, Any] | None = None  # graphql-transport-ws connection_init

    @property
    def today(self) -> date:
        """Today in the utility's time zone (billing dates are local dates)."""
        return datetime.now(self.settings.zone).date()

    @property
    def user_agent(self) -> str:
        return self.request.headers.get("user-agent", "")[:300]

    @property
    def client_address(self) -> str:
        """The caller's address, through trusted proxies only (``api.client_address``)."""
        return client_address(self.request, self.settings.trusted_proxies)

    def too_many_requests(self, retry_after_s: int) -> None:
        """Answer HTTP 429 with Retry-After (the body still carries the typed error)."""
        if self.response is not None:
            self.response.status_code = 429
            self.response.headers["Retry-After"] = str(retry_after_s)

    def renew_loaders(self) -> None:
        """A subscription's context lives as long as its socket: start each event afresh."""
        self.loaders = Loaders()
