"""Nightly housekeeping: drop rows whose only remaining purpose has expired.

Expired idempotency keys can never answer a retry again, so they only cost space and
index pages. Refresh tokens are kept 30 days past expiry, because a stale token presented
again is still worth recognising (and investigating) for a while; after that they go too.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jobs.registry import task
from store.models import IdempotencyKey, RefreshToken

REFRESH_TOKEN_RETENTION = timedelta(days=30)


@task(name="housekeeping", periodic_cron="0 3 * * *")
async def housekeeping() -> dict[str, int]:
    now = datetime.now(UTC)
    keys = await IdempotencyKey.filter(expires_at__lt=now).delete()
    tokens = await RefreshToken.filter(expires_at__lt=now - REFRESH_TOKEN_RETENTION).delete()
    return {"idempotency_keys_deleted": keys, "refresh_tokens_deleted": tokens}
