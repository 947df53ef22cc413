"""Telling a meter reader what became of their read: through the messages their device pulls.

Readers hear of a read the office rejected, or replaced with its own value (a conflict
their read lost), as a reader message (``reader_messages``), written in the transaction of
the decision and delivered by the next field sync pull, never by e-mail, SMS or push.
"""

from __future__ import annotations

from decimal import Decimal

from store.models import ReaderMessage, Register, RegisterRead


async def tell_reader_about(
    read: RegisterRead, *, outcome: str, reason: str
) -> ReaderMessage | None:
    """``outcome`` is ``rejected`` or ``replaced``; nothing for reads no reader captured."""
    reader_id = read.captured_by_id  # type: ignore[attr-defined]
    if reader_id is None:
        return None
    register = await Register.get(id=read.register_id).prefetch_related("meter")  # type: ignore[attr-defined]
    shown = Decimal(read.value_milli) / 1000
    what = (
        "was rejected by the office"
        if outcome == "rejected"
        else f"was replaced by the office with {shown} {register.unit}"
    )
    body = (
        f"Your read of meter {register.meter.serial} ({register.obis_code}) taken "
        f"{read.read_at:%Y-%m-%d %H:%M} UTC {what}. Reason: {reason or 'not given'}."
    )
    return await ReaderMessage.create(reader_id=reader_id, body=body[:2000])
