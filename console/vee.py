"""VEE review: the exception queue, a chart of the flagged data, and the decision.

Decisions call ``services.meter_data.vee_review`` (what GraphQL's accept, reject and
replace mutations call) with the signed-in staff member, so the audit rows match.
Rejecting a value makes the bill run estimate instead of it: the console calls it
"reject and estimate".
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from console.pages import Console, Form
from console.session import Staff
from domain.enums import ExceptionStatus
from services.errors import NotFound
from services.meter_data import vee_review
from store.models import IntervalReading, RegisterRead, ValidationException

QUEUE_SHOWN = 100
READS_AROUND = 12


async def queue_page(console: Console, request: Request, staff: Staff, form: Form) -> Response:
    rule = request.query_params.get("rule") or None
    exceptions = (
        await vee_review.queue(rule=rule)
        .order_by("-id")
        .limit(QUEUE_SHOWN)
        .prefetch_related("meter")
    )
    return console.render(
        "vee_queue.html", staff, counts=await vee_review.counts(), rule=rule,
        exceptions=exceptions, shown=QUEUE_SHOWN, done=request.query_params.get("done", ""),
    )  # fmt: skip


async def _interval_bars(
    console: Console, reading: IntervalReading
) -> list[tuple[str, int, str, bool]]:
    """The flagged interval's whole local day on its channel, the flagged bar marked."""
    zone = console.settings.zone
    local = reading.interval_start.astimezone(zone)
    start = datetime(local.year, local.month, local.day, tzinfo=zone)
    day = await IntervalReading.filter(
        register_id=reading.register_id,  # type: ignore[attr-defined]
        interval_start__gte=start, interval_start__lt=start + timedelta(days=1),
    ).order_by("interval_start")  # fmt: skip
    return [
        (f"{r.interval_start.astimezone(zone):%H:%M}", r.value_wh, f"{r.value_wh} Wh ({r.quality.value})",
         r.id == reading.id)
        for r in day
    ]  # fmt: skip


async def _read_bars(console: Console, read: RegisterRead) -> list[tuple[str, int, str, bool]]:
    """The flagged read with the reads around it on its register."""
    zone = console.settings.zone
    register_id = read.register_id  # type: ignore[attr-defined]
    before = (
        await RegisterRead.filter(register_id=register_id, read_at__lt=read.read_at)
        .order_by("-read_at")
        .limit(READS_AROUND)
    )
    after = (
        await RegisterRead.filter(register_id=register_id, read_at__gt=read.read_at)
        .order_by("read_at")
        .limit(READS_AROUND)
    )
    reads = [*reversed(before), read, *after]
    return [
        (f"{r.read_at.astimezone(zone):%d %b %y}", r.value_milli, f"{r.value_milli / 1000:g} ({r.quality.value})",
         r.id == read.id)
        for r in reads
    ]  # fmt: skip


async def exception_page(console: Console, request: Request, staff: Staff, form: Form) -> Response:
    found = await ValidationException.get_or_none(id=int(request.path_params["exception_id"])).prefetch_related(
        "meter", "interval_reading", "register_read"
    )  # fmt: skip
    if found is None:
        raise NotFound("validation exception")
    bars: list[tuple[str, int, str, bool]] = []
    value: Any = None
    if found.interval_reading is not None:
        bars = await _interval_bars(console, found.interval_reading)
        value = f"{found.interval_reading.value_wh} Wh"
    elif found.register_read is not None:
        bars = await _read_bars(console, found.register_read)
        value = f"{found.register_read.value_milli / 1000:g}"
    return console.render(
        "vee_exception.html", staff, exception=found, bars=bars, value=value,
        open=found.status == ExceptionStatus.OPEN,
    )  # fmt: skip


def _decided(request: Request, what: str) -> Response:
    return RedirectResponse(
        f"/console/vee?done={what}+{request.path_params['exception_id']}", status_code=303
    )


async def accept(console: Console, request: Request, staff: Staff, form: Form) -> Response:
    await vee_review.accept(
        staff.viewer, exception_id=int(request.path_params["exception_id"]),
        reason=form.get("reason", ""), settings=console.settings,
    )  # fmt: skip
    return _decided(request, "accepted")


async def reject(console: Console, request: Request, staff: Staff, form: Form) -> Response:
    await vee_review.reject(
        staff.viewer, exception_id=int(request.path_params["exception_id"]),
        reason=form.get("reason", ""), settings=console.settings,
    )  # fmt: skip
    return _decided(request, "rejected")


async def replace(console: Console, request: Request, staff: Staff, form: Form) -> Response:
    await vee_review.replace(
        staff.viewer, exception_id=int(request.path_params["exception_id"]),
        value=form.get("value", ""), reason=form.get("reason", ""), settings=console.settings,
    )  # fmt: skip
    return _decided(request, "replaced")
