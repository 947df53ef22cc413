"""SMS through a configurable HTTP provider, under TRAI's DLT rules.

Indian operators deliver a commercial SMS only from a registered sender header and when
its text matches a template registered on the DLT platform, quoted by its template id.
The registrations live in configuration (``GRIDBILL_SMS_TEMPLATES``, a JSON file mapping
``<event>.<language>`` to ``{"template_id": …, "text": …}``). A message whose template has
no id, or whose text does not match the registered text (anywhere but at ``{#var#}``), is
refused here, permanently, instead of being paid for and dropped by the operator.

The request is one JSON POST to ``GRIDBILL_SMS_URL`` with a bearer key, the DLT entity
id, sender, template id, text and an ``Idempotency-Key`` header (see
docs/notifications.md for the exact shape and how to bridge a provider's own API).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import httpx2

from domain.dlt import matches
from gridbill.errors import UserError
from gridbill.settings import Settings
from notifications.channel import Delivery, Outgoing

TIMEOUT_S = 15.0


class SmsConfigError(UserError):
    """The DLT template file is missing or malformed."""


@dataclass(frozen=True)
class Registration:
    template_id: str
    text: str


def load_registrations(path: str) -> dict[str, Registration]:
    """``<event>.<language>`` → registered template; empty when no file is configured."""
    if not path:
        return {}
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        return {
            name: Registration(str(entry["template_id"]), str(entry["text"]))
            for name, entry in raw.items()
            if not name.startswith("_")
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise SmsConfigError(
            f"GRIDBILL_SMS_TEMPLATES={path}: cannot read the DLT templates ({exc}); "
            'it must be JSON like {"bill.issued.en": {"template_id": "1107…", "text": "…{#var#}…"}}'
        ) from None


def check(registrations: dict[str, Registration], message: Outgoing) -> Registration | str:
    """The registration the message may be sent under, or why it may not."""
    name = f"{message.event}.{message.language}"
    registration = registrations.get(name)
    if registration is None or not registration.template_id:
        return f"no DLT template id configured for {name}"
    if not matches(registration.text, message.sms):
        return f"text does not match DLT template {registration.template_id} ({name})"
    return registration


class SmsChannel:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.registrations = load_registrations(settings.sms_templates_path)

    async def send(self, message: Outgoing) -> Delivery:
        s = self.settings
        if not s.sms_url or not s.sms_sender:
            return Delivery.failed(
                "SMS is not configured (GRIDBILL_SMS_URL, GRIDBILL_SMS_SENDER)", permanent=True
            )
        registration = check(self.registrations, message)
        if isinstance(registration, str):
            return Delivery.failed(registration, permanent=True)
        body = {
            "to": message.recipient,
            "sender": s.sms_sender,
            "dlt_entity_id": s.sms_entity_id,
            "dlt_template_id": registration.template_id,
            "text": message.sms,
            "unicode": not message.sms.isascii(),
            "reference": message.key,
        }
        headers = {"Authorization": f"Bearer {s.sms_api_key}", "Idempotency-Key": message.key}
        try:
            async with httpx2.AsyncClient(timeout=TIMEOUT_S) as http:
                response = await http.post(s.sms_url, json=body, headers=headers)
        except httpx2.HTTPError as exc:
            return Delivery.failed(f"{type(exc).__name__}: {exc}")
        answer = f"HTTP {response.status_code}: {response.text}"
        if response.is_success:
            return Delivery.sent(answer)
        permanent = 400 <= response.status_code < 500 and response.status_code not in (408, 429)
        return Delivery.failed(answer, permanent=permanent)
