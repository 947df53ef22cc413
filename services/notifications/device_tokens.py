"""Push registrations: the FCM tokens of a signed-in person's apps.

A token belongs to one app install; when the same install signs in as someone else, the
token moves to them, so a shared phone never shows the previous person's notifications.
"""

from __future__ import annotations

from services.errors import Refused
from store.models import DeviceToken

PLATFORMS = ("android", "ios", "web")
MAX_TOKEN = 400


async def register(user_id: int, token: str, platform: str) -> DeviceToken:
    token = token.strip()
    if not token or len(token) > MAX_TOKEN or any(c.isspace() for c in token):
        raise Refused(
            "INVALID_INPUT", f"give the FCM registration token (1 to {MAX_TOKEN} characters)",
            field="token",
        )  # fmt: skip
    if platform not in PLATFORMS:
        raise Refused(
            "INVALID_INPUT", f"platform must be one of {', '.join(PLATFORMS)}", field="platform"
        )
    found = await DeviceToken.get_or_none(token=token)
    if found is None:
        return await DeviceToken.create(user_id=user_id, token=token, platform=platform)
    found.user_id = user_id
    found.platform = platform
    await found.save(update_fields=["user_id", "platform", "updated_at"])
    return found


async def unregister(user_id: int, token: str) -> bool:
    return bool(await DeviceToken.filter(user_id=user_id, token=token.strip()).delete())
