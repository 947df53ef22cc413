"""Staff review of flagged meter data: the queue with counts per rule, accept, reject and
replace with a reason, each audited, with usage recomputed; and the same over GraphQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import strawberry
from meterdata_helpers import IST, START, STEP, day_profile, interval_rows, ndjson, run_ingest
from strawberry.schema.config import StrawberryConfig

from api.context import Context
from api.resolvers.meter_data import MeterDataMutations, MeterDataQueries
from api.schema.common import BIG_INT, BigInt
from domain.access import Caller
from domain.enums import ExceptionStatus, ReadQuality, ReadSource, Role
from gridbill.settings import Settings
from services.errors import Refused
from services.meter_data import vee_review
from services.viewer import Viewer
from store.models import (
    AuditLog,
    IntervalReading,
    IntervalReadingRevision,
    RegisterRead,
    RegisterReadRevision,
    UsageDaily,
    User,
    ValidationException,
)
from tests.factories import Site


@pytest.fixture
async def staff(site: Site) -> Viewer:
    user = await User.create(email="vee@utility.test", full_name="V. Reviewer", role=Role.STAFF)
    return Viewer(caller=Caller(role=Role.STAFF), user_id=user.id)


async def flagged(site: Site) -> dict[str, ValidationException]:
    """A jump, a register going backwards and a gap, each waiting for a decision."""
    await run_ingest(ndjson(interval_rows("SM0001", START, [100, 100, 2_500, 100, 100])))
    await run_ingest(ndjson(interval_rows("SM0001", START + 7 * STEP, [120, 130])))  # gap
    t = datetime(2026, 3, 1, tzinfo=IST)
    reads = [{"meter": "SM0001", "timestamp": (t + timedelta(days=d)).isoformat(),
              "reading": str(v)} for d, v in enumerate([1000, 1010, 990])]  # fmt: skip
    await run_ingest(ndjson(reads))
    found = {e.rule: e for e in await ValidationException.all()}
    assert set(found) == {"interval_jump", "interval_gap", "register_backwards"}
    return found


async def import_wh(site: Site, day: date = date(2026, 3, 1)) -> int:
    row = await UsageDaily.get_or_none(account_id=site.account.id, day=day, tou_period="")
    return row.import_wh if row else 0


async def test_queue_and_counts_per_rule(site: Site) -> None:
    await flagged(site)
    assert await vee_review.counts() == {
        "interval_gap": 1, "interval_jump": 1, "register_backwards": 1,
    }  # fmt: skip
    assert await vee_review.queue(rule="interval_jump").count() == 1
    assert await vee_review.queue(meter_id=site.meter.id + 1).count() == 0
    assert await vee_review.counts(status=ExceptionStatus.ACCEPTED) == {}


async def test_accept_a_jump(site: Site, staff: Viewer, settings: Settings) -> None:
    jump = (await flagged(site))["interval_jump"]
    before = await import_wh(site)
    with pytest.raises(Refused, match="give the reason"):
        await vee_review.accept(staff, exception_id=jump.id, reason=" ", settings=settings)
    decision = await vee_review.accept(
        staff, exception_id=jump.id, reason="AC installed that evening", settings=settings
    )
    assert decision.changed == 1
    spike = await IntervalReading.get(id=jump.interval_reading_id)  # type: ignore[attr-defined]
    assert (spike.quality, spike.revision) == (ReadQuality.VALID, 2)
    assert await import_wh(site) == before + 2_500
    decided = await ValidationException.get(id=jump.id)
    assert decided.status is ExceptionStatus.ACCEPTED and decided.resolved_by_id == staff.user_id  # type: ignore[attr-defined]
    audit = await AuditLog.get(action="vee.exception.accepted")
    assert (audit.entity, audit.entity_id, audit.reason) == (
        "validation_exception", str(jump.id), "AC installed that evening",
    )  # fmt: skip
    assert audit.actor_id == staff.user_id  # type: ignore[attr-defined]
    with pytest.raises(Refused, match="already decided"):
        await vee_review.reject(
            staff, exception_id=jump.id, reason="changed my mind", settings=settings
        )


async def test_reject_a_register_read(site: Site, staff: Viewer, settings: Settings) -> None:
    backwards = (await flagged(site))["register_backwards"]
    await vee_review.reject(
        staff, exception_id=backwards.id, reason="misread digit", settings=settings
    )
    read = await RegisterRead.get(id=backwards.register_read_id)  # type: ignore[attr-defined]
    assert (read.quality, read.revision, read.value_milli) == (ReadQuality.REJECTED, 2, 990_000)
    kept = await RegisterReadRevision.get(read_id=read.id)
    assert (kept.quality, kept.changed_by_id, kept.reason) == (  # type: ignore[attr-defined]
        ReadQuality.SUSPECT, staff.user_id, "misread digit",
    )  # fmt: skip
    assert await AuditLog.filter(action="vee.exception.rejected").count() == 1


async def test_replace_a_value_and_the_edit_stands(
    site: Site, staff: Viewer, settings: Settings
) -> None:
    jump = (await flagged(site))["interval_jump"]
    decision = await vee_review.replace(
        staff,
        exception_id=jump.id,
        value="0.105",
        reason="meter log shows 0.105",
        settings=settings,
    )
    assert decision.exception.status is ExceptionStatus.REPLACED
    edited = await IntervalReading.get(id=jump.interval_reading_id)  # type: ignore[attr-defined]
    assert (edited.value_wh, edited.quality, edited.source) == (
        105,
        ReadQuality.EDITED,
        ReadSource.STAFF,
    )
    old = await IntervalReadingRevision.get(reading_id=edited.id, revision=1)
    assert (old.value_wh, old.source) == (2_500, ReadSource.SMART)
    assert (
        await import_wh(site) == 100 + 100 + 105 + 100 + 100 + 107 + 113 + 120 + 130
    )  # gap: 107, 113
    resend = await run_ingest(ndjson(interval_rows("SM0001", START, [100, 100, 2_500])))
    assert (resend.duplicate, resend.revised) == (3, 0)
    assert (await IntervalReading.get(id=edited.id)).value_wh == 105
    with pytest.raises(Refused, match="at most 3 decimals"):
        await vee_review.replace(
            staff, exception_id=jump.id, value="0.0001", reason="x", settings=settings
        )


async def test_a_gap_and_a_day(site: Site, staff: Viewer, settings: Settings) -> None:
    gap = (await flagged(site))["interval_gap"]
    with pytest.raises(Refused, match="only a flagged read or interval can be replaced"):
        await vee_review.replace(
            staff, exception_id=gap.id, value="1", reason="x", settings=settings
        )
    rejected = await vee_review.reject(
        staff, exception_id=gap.id, reason="meter was off", settings=settings
    )
    assert rejected.changed == 2
    assert await IntervalReading.filter(quality=ReadQuality.REJECTED).count() == 2

    normal = day_profile()
    later = datetime(2026, 3, 10, tzinfo=IST)
    await run_ingest(ndjson(interval_rows("SM0001", later, normal * 8 + [v * 5 for v in normal] + normal)),
                     chunk_rows=1000)  # fmt: skip
    high = await ValidationException.get(rule="high_consumption")
    assert await import_wh(site, date(2026, 3, 18)) == 0
    accepted = await vee_review.accept(
        staff, exception_id=high.id, reason="wedding", settings=settings
    )
    assert accepted.changed == 96
    assert await import_wh(site, date(2026, 3, 18)) == 5 * 17_600


async def test_a_billed_read_is_not_changed_here(
    site: Site, staff: Viewer, settings: Settings
) -> None:
    backwards = (await flagged(site))["register_backwards"]
    await RegisterRead.filter(id=backwards.register_read_id).update(billed=True)  # type: ignore[attr-defined]
    with pytest.raises(Refused, match="already billed"):
        await vee_review.replace(
            staff, exception_id=backwards.id, value="1020", reason="x", settings=settings
        )


# --- GraphQL ------------------------------------------------------------------------------

schema = strawberry.Schema(
    query=MeterDataQueries,
    mutation=MeterDataMutations,
    config=StrawberryConfig(scalar_map={BigInt: BIG_INT}),
)


async def gql(settings: Settings, viewer: Viewer, query: str, **variables: Any) -> Any:
    context = Context(settings=settings, request=None, response=None, viewer=viewer)  # type: ignore[arg-type]
    return await schema.execute(query, variable_values=variables, context_value=context)


QUEUE = """
query ($rule: String) {
  validationExceptionCounts { rule count }
  validationExceptions(rule: $rule, first: 10) {
    nodes { id rule status detail meter { serial } interval { kwh quality } read { value quality } }
  }
}
"""
ACCEPT = """
mutation ($id: ID!, $reason: String!) {
  acceptValidationException(input: {id: $id, reason: $reason}) {
    __typename
    ... on ExceptionDecisionSuccess { changed exception { status resolutionReason } }
    ... on MeterDataError { code message }
  }
}
"""


async def test_staff_work_the_queue_over_graphql(
    site: Site, staff: Viewer, settings: Settings
) -> None:
    jump = (await flagged(site))["interval_jump"]
    result = await gql(settings, staff, QUEUE, rule="interval_jump")
    assert result.errors is None, result.errors
    counts = {c["rule"]: c["count"] for c in result.data["validationExceptionCounts"]}
    assert counts == {"interval_gap": 1, "interval_jump": 1, "register_backwards": 1}
    (node,) = result.data["validationExceptions"]["nodes"]
    assert node["meter"] == {"serial": "SM0001"} and node["status"] == "OPEN"
    assert node["interval"] == {"kwh": "2.5", "quality": "SUSPECT"} and node["read"] is None

    done = await gql(settings, staff, ACCEPT, id=str(jump.id), reason="checked on site")
    assert done.data["acceptValidationException"] == {
        "__typename": "ExceptionDecisionSuccess", "changed": 1,
        "exception": {"status": "ACCEPTED", "resolutionReason": "checked on site"},
    }  # fmt: skip
    twice = await gql(settings, staff, ACCEPT, id=str(jump.id), reason="again")
    assert twice.data["acceptValidationException"]["code"] == "INVALID_STATE"


async def test_customers_and_strangers_are_turned_away(site: Site, settings: Settings) -> None:
    await flagged(site)
    customer = Viewer(caller=Caller(role=Role.CUSTOMER), user_id=1)
    refused = await gql(settings, customer, QUEUE)
    assert refused.errors and refused.errors[0].extensions["code"] == "FORBIDDEN"
    anonymous = Viewer(caller=Caller())
    assert (await gql(settings, anonymous, QUEUE)).errors[0].extensions["code"] == "UNAUTHENTICATED"
    assert datetime.now(UTC) > START
