"""What the device is told about each record it pushed: the ``detail`` of an item's result.

The services (``services/field/``) return what happened as values; this module writes it
in the wire format of docs/sync-protocol.md ("Results"): the read as it stands, the rule
that decided, the value that counts (``winner``) and a sentence for the reader.
"""

from __future__ import annotations

from typing import Any

from domain import field_conflicts as conflicts
from domain.enums import SyncItemResult
from domain.field_conflicts import ReadPoint, Rule
from domain.field_reads import FieldRegister, Refusal
from services.field.push_facts import FieldPush, PushedRead
from services.field.pushed_edits import EditResult
from services.field.pushed_reads import ReadResult
from services.field.skips import SkipResult
from store.models import RegisterRead
from sync.batches import Outcome


def reason(code: str, message: str) -> dict[str, Any]:
    return {"code": code, "message": message}


def _refused(refusal: Refusal | None) -> Outcome:
    assert refusal is not None
    return Outcome(SyncItemResult.REJECTED, "", reason(refusal.code, refusal.message))


def read_json(read: RegisterRead | PushedRead | ReadPoint) -> dict[str, Any]:
    if isinstance(read, ReadPoint):
        return {
            "read_uuid": read.uuid,
            "value_milli": read.value_milli,
            "read_at": read.read_at.isoformat(),
        }
    return {
        "read_uuid": str(read.client_uuid),
        "value_milli": read.value_milli,
        "read_at": read.read_at.isoformat(),
        "revision": read.revision,
    }


def read_outcome(push: FieldPush, done: ReadResult) -> Outcome:
    decision = done.decision
    if decision.result is SyncItemResult.REJECTED:
        return _refused(decision.refusal)
    assert done.read is not None
    if decision.result is SyncItemResult.DUPLICATE:
        return Outcome(SyncItemResult.DUPLICATE, "", read_json(done.read))
    detail = read_json(done.read)
    detail["flags"] = list(decision.flags)
    if done.captured_at != done.read.read_at:
        detail["device_captured_at"] = done.captured_at.isoformat()
    if decision.rule is None:
        return Outcome(SyncItemResult.ACCEPTED, "", detail)
    register = push.registers[done.read.register_id]  # type: ignore[union-attr]
    detail.update(_explain(push, register, done))
    return Outcome(SyncItemResult.CONFLICT_RESOLVED, decision.rule.value, detail)


def _explain(push: FieldPush, register: FieldRegister, done: ReadResult) -> dict[str, Any]:
    """The winning value and a sentence for the reader, for the rule a read's item reports."""
    decision, billed = done.decision, done.billed
    rule, previous, point = decision.rule, decision.previous, decision.point
    assert point is not None
    if rule is Rule.OLDER_THAN_BILLED and billed is not None:
        return {
            "winner": {
                "read_uuid": billed.read_uuid,
                "value_milli": billed.value_milli,
                "read_at": billed.read_at.isoformat(),
            },
            "message": "captured before the last billed read: kept for the record, the billed read stands",
        }
    if rule is Rule.BACKWARDS and previous is not None:
        return {
            "winner": read_json(previous),
            "message": "lower than the previous read and not a rollover: kept as suspect for the office to check, re-read the meter if you can",
        }
    if rule is Rule.ROLLOVER and previous is not None:
        drop = conflicts.classify_drop(register.facts, previous, point)
        return {
            "winner": read_json(point),
            "usage_milli": drop[1] if drop else None,
            "message": "lower than the previous read: taken as the register rolling over past zero",
        }
    if rule in (Rule.SAME_CYCLE, Rule.SUPERSEDED) and decision.cycle_winner is not None:
        return {
            "winner": read_json(decision.cycle_winner),
            "message": "the register was read more than once this cycle: all reads are kept, billing uses the latest",
        }
    if rule is Rule.METER_MOVED:
        return {
            "winner": {"route": push.meter_route.get(register.meter_id)},
            "message": "this meter is no longer on your routes: the read is kept, pull to update your list",
        }
    return {
        "winner": {"clock_offset_s": push.correction.offset_s},
        "message": "the handset clock was off by more than 5 minutes: times were corrected, set the clock",
    }


def edit_outcome(done: EditResult) -> Outcome:
    if done.result is SyncItemResult.REJECTED:
        return _refused(done.refusal)
    assert done.read is not None
    if done.result is SyncItemResult.CONFLICT_RESOLVED:
        assert done.rule is not None
        message = (
            "the read is already billed: ask the office for a correction"
            if done.rule is Rule.EDIT_BILLED
            else "the office changed this read after you captured it: their value stands"
        )
        detail = {"winner": read_json(done.read), "message": message}
        return Outcome(SyncItemResult.CONFLICT_RESOLVED, done.rule.value, detail)
    return Outcome(SyncItemResult.ACCEPTED, "", read_json(done.read))


def skip_outcome(done: SkipResult) -> Outcome:
    if done.result is SyncItemResult.REJECTED:
        return _refused(done.refusal)
    if done.result is SyncItemResult.DUPLICATE:
        return Outcome(SyncItemResult.DUPLICATE, "", {"visit_uuid": str(done.visit_uuid)})
    assert done.visited_at is not None
    detail: dict[str, Any] = {
        "visit_uuid": str(done.visit_uuid),
        "visited_at": done.visited_at.isoformat(),
    }
    if done.rule is Rule.METER_MOVED:
        detail["message"] = "this meter is no longer on your routes: pull to update your list"
        return Outcome(SyncItemResult.CONFLICT_RESOLVED, Rule.METER_MOVED.value, detail)
    return Outcome(SyncItemResult.ACCEPTED, "", detail)
