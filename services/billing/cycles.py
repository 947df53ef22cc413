"""A billing cycle named by its code, as every door names it (``--cycle``, ``cycle:``)."""

from __future__ import annotations

from services.errors import Refused
from store.models import BillingCycle


async def cycle_by_code(code: str) -> BillingCycle:
    """The cycle, or ``UNKNOWN_CYCLE`` naming the cycles that exist, so the caller can retype."""
    found = await BillingCycle.get_or_none(code=code.strip())
    if found is None:
        known = await BillingCycle.all().order_by("code").values_list("code", flat=True)
        listing = ", ".join(str(k) for k in known) or "none yet"
        raise Refused(
            "UNKNOWN_CYCLE", f"no billing cycle {code.strip()!r} (cycles: {listing})", field="cycle"
        )
    return found
