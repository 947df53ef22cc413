"""Throttles on failed credentials: fixed windows per client address and per (address, credential).

What is counted is *failures* (a wrong password, secret or device credential). Before a
credential is checked, :func:`retry_after` asks whether any of its keys has reached its
limit in the current window; if so the caller answers 429 with ``Retry-After`` and does
not check the credential at all, so guessing stops even for a right guess.

Keys are always scoped by the client address: a stranger who knows a customer's e-mail
can exhaust *their own* address's allowance, never the customer's (there is no
account-wide lock any more). The per-address key also caps one address guessing across
many accounts. See docs/security.md, "Throttles".

State: on PostgreSQL a small table (``throttle_counters``: one row per key and window,
incremented with ``INSERT … ON CONFLICT DO UPDATE``), so every server process shares it;
on SQLite (one process) a dictionary in memory.
"""

from __future__ import annotations

import hashlib
import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass

from tortoise import connections

from gridbill.settings import Settings, Throttle
from store.models import ThrottleCounter

_MAX_MEMORY_KEYS = 50_000


@dataclass(frozen=True, slots=True)
class Rule:
    """One counted key and its limit."""

    key: str
    throttle: Throttle

    def window_start(self, now: float) -> int:
        return int(now // self.throttle.window_s) * self.throttle.window_s


def fingerprint(value: str) -> str:
    """A short stable stand-in for a login or client id: keys never store e-mails."""
    return hashlib.sha256(value.strip().lower().encode()).hexdigest()[:24]


def sign_in_rules(settings: Settings, address: str, login: str) -> list[Rule]:
    return [
        Rule(f"sign-in:addr:{address}", settings.throttle_sign_in_address),
        Rule(f"sign-in:login:{address}:{fingerprint(login)}", settings.throttle_sign_in_login),
    ]


SIGN_UP_PER_ACCOUNT = Throttle(5, 3600)


def sign_up_rules(settings: Settings, address: str, account_number: str) -> list[Rule]:
    """Sign-up proves identity with 4 phone digits: 5 tries an hour per address and account."""
    return [
        Rule(f"sign-up:addr:{address}", settings.throttle_sign_in_address),
        Rule(f"sign-up:acct:{address}:{fingerprint(account_number)}", SIGN_UP_PER_ACCOUNT),
    ]


def credential_rules(settings: Settings, kind: str, address: str, client: str) -> list[Rule]:
    """Device credentials, ingest secrets and OAuth client secrets (``kind`` tells which)."""
    return [
        Rule(f"cred:addr:{address}", settings.throttle_credentials_address),
        Rule(f"cred:{kind}:{address}:{fingerprint(client)}", settings.throttle_credentials_client),
    ]


_memory: dict[tuple[str, int], int] = {}


async def _hits(settings: Settings, rule: Rule, now: float) -> int:
    start = rule.window_start(now)
    if not settings.is_postgres:
        return _memory.get((rule.key, start), 0)
    rows = await ThrottleCounter.filter(key=rule.key, window_start=start).values("hits")
    return int(rows[0]["hits"]) if rows else 0


async def retry_after(
    settings: Settings, rules: Sequence[Rule], *, now: float | None = None
) -> int | None:
    """Seconds to wait if any rule has reached its limit in this window, else None."""
    at = time.time() if now is None else now
    waits = [
        math.ceil(rule.window_start(at) + rule.throttle.window_s - at)
        for rule in rules
        if await _hits(settings, rule, at) >= rule.throttle.limit
    ]
    return max(max(waits), 1) if waits else None


async def failed(settings: Settings, rules: Sequence[Rule], *, now: float | None = None) -> None:
    """Count one failure against every rule."""
    at = time.time() if now is None else now
    for rule in rules:
        start = rule.window_start(at)
        if not settings.is_postgres:
            if len(_memory) >= _MAX_MEMORY_KEYS:
                _forget_expired(at)
            _memory[(rule.key, start)] = _memory.get((rule.key, start), 0) + 1
            continue
        await connections.get("default").execute_query(
            "INSERT INTO throttle_counters (key, window_start, hits, expires_at) "
            "VALUES ($1, $2, 1, $3) ON CONFLICT (key, window_start) "
            "DO UPDATE SET hits = throttle_counters.hits + 1",
            [rule.key[:200], start, start + rule.throttle.window_s],
        )
    if settings.is_postgres and random.random() < 0.01:  # noqa: S311 - housekeeping, not crypto
        await ThrottleCounter.filter(expires_at__lt=int(at)).delete()


def _forget_expired(now: float) -> None:
    """Drop in-memory windows older than a day (and everything, if still too many)."""
    for key in [k for k in _memory if k[1] < now - 86_400]:
        del _memory[key]
    if len(_memory) >= _MAX_MEMORY_KEYS:
        _memory.clear()


def reset_memory() -> None:
    """Forget every in-memory count (tests; a restart does the same)."""
    _memory.clear()
