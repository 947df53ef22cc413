"""Editing (the last E of VEE): staff decide on the values the rules flagged.

Every rule that makes a value suspect opens a ``validation_exceptions`` row. Staff see
the queue with counts per rule (:func:`counts`, :func:`queue`) and decide, always with a
reason:

* **accept**: the value is right after all; it becomes valid (once no other open
  exception holds it) and counts for usage and billing;
* **reject**: the value is wrong; it becomes rejected and never counts (a bill run
  estimates instead);
* **replace**: staff enter the right value; the old one is kept as a revision, the new
  one is ``edited`` (source ``staff``).

A whole-day verdict (high, low or zero use) applies to that day's suspect intervals; a
gap's verdict to the intervals estimated into it (accept keeps the estimates). Every
decision is written to the audit log in the same transaction, and the usage aggregates
of the days it touches are recomputed. Billed reads are never changed here: a correction
of a billed read is a bill adjustment.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

from tortoise.connection import get_connection
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from domain.enums import ExceptionStatus, ReadQuality, ReadSource
from domain.vee import Rule, VeeConfig, review_outcome
from gridbill.settings import Settings
from services import audit
from services.errors import NotFound, Refused
from services.field.reader_messages import tell_reader_about
from services.meter_data import aggregates
from services.meter_data.reads import keep_revision
from services.meter_data.registers import RegisterCatalog
from services.meter_data.vee_config import load_config
from services.viewer import Viewer
from store.models import (
    BilledSpan,
    IntervalReading,
    IntervalReadingRevision,
    RegisterRead,
    ValidationException,
)
from store.sql import Sql, as_dt

DAY_RULES = frozenset({Rule.HIGH_CONSUMPTION, Rule.LOW_CONSUMPTION, Rule.ZERO_CONSUMPTION})
MAX_REASON = 2000


async def counts(*, status: ExceptionStatus = ExceptionStatus.OPEN) -> dict[str, int]:
    """Exceptions per rule in one status (open by default), largest first."""
    rows = await Sql(get_connection("default")).rows(
        "SELECT rule, COUNT(*) AS n FROM validation_exceptions WHERE status = ? "
        "GROUP BY rule ORDER BY n DESC, rule",
        [status.value],
    )
    return {str(r["rule"]): int(r["n"]) for r in rows}


def queue(
    *,
    status: ExceptionStatus | None = ExceptionStatus.OPEN,
    rule: str | None = None,
    meter_id: int | None = None,
) -> QuerySet[ValidationException]:
    """The exceptions to page through (newest first is the caller's choice)."""
    queryset = ValidationException.all()
    if status is not None:
        queryset = queryset.filter(status=status)
    if rule:
        queryset = queryset.filter(rule=rule)
    if meter_id is not None:
        queryset = queryset.filter(meter_id=meter_id)
    return queryset


@dataclass(frozen=True)
class Decision:
    exception: ValidationException
    changed: int  # reads or intervals whose quality or value changed


def _reason(reason: str) -> str:
    text = reason.strip()
    if not text:
        raise Refused("INVALID_INPUT", "give the reason for the decision", field="reason")
    return text[:MAX_REASON]


async def _open(exception_id: int) -> ValidationException:
    found = await ValidationException.get_or_none(id=exception_id)
    if found is None:
        raise NotFound("validation exception", field="id")
    if found.status is not ExceptionStatus.OPEN:
        raise Refused("INVALID_STATE", f"this exception was already decided ({found.status.value})")
    return found


async def accept(viewer: Viewer, *, exception_id: int, reason: str, settings: Settings) -> Decision:
    return await _decide(viewer, exception_id, reason, settings, ExceptionStatus.ACCEPTED, None)


async def reject(viewer: Viewer, *, exception_id: int, reason: str, settings: Settings) -> Decision:
    return await _decide(viewer, exception_id, reason, settings, ExceptionStatus.REJECTED, None)


async def replace(
    viewer: Viewer, *, exception_id: int, value: str, reason: str, settings: Settings
) -> Decision:
    """Replace the flagged value: kWh for an interval, the register's reading for a read."""
    try:
        milli = Decimal(value.strip()) * 1000
    except InvalidOperation:
        raise Refused("INVALID_INPUT", f"{value!r} is not a number", field="value") from None
    if not milli.is_finite() or milli < 0 or milli != milli.to_integral_value():
        raise Refused(
            "INVALID_INPUT", "give a value of 0 or more with at most 3 decimals", field="value"
        )
    return await _decide(
        viewer, exception_id, reason, settings, ExceptionStatus.REPLACED, int(milli)
    )


async def _decide(
    viewer: Viewer,
    exception_id: int,
    reason: str,
    settings: Settings,
    status: ExceptionStatus,
    value: int | None,
) -> Decision:
    why = _reason(reason)
    config = load_config(settings)
    async with in_transaction() as client:
        exception = await _open(exception_id)
        if (
            client.capabilities.dialect == "postgres"
        ):  # two reviewers: the second waits, then sees it decided
            await ValidationException.filter(id=exception.id).select_for_update().first()
            exception = await _open(exception_id)
        work = _Work(Sql(client), viewer, why, settings, config)
        before = {"status": exception.status.value}
        if exception.register_read_id is not None:  # type: ignore[attr-defined]
            changed = await work.read(exception, status, value)
        elif exception.interval_reading_id is not None:  # type: ignore[attr-defined]
            changed = await work.interval(exception, status, value)
        elif value is not None:
            raise Refused(
                "INVALID_INPUT",
                "only a flagged read or interval can be replaced: accept or reject this one",
                field="value",
            )
        else:
            changed = await work.span(exception, status)
        now = datetime.now(UTC)
        exception.status = status
        exception.resolved_by_id = viewer.user_id
        exception.resolved_at = now
        exception.resolution_reason = why
        await exception.save(
            update_fields=[
                "status",
                "resolved_by_id",
                "resolved_at",
                "resolution_reason",
                "updated_at",
            ]
        )
        await work.finish()
        await audit.record(
            viewer=viewer, action=f"vee.exception.{status.value}", entity="validation_exception",
            entity_id=exception.id, before=before,
            after={"status": status.value, "rule": exception.rule, "changed": changed,
                   **({"value_milli": value} if value is not None else {})},
            reason=why,
        )  # fmt: skip
    return Decision(exception, changed)


class _Work:
    def __init__(
        self, sql: Sql, viewer: Viewer, reason: str, settings: Settings, config: VeeConfig
    ) -> None:
        self.sql = sql
        self.viewer = viewer
        self.reason = reason
        self.zone = settings.zone
        self.config = config
        self.catalog = RegisterCatalog(sql)
        self.days: set[tuple[int, date]] = set()

    async def finish(self) -> None:
        await aggregates.recompute_days(self.sql, self.days, self.zone, self.config.usage_calendar)

    async def _others_open(self, exception: ValidationException, **link: int) -> bool:
        return (
            await ValidationException.filter(status=ExceptionStatus.OPEN, **link)
            .exclude(id=exception.id)
            .exists()
        )

    async def _touch(self, register_id: int, start: datetime) -> None:
        await self.catalog.load_ids([register_id])
        info = self.catalog.by_id.get(register_id)
        if info is None or info.direction == "-":
            return
        account = info.account_at(start, self.zone)
        if account is not None:
            self.days.add((account.account_id, start.astimezone(self.zone).date()))

    # --- one register read --------------------------------------------------------------

    async def read(
        self, exception: ValidationException, status: ExceptionStatus, value: int | None
    ) -> int:
        read = await RegisterRead.get(id=exception.register_read_id)  # type: ignore[attr-defined]
        if read.billed and status is not ExceptionStatus.ACCEPTED:
            raise Refused(
                "INVALID_STATE", "this read is already billed: cancel and rebill the bill instead"
            )
        if status is ExceptionStatus.ACCEPTED and (
            read.quality is not ReadQuality.SUSPECT
            or await self._others_open(exception, register_read_id=read.id)
        ):
            return 0
        quality, new_value = review_outcome(status, read.value_milli, value)
        if status is ExceptionStatus.REPLACED:
            await self._close_siblings(exception, register_read_id=read.id)
        await keep_revision(read, changed_by_id=self.viewer.user_id, reason=self.reason)
        read.value_milli = new_value
        read.quality = quality
        read.revision += 1
        if status is ExceptionStatus.REPLACED:
            read.source = ReadSource.STAFF
            read.estimation_method = ""
        await read.save(
            update_fields=[
                "value_milli",
                "quality",
                "revision",
                "source",
                "estimation_method",
                "updated_at",
            ]
        )
        if status is not ExceptionStatus.ACCEPTED:
            outcome = "rejected" if status is ExceptionStatus.REJECTED else "replaced"
            await tell_reader_about(read, outcome=outcome, reason=self.reason)
        return 1

    async def _close_siblings(self, exception: ValidationException, **link: int) -> None:
        """A replaced value answers every open exception on the old one."""
        await (
            ValidationException.filter(status=ExceptionStatus.OPEN, **link)
            .exclude(id=exception.id)
            .update(
                status=ExceptionStatus.REPLACED,
                resolved_by_id=self.viewer.user_id,
                resolved_at=datetime.now(UTC),
                resolution_reason=self.reason,
            )
        )

    # --- one interval -------------------------------------------------------------------

    async def interval(
        self, exception: ValidationException, status: ExceptionStatus, value: int | None
    ) -> int:
        reading = await IntervalReading.get(id=exception.interval_reading_id)  # type: ignore[attr-defined]
        if status is not ExceptionStatus.ACCEPTED and await BilledSpan.exists(
            register_id=reading.register_id,  # type: ignore[attr-defined]
            starts_at__lte=reading.interval_start,
            ends_at__gt=reading.interval_start,
        ):
            raise Refused(
                "INVALID_STATE", "this interval is billed: cancel and rebill the bill instead"
            )
        if status is ExceptionStatus.ACCEPTED and (
            reading.quality is not ReadQuality.SUSPECT
            or await self._others_open(exception, interval_reading_id=reading.id)
        ):
            return 0
        quality, new_value = review_outcome(status, reading.value_wh, value)
        if status is ExceptionStatus.REPLACED:
            await self._close_siblings(exception, interval_reading_id=reading.id)
        await self._revise_interval(
            reading, quality, new_value, staff=status is ExceptionStatus.REPLACED
        )
        await self._touch(reading.register_id, reading.interval_start)  # type: ignore[attr-defined]
        return 1

    async def _revise_interval(
        self, reading: IntervalReading, quality: ReadQuality, value: int, *, staff: bool
    ) -> None:
        await IntervalReadingRevision.create(
            reading=reading, revision=reading.revision, value_wh=reading.value_wh,
            quality=reading.quality, source=reading.source, reason=self.reason,
        )  # fmt: skip
        reading.quality = quality
        reading.value_wh = value
        reading.revision += 1
        fields = ["quality", "value_wh", "revision"]
        if staff:
            reading.source = ReadSource.STAFF
            reading.estimation_method = ""
            fields += ["source", "estimation_method"]
        await reading.save(update_fields=fields)

    # --- a day or a gap -----------------------------------------------------------------

    async def span(self, exception: ValidationException, status: ExceptionStatus) -> int:
        detail = (
            exception.detail if isinstance(exception.detail, dict) else json.loads(exception.detail)
        )
        register_id = int(detail.get("register_id", 0) or 0)
        if not register_id:
            return 0
        if exception.rule == Rule.INTERVAL_GAP.value:
            if status is ExceptionStatus.ACCEPTED or "from" not in detail:
                return 0  # accepting a gap keeps its estimates
            lo = datetime.fromisoformat(detail["from"])
            hi = datetime.fromisoformat(detail["to"])
            readings = await IntervalReading.filter(
                register_id=register_id, interval_start__gte=lo, interval_start__lte=hi,
                quality=ReadQuality.ESTIMATED,
            ).order_by("interval_start")  # fmt: skip
        elif exception.rule in {r.value for r in DAY_RULES} and "day" in detail:
            lo, hi = aggregates.day_bounds(date.fromisoformat(detail["day"]), self.zone)
            readings = await IntervalReading.filter(
                register_id=register_id, interval_start__gte=lo, interval_start__lt=hi,
                quality=ReadQuality.SUSPECT,
            ).order_by("interval_start")  # fmt: skip
            if status is ExceptionStatus.ACCEPTED:
                held = set(
                    await ValidationException.filter(
                        status=ExceptionStatus.OPEN,
                        interval_reading_id__in=[r.id for r in readings],
                    ).values_list("interval_reading_id", flat=True)
                )
                readings = [r for r in readings if r.id not in held]
        else:
            return 0
        for reading in readings:
            quality, value = review_outcome(status, reading.value_wh, None)
            await self._revise_interval(reading, quality, value, staff=False)
        for start in sorted({as_dt(r.interval_start) for r in readings}):
            await self._touch(register_id, start)  # a gap may run over several days
        return len(readings)
