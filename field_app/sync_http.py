"""HTTP to the gridbill sync endpoint (``/sync/v1/``), with the standard library only
(``urllib``), so the Android build needs no extra recipe.

Two outcomes besides success, as docs/sync-protocol.md "Errors" defines them:

- :class:`Refused`: a 4xx answer with ``{"error": {"code", "message"}}``; the code is for
  the app's logic, the message for the reader. Sending the same request again will not
  help.
- :class:`Offline`: no answer, a cut connection, a timeout, a 5xx or a body that is not
  complete JSON: the outcome is unknown and the same request is safe to send again.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any


class Offline(Exception):
    """No complete answer from the server: try the same request again later."""


class Refused(Exception):
    """The server answered 4xx; ``code`` and ``message`` are the server's own."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str]) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


@dataclass(frozen=True)
class Credential:
    device_uid: str
    secret: str

    def header(self) -> str:
        return f"Device {self.device_uid}:{self.secret}"


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    data: Any = field(default=None)


class SyncHttp:
    """Requests to one server with one device credential."""

    def __init__(self, base_url: str, credential: Credential, *, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.credential = credential
        self.timeout = timeout

    def request(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, str] | None = None,
        json_body: Any = None,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        url = f"{self.base_url}/sync/v1/{path}"
        if query:
            url += "?" + urllib.parse.urlencode(query)
        all_headers = {"Authorization": self.credential.header(), **(headers or {})}
        if json_body is not None:
            body = json.dumps(json_body, ensure_ascii=False).encode("utf-8")
            all_headers["Content-Type"] = "application/json"
        req = urllib.request.Request(url, data=body, method=method, headers=all_headers)  # noqa: S310  # the URL is the configured server's (http or https)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as answer:  # noqa: S310
                raw = answer.read()
                status, got = answer.status, {k.lower(): v for k, v in answer.headers.items()}
        except urllib.error.HTTPError as exc:
            got = {k.lower(): v for k, v in (exc.headers or {}).items()}
            try:
                raw = exc.read()
            except (OSError, http.client.HTTPException):
                raise Offline(f"the answer was cut ({exc.code})") from None
            if exc.code >= 500:
                raise Offline(f"the server had a problem ({exc.code}): will try again") from None
            code, message = _error_of(raw, exc.code)
            raise Refused(exc.code, code, message, got) from None
        except (TimeoutError, urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", exc)
            raise Offline(f"no connection to {self.base_url}: {reason}") from None
        data = None
        if raw and got.get("content-type", "").startswith("application/json"):
            try:
                data = json.loads(raw)
            except ValueError:
                raise Offline("the answer was cut short: will try again") from None
        return Response(status, got, raw, data)


def _error_of(raw: bytes, status: int) -> tuple[str, str]:
    try:
        error = json.loads(raw)["error"]
        return str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        return f"http_{status}", raw[:200].decode("utf-8", errors="replace") or f"HTTP {status}"
