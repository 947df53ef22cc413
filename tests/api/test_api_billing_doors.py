"""One operation, three doors: GraphQL, the ``gridbill`` command and a background job run
the same use case, so each writes the same audit row (naming who acted, and through
which door) and meets the same refusals."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from datetime import time as clock
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from api_helpers import Api

from domain.enums import BillRunStatus, Role
from jobs import billing as billing_jobs
from jobs.procrastinate_app import ensure_schema
from services.errors import Refused
from store.models import AuditLog, Bill, BillingCycle, BillRun
from tests import factories as f

ZONE = ZoneInfo("Asia/Kolkata")
ORDER = Path(__file__).parents[1] / "fixtures" / "tariffs" / "derc_2019_20_domestic.json"
START = """mutation($p: String!) { startBillRun(input: {cycleCode: "C1", period: $p}) { __typename
  ... on BillRunSuccess { billRun { id } } ... on OperationError { code message } } }"""
ISSUE_RUN = """mutation($id: ID!) { issueBillRun(input: {billRunId: $id}) { __typename
  ... on OperationError { code message } } }"""
ISSUE = """mutation($ids: [ID!]!) { issueBills(input: {billIds: $ids}) { __typename
  ... on IssueBillsSuccess { issuedCount } ... on OperationError { code message } } }"""


def gridbill(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def until(api: Api, condition: Callable[[], Awaitable[bool]], seconds: float = 20) -> None:
    """Wait for the in-process job runner (SQLite) to finish what the API queued."""
    deadline = time.monotonic() + seconds
    while not api.run(condition):
        assert time.monotonic() < deadline, "the queued job did not finish"
        time.sleep(0.05)


def audit_rows(api: Api, action: str) -> list[tuple[str, int | None]]:
    rows = api.run(AuditLog.filter(action=action).order_by("id").values, "actor_label", "actor_id")
    return [(r["actor_label"], r["actor_id"]) for r in rows]


async def running_run(period_start: date) -> BillRun:
    cycle = await BillingCycle.get(code="C1")
    return await BillRun.create(
        cycle=cycle, period_start=period_start, period_end=date(2024, 3, 31),
        status=BillRunStatus.RUNNING, updated_at=datetime.now(UTC),
    )  # fmt: skip


def test_each_door_refuses_alike_and_audits_alike(
    api: Api, backend: str, subprocess_env: dict[str, str]
) -> None:
    if backend == "postgres":
        api.run(ensure_schema, api.settings)
    staff_user = api.run(f.user, Role.STAFF)
    staff = api.token(staff_user)
    home = api.run(f.household)
    for day, kwh in ((1, 1000), (2, 1180), (3, 1430), (4, 1600), (5, 1790)):
        api.run(f.read, home.register, kwh, datetime.combine(date(2024, day, 1), clock(0), ZONE))

    unknown = api.data(START.replace('"C1"', '"C9"'), {"p": "2024-03"}, token=staff)["startBillRun"]
    assert unknown == {"__typename": "OperationError", "code": "UNKNOWN_CYCLE",
                       "message": "no billing cycle 'C9' (cycles: C1)"}  # fmt: skip

    # A run in progress: no door starts it again or issues it.
    busy = api.run(running_run, date(2024, 3, 1))
    refused = api.data(START, {"p": "2024-03"}, token=staff)["startBillRun"]
    assert (refused["code"], "is running" in refused["message"]) == ("INVALID_STATE", True)
    refused = api.data(ISSUE_RUN, {"id": str(busy.id)}, token=staff)["issueBillRun"]
    assert (refused["code"], "issue it once it completes" in refused["message"]) == (
        "INVALID_STATE",
        True,
    )
    cli = gridbill(
        subprocess_env, "bill-run", "--cycle", "C1", "--period", "2024-03", "--no-progress"
    )
    assert cli.returncode == 1 and "is running" in cli.stderr
    cli = gridbill(
        subprocess_env,
        "bill-run",
        "--cycle",
        "C1",
        "--period",
        "2024-03",
        "--issue",
        "--no-progress",
    )
    assert cli.returncode == 1 and "issue it once it completes" in cli.stderr
    with pytest.raises(Refused, match="issue it once it completes"):
        api.run(billing_jobs.issue_bill_run, cycle="C1", period="2024-03")
    api.run(BillRun.filter(id=busy.id).update, status=BillRunStatus.FAILED)  # its process died

    # The command: start (resumes the failed run) and issue.
    cli = gridbill(
        subprocess_env, "bill-run", "--cycle", "C1", "--period", "2024-03", "--no-progress"
    )
    assert cli.returncode == 0, cli.stderr
    cli = gridbill(subprocess_env, "bill-run", "--cycle", "C1", "--period", "2024-03", "--issue",
                   "--no-pdf", "--no-progress")  # fmt: skip
    assert cli.returncode == 0, cli.stderr

    # GraphQL: start (a job drafts), issue by id.
    started = api.data(START, {"p": "2024-04"}, token=staff)["startBillRun"]
    assert started["__typename"] == "BillRunSuccess", started
    if backend == "postgres":  # queued for procrastinate workers: do a worker's part here
        api.run(billing_jobs.bill_run, cycle="C1", period="2024-04")
    until(api, lambda: BillRun.filter(id=started["billRun"]["id"], status="completed").exists())
    ids = [str(i) for i in api.run(Bill.filter(status="draft").values_list, "id", flat=True)]
    assert api.data(ISSUE, {"ids": ids}, token=staff)["issueBills"]["issuedCount"] == 1

    # A job on a staff member's behalf: the run's issue queued through GraphQL.
    api.run(billing_jobs.bill_run, cycle="C1", period="2024-05")
    may = api.run(BillRun.filter(period_start=date(2024, 5, 1)).first)
    queued = api.data(ISSUE_RUN, {"id": str(may.id)}, token=staff)["issueBillRun"]
    assert queued["__typename"] == "BillRunSuccess", queued
    if backend == "postgres":
        api.run(
            billing_jobs.issue_bill_run, cycle="C1", period="2024-05", requested_by=staff_user.id
        )
    until(
        api, lambda: AuditLog.filter(action="bills.issued", actor_label="job:issue_bills").exists()
    )

    started_by = audit_rows(api, "bill_run.started")
    assert [label.split(":")[0] for label, _ in started_by] == ["cli", "user"]
    assert started_by[1] == (f"user:{staff_user.id}", staff_user.id)
    issued_by = audit_rows(api, "bills.issued")
    assert [label.split(":")[0] for label, _ in issued_by] == ["cli", "user", "job"]
    assert issued_by[2] == ("job:issue_bills", staff_user.id)
    assert audit_rows(api, "bill_run.issue_queued") == [(f"user:{staff_user.id}", staff_user.id)]
    assert api.run(Bill.filter(status="issued").count) == 3


def test_the_tariff_command_audits_as_graphql_does(
    api: Api, subprocess_env: dict[str, str]
) -> None:
    imported = gridbill(
        subprocess_env, "tariff", "import", str(ORDER), "--effective-from", "2019-08-01"
    )
    assert imported.returncode == 0, imported.stderr
    [(label, actor)] = audit_rows(api, "tariff.version_created")
    assert label.startswith("cli:") and actor is None
    again = gridbill(
        subprocess_env, "tariff", "import", str(ORDER), "--effective-from", "2019-08-01"
    )
    assert again.returncode == 1 and "must start after it" in again.stderr
    assert len(audit_rows(api, "tariff.version_created")) == 1  # a refusal writes nothing
