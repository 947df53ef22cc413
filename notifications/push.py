"""Push through Firebase Cloud Messaging's HTTP v1 API, to every app a user registered.

Authentication is Google's service-account flow: a JWT signed with the account's private
key (RS256) is exchanged at the OAuth token URL for a one-hour access token, kept until
shortly before it expires. Both that URL and the API's base URL are configurable, so tests
(and an air-gapped staging) point them at a loopback receiver. FCM has no idempotency
header: the message's stable key travels in ``data.key`` for the app to drop repeats. A
token FCM reports as unregistered is forgotten.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx2
import jwt

from gridbill.settings import Settings
from notifications.channel import Delivery, Outgoing
from store.models import DeviceToken

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
TIMEOUT_S = 15.0
TOKEN_MARGIN_S = 60


class PushChannel:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._token: tuple[str, float] | None = None

    def _credentials(self) -> dict[str, Any]:
        return dict(json.loads(Path(self.settings.fcm_credentials_path).read_text("utf-8")))

    async def _access_token(self, http: httpx2.AsyncClient) -> str:
        if self._token and self._token[1] > time.time() + TOKEN_MARGIN_S:
            return self._token[0]
        account = self._credentials()
        now = int(time.time())
        assertion = jwt.encode(
            {
                "iss": account["client_email"],
                "scope": SCOPE,
                "aud": self.settings.fcm_token_url,
                "iat": now,
                "exp": now + 3600,
            },
            account["private_key"],
            algorithm="RS256",
            headers={"kid": account.get("private_key_id", "")},
        )
        response = await http.post(
            self.settings.fcm_token_url,
            data={
                "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                "assertion": assertion,
            },
        )
        response.raise_for_status()
        answer = response.json()
        self._token = (str(answer["access_token"]), now + float(answer.get("expires_in", 3600)))
        return self._token[0]

    async def send(self, message: Outgoing) -> Delivery:
        s = self.settings
        if not (s.fcm_project_id and s.fcm_credentials_path):
            return Delivery.failed(
                "push is not configured (GRIDBILL_FCM_PROJECT_ID, GRIDBILL_FCM_CREDENTIALS)",
                permanent=True,
            )
        user_id = int(message.recipient.removeprefix("user:"))
        tokens = await DeviceToken.filter(user_id=user_id).values_list("token", flat=True)
        if not tokens:
            return Delivery.failed("the user has no registered device", permanent=True)
        url = f"{s.fcm_base_url}/v1/projects/{s.fcm_project_id}/messages:send"
        answers, delivered = [], 0
        try:
            async with httpx2.AsyncClient(timeout=TIMEOUT_S) as http:
                bearer = await self._access_token(http)
                for token in tokens:
                    response = await http.post(
                        url,
                        headers={"Authorization": f"Bearer {bearer}"},
                        json={
                            "message": {
                                "token": token,
                                "notification": {"title": message.subject, "body": message.sms},
                                "data": {"event": message.event, "key": message.key},
                            }
                        },
                    )
                    answers.append(f"HTTP {response.status_code}: {response.text}")
                    if response.is_success:
                        delivered += 1
                    elif response.status_code == 404 and "UNREGISTERED" in response.text:
                        await DeviceToken.filter(token=token).delete()
        except (httpx2.HTTPError, KeyError, ValueError, OSError) as exc:
            return Delivery.failed(f"{type(exc).__name__}: {exc}")
        summary = f"{delivered}/{len(tokens)} devices; " + " | ".join(answers)
        return Delivery.sent(summary) if delivered else Delivery.failed(summary)
