"""The per-request GraphQL context: settings, the caller, DataLoaders and the request id."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

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

    def renew_loaders(self) -> None:
        """A subscription's context lives as long as its socket: start each event afresh."""
        self.loaders = Loaders()
