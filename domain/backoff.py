"""Retry delays: exponential, capped, so a provider that is down is not hammered."""

from __future__ import annotations

from datetime import timedelta


def retry_delay(attempt: int, *, base_s: int, cap_s: int) -> timedelta:
    """The wait after failed attempt number ``attempt`` (1-based): base, 2×base, 4×base…"""
    if attempt < 1:
        raise ValueError("attempt numbers start at 1")
    return timedelta(seconds=min(cap_s, base_s * 2 ** min(attempt - 1, 30)))
