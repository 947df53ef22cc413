"""Storing tariff orders as immutable, dated versions, and putting accounts on them.

A version is validated by the tariff engine before it is stored, so nothing unpriceable
ever reaches a bill run. Versions are never edited: a new order is a new version, which
closes the previous one the day it takes effect. Each operation writes its audit row in
its own transaction, whichever door it came through (GraphQL, ``gridbill tariff``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from tortoise.transactions import in_transaction

from domain.tariff import TariffError, parse_tariff
from gridbill.errors import UserError
from services import audit
from services.viewer import Viewer
from store.models import Account, Tariff, TariffAssignment, TariffVersion


class TariffVersionError(UserError):
    """A tariff version or assignment that cannot be stored; the message says why."""


@dataclass(frozen=True)
class StoredVersion:
    code: str
    version: int
    effective_from: date
    sha256: str
    closed_previous: int | None
    tariff_id: int = 0
    version_id: int = 0


def canonical_json(document: Mapping[str, Any]) -> str:
    """One spelling per document, so equal documents hash equal (Decimals as strings)."""

    def default(value: object) -> str:
        if isinstance(value, Decimal):
            return str(value)
        raise TypeError(f"not JSON: {type(value).__name__}")

    return json.dumps(document, sort_keys=True, separators=(",", ":"), default=default)


def document_sha256(document: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(document).encode()).hexdigest()


async def add_version(
    actor: Viewer,
    *,
    document: Mapping[str, Any],
    effective_from: date,
    category: str,
    source_reference: str = "",
) -> StoredVersion:
    """Validate and store a new version of the tariff the document names."""
    try:
        parsed = parse_tariff(document)
    except TariffError as exc:
        raise TariffVersionError(f"tariff document rejected: {exc}") from None
    stored = json.loads(canonical_json(document))  # JSON column: Decimals kept as strings
    async with in_transaction():
        tariff, _ = await Tariff.get_or_create(
            code=parsed.code,
            defaults={"name": parsed.name, "category": category, "currency": parsed.currency},
        )
        latest = await TariffVersion.filter(tariff=tariff).order_by("-version").first()
        if latest is not None and effective_from <= latest.effective_from:
            raise TariffVersionError(
                f"{parsed.code} version {latest.version} already takes effect on "
                f"{latest.effective_from}: a new version must start after it"
            )
        if latest is not None:
            await TariffVersion.filter(id=latest.id).update(effective_to=effective_from)
        version = await TariffVersion.create(
            tariff=tariff,
            version=(latest.version + 1) if latest else 1,
            effective_from=effective_from,
            document=stored,
            document_sha256=document_sha256(stored),
            source_reference=source_reference or parsed.source,
            created_by_id=actor.user_id,
        )
        await audit.record(
            viewer=actor, action="tariff.version_created", entity="tariff", entity_id=tariff.id,
            after={"code": parsed.code, "version": version.version,
                   "effective_from": effective_from, "sha256": version.document_sha256},
        )  # fmt: skip
    return StoredVersion(
        code=parsed.code,
        version=version.version,
        effective_from=effective_from,
        sha256=version.document_sha256,
        closed_previous=latest.version if latest else None,
        tariff_id=tariff.id,
        version_id=version.id,
    )


async def assign(
    actor: Viewer, *, account_number: str, tariff_code: str, effective_from: date
) -> Tariff:
    """Put an account on a tariff from a date, closing the assignment it replaces."""
    async with in_transaction():
        account = await Account.get_or_none(number=account_number)
        if account is None:
            raise TariffVersionError(f"no account numbered {account_number}")
        tariff = await Tariff.get_or_none(code=tariff_code)
        if tariff is None:
            raise TariffVersionError(f"no tariff with code {tariff_code}")
        current = await TariffAssignment.filter(account=account).order_by("-effective_from").first()
        if current is not None and effective_from <= current.effective_from:
            await current.fetch_related("tariff")
            raise TariffVersionError(
                f"account {account_number} is on {current.tariff.code} from "
                f"{current.effective_from}: a new assignment must start after it"
            )
        if current is not None:
            await TariffAssignment.filter(id=current.id).update(effective_to=effective_from)
        await TariffAssignment.create(account=account, tariff=tariff, effective_from=effective_from)
        await audit.record(
            viewer=actor, action="account.tariff_assigned", entity="account", entity_id=account.id,
            after={"tariff": tariff.code, "effective_from": effective_from},
        )  # fmt: skip
    return tariff
