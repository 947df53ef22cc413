"""The console's home page: running bill runs and open VEE exceptions at a glance."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from console.pages import Console, Form
from console.session import Staff
from domain.enums import BillRunStatus
from services.meter_data import vee_review
from store.models import BillRun


async def home(console: Console, request: Request, staff: Staff, form: Form) -> Response:
    runs = await BillRun.all().order_by("-id").limit(5).prefetch_related("cycle")
    open_exceptions = sum((await vee_review.counts()).values())
    running = [r for r in runs if r.status in (BillRunStatus.PENDING, BillRunStatus.RUNNING)]
    return console.render(
        "home.html", staff, runs=runs, running=running, open_exceptions=open_exceptions
    )
