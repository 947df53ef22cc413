"""The id of the request being served, for every log line and audit row it causes.

It lives at the bottom of the layers because both the logs (foundation) and the audit log
(services) read it, and the HTTP middleware sets it.
"""

from contextvars import ContextVar

request_id: ContextVar[str] = ContextVar("gridbill_request_id", default="")
