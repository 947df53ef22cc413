"""The per-request GraphQL context: settings now, the viewer and DataLoaders as they arrive."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from gridbill.settings import Settings


@dataclass
class Context:
    settings: Settings
    request: Request | WebSocket
    response: Response | None
