"""Signed, expiring links to bill PDFs, and finding the file a link points at.

A link is ``{base_url}/bills/{id}/pdf?expires=…&sig=…``: an HMAC-SHA256 (keyed by
``GRIDBILL_SECRET_KEY``) over the bill id and expiry. Anyone holding the link can
download until it expires, so it is only handed to callers who may see the bill, and it
is short-lived (``GRIDBILL_DOWNLOAD_LINK_TTL``).

The PDF itself is the bill documents module's business: ``services.billing.documents.pdf_for``
(which renders an issued bill's PDF on first request), otherwise the file recorded in
``Bill.pdf_path`` (relative to ``GRIDBILL_VAR_DIR`` unless absolute).
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
from pathlib import Path
from typing import Any, Protocol

from domain.enums import BillStatus
from gridbill.errors import UserError
from gridbill.settings import Settings
from services.identity.tokens import sign_link

PURPOSE = "bill-pdf"


class BillLike(Protocol):
    id: int
    status: BillStatus
    pdf_path: str


def _documents_module() -> Any | None:
    try:
        return importlib.import_module("services.billing.documents")
    except ImportError:
        return None


def pdf_available(bill: BillLike) -> bool:
    if bill.status not in (BillStatus.ISSUED, BillStatus.CANCELLED):
        return False
    if bill.pdf_path:
        return True
    module = _documents_module()
    return module is not None and hasattr(module, "pdf_for")


def bill_pdf_url(settings: Settings, bill: BillLike) -> str | None:
    if not pdf_available(bill):
        return None
    expires, signature = sign_link(settings, PURPOSE, int(bill.id))
    return f"{settings.base_url}/bills/{bill.id}/pdf?expires={expires}&sig={signature}"


async def pdf_file(settings: Settings, bill_id: int, pdf_path: str) -> Path | bytes | None:
    """The PDF's file (or bytes), or None when there is none (yet)."""
    module = _documents_module()
    pdf_for = getattr(module, "pdf_for", None) if module is not None else None
    if pdf_for is not None:
        try:
            found = pdf_for(bill_id, settings)
            if inspect.isawaitable(found):
                found = await found
        except UserError:  # no such bill, a draft, nothing to render from
            return None
        if isinstance(found, bytes):
            return found
        if found is not None:
            path = Path(found)
            return path if await asyncio.to_thread(path.is_file) else None
    if not pdf_path:
        return None
    path = Path(pdf_path)
    if not path.is_absolute():
        path = settings.var_dir / path
    return path if await asyncio.to_thread(path.is_file) else None
