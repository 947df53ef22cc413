"""The console's route table: every page with the operation it needs (``domain.access``)."""

from __future__ import annotations

from pathlib import Path

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from console import (
    account,
    adjustments,
    audit_log,
    bill_runs,
    counter,
    field_routes,
    home,
    reports,
    search,
    staff_users,
    support_requests,
    tariffs,
    vee,
)
from console.pages import Console, Page, route
from console.sign_in import sign_in_page, sign_out_page
from domain.access import Operation as Op
from gridbill.settings import Settings

STATIC = Path(__file__).resolve().parent / "static"

PAGES: tuple[Page, ...] = (
    Page("/", home.home, Op.READ_CUSTOMERS),
    Page("/reports", reports.index, Op.READ_REPORTS),
    Page("/reports/{name}", reports.report_page, Op.READ_REPORTS),
    Page("/reports/{name}/download", reports.download, Op.READ_REPORTS),
    Page("/search", search.search, Op.READ_CUSTOMERS),
    Page("/accounts/{account_id:int}", account.account_page, Op.READ_CUSTOMERS),
    Page(
        "/accounts/{account_id:int}/adjustments", adjustments.raise_note, Op.ADJUST_BILLS, ("POST",)
    ),
    Page("/support/{request_id:int}/reply", support_requests.reply, Op.MANAGE_SUPPORT, ("POST",)),
    Page(
        "/support/{request_id:int}/status",
        support_requests.set_status,
        Op.MANAGE_SUPPORT,
        ("POST",),
    ),
    Page("/bill-runs", bill_runs.runs_page, Op.READ_BILL_RUNS),
    Page("/bill-runs", bill_runs.start, Op.RUN_BILLING, ("POST",)),
    Page("/bill-runs/{run_id:int}", bill_runs.run_page, Op.READ_BILL_RUNS),
    Page("/bill-runs/{run_id:int}/progress", bill_runs.progress, Op.READ_BILL_RUNS),
    Page("/bill-runs/{run_id:int}/issue", bill_runs.issue_run_page, Op.RUN_BILLING, ("POST",)),
    Page("/bills/{bill_id:int}", bill_runs.bill_page, Op.READ_BILLS),
    Page("/bills/{bill_id:int}/issue", bill_runs.issue_one, Op.RUN_BILLING, ("POST",)),
    Page("/bills/{bill_id:int}/cancel", bill_runs.cancel, Op.ADJUST_BILLS, ("POST",)),
    Page("/bills/{bill_id:int}/rebill", bill_runs.rebill_page, Op.ADJUST_BILLS, ("POST",)),
    Page("/payments/counter", counter.counter_page, Op.ADJUST_BILLS),
    Page("/payments/counter", counter.record, Op.ADJUST_BILLS, ("POST",)),
    Page("/payments/{reference}/receipt", counter.receipt, Op.READ_PAYMENTS),
    Page("/vee", vee.queue_page, Op.READ_METERS),
    Page("/vee/{exception_id:int}", vee.exception_page, Op.READ_METERS),
    Page("/vee/{exception_id:int}/accept", vee.accept, Op.WRITE_METERS, ("POST",)),
    Page("/vee/{exception_id:int}/reject", vee.reject, Op.WRITE_METERS, ("POST",)),
    Page("/vee/{exception_id:int}/replace", vee.replace, Op.WRITE_METERS, ("POST",)),
    Page("/tariffs", tariffs.tariffs_page, Op.READ_TARIFFS),
    Page("/tariffs/preview", tariffs.preview, Op.READ_TARIFFS, ("POST",)),
    Page("/tariffs/import", tariffs.import_version, Op.WRITE_TARIFFS, ("POST",)),
    Page("/audit", audit_log.audit_page, Op.READ_AUDIT_LOG),
    Page("/routes", field_routes.routes_page, Op.READ_ROUTES),
    Page("/routes/{route_id:int}", field_routes.route_page, Op.READ_ROUTES),
    Page("/routes/{route_id:int}/reader", field_routes.assign, Op.WRITE_ROUTES, ("POST",)),
    Page("/routes/stops/{stop_id:int}/sequence", field_routes.reorder, Op.WRITE_ROUTES, ("POST",)),
    Page("/users", staff_users.users_page, Op.MANAGE_USERS),
    Page("/users", staff_users.invite, Op.MANAGE_USERS, ("POST",)),
    Page("/users/{user_id:int}/role", staff_users.set_role, Op.MANAGE_USERS, ("POST",)),
    Page("/users/{user_id:int}/active", staff_users.set_active, Op.MANAGE_USERS, ("POST",)),
    Page(
        "/users/{user_id:int}/second-factor",
        staff_users.require_second_factor,
        Op.MANAGE_USERS,
        ("POST",),
    ),
    Page(
        "/users/{user_id:int}/password-reset",
        staff_users.reset_password,
        Op.MANAGE_USERS,
        ("POST",),
    ),
)


def console_mount(settings: Settings) -> Mount:
    """``/console``: the pages, sign-in and sign-out, and the packaged static files."""
    console = Console(settings)
    routes: list[BaseRoute] = [
        Route("/sign-in", sign_in_page(console), methods=["GET", "POST"]),
        Route("/sign-out", sign_out_page(console), methods=["POST"]),
        Mount("/static", app=StaticFiles(directory=STATIC), name="console-static"),
        *(route(console, page) for page in PAGES),
    ]
    return Mount("/console", routes=routes)
