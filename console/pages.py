"""How a console page is served: session, permission, CSRF, rendering and refusals.

Every page is declared as data, a :class:`Page` naming its path, the ``domain.access``
operation it needs and its methods, so the permission matrix test walks the same table
the router is built from. A handler gets the request, the signed-in :class:`Staff` and
(for a POST) the submitted form, and returns a response; a ``Refused`` it raises is shown
as the page's message with status 400 (404 for not found), never as a stack trace.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from console import charts, session
from console.session import Staff
from domain import indian_format
from domain.access import Operation
from gridbill.settings import Settings
from services.errors import NotFound, Refused

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent / "templates"
Form = Mapping[str, str]
MAX_ID = 2**31 - 1  # an id past the columns' range is simply not found
Handler = Callable[["Console", Request, Staff, Form], Awaitable[Response]]


@dataclass(frozen=True)
class Page:
    """One console route: ``path`` under /console, the operation it needs, its methods."""

    path: str
    handler: Handler
    operation: Operation
    methods: tuple[str, ...] = ("GET",)


class Console:
    """What every handler needs: the settings and the templates."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.templates = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.templates.filters["money"] = indian_format.rupees
        self.templates.filters["kwh"] = lambda wh: f"{indian_format.kwh(wh, places=1)} kWh"
        self.templates.filters["grouped"] = indian_format.count
        self.templates.globals["line_chart"] = charts.line_chart
        self.templates.globals["bar_chart"] = charts.bar_chart
        self.templates.globals["utility"] = settings.utility_name

    def render(
        self, name: str, staff: Staff | None, *, status: int = 200, **context: Any
    ) -> HTMLResponse:
        html = self.templates.get_template(name).render(staff=staff, **context)
        return HTMLResponse(html, status_code=status)

    def problem(
        self, request: Request, staff: Staff | None, message: str, *, status: int
    ) -> HTMLResponse:
        """A refusal: the message alone for an htmx swap, else a page around it."""
        if request.headers.get("hx-request"):
            return self.render("_message.html", staff, status=status, message=message)
        return self.render("problem.html", staff, status=status, message=message)


async def read_form(request: Request) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body (the only kind the console posts)."""
    body = (await request.body()).decode("utf-8", errors="replace")
    return dict(parse_qsl(body, keep_blank_values=True))


def sign_in_redirect(request: Request) -> Response:
    target = "/console/sign-in?next=" + quote(request.url.path)
    if request.headers.get("hx-request"):
        return Response(status_code=401, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def route(console: Console, page: Page) -> Route:
    async def endpoint(request: Request) -> Response:
        staff = await session.current(console.settings, request)
        if staff is None:
            return sign_in_redirect(request)
        if not staff.viewer.may(page.operation):
            what = page.operation.value.replace("_", " ")
            return console.problem(request, staff, f"Your role may not {what}.", status=403)
        if any(isinstance(v, int) and v > MAX_ID for v in request.path_params.values()):
            return console.problem(request, staff, "Not found.", status=404)
        form: dict[str, str] = {}
        if request.method == "POST":
            form = await read_form(request)
            if not session.csrf_ok(request, form.get(session.CSRF_FIELD), staff):
                return console.problem(
                    request, staff, "This form has expired: reload the page and try again.",
                    status=403,
                )  # fmt: skip
        try:
            return await page.handler(console, request, staff, form)
        except NotFound as exc:
            return console.problem(request, staff, exc.message.capitalize() + ".", status=404)
        except Refused as exc:
            return console.problem(request, staff, exc.message, status=400)

    return Route(page.path, endpoint, methods=list(page.methods), name=page.path)


def number_arg(value: str | None, what: str) -> int:
    """A positive whole number from a form or path, or a refusal naming the field."""
    try:
        number = int((value or "").strip())
    except ValueError:
        raise Refused("INVALID_INPUT", f"give the {what} as a whole number") from None
    if not 1 <= number <= MAX_ID:
        raise Refused("INVALID_INPUT", f"give the {what} as a whole number") from None
    return number
