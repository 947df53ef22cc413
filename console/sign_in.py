"""The sign-in and sign-out pages: the only console routes open without a session."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from api.client_address import client_address
from console import session
from console.pages import Console, read_form
from services.errors import Refused
from services.identity.sessions import TOO_MANY_ATTEMPTS

Endpoint = Callable[[Request], Awaitable[Response]]


def _next(target: str | None) -> str:
    """Only a console path is followed after sign-in (no open redirect)."""
    if target and target.startswith("/console/") and "//" not in target and "\\" not in target:
        return target
    return "/console/"


def _form(console: Console, request: Request, *, message: str = "", status: int = 200,
          login: str = "", needs_code: bool = False) -> Response:  # fmt: skip
    token = session.new_pre_session_token()
    response = console.render(
        "sign_in.html", None, status=status, message=message, csrf=token, login=login,
        needs_code=needs_code, next=_next(request.query_params.get("next")),
    )  # fmt: skip
    session.set_cookie(response, console.settings, session.PRE_COOKIE, token, 3600)
    return response


def sign_in_page(console: Console) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        if request.method == "GET":
            if await session.current(console.settings, request) is not None:
                return RedirectResponse(_next(request.query_params.get("next")), status_code=303)
            return _form(console, request)
        form = await read_form(request)
        login = form.get("login", "").strip()
        if not session.csrf_ok(request, form.get(session.CSRF_FIELD), None):
            return _form(console, request, status=403, login=login,
                         message="This form has expired: sign in again.")  # fmt: skip
        try:
            raw = await session.sign_in(
                console.settings, login=login, password=form.get("password", ""),
                totp_code=form.get("totp_code", ""),
                user_agent=request.headers.get("user-agent", ""),
                address=client_address(request, console.settings.trusted_proxies),
            )  # fmt: skip
        except Refused as exc:
            status = 429 if exc.code == TOO_MANY_ATTEMPTS else 400
            return _form(console, request, status=status, login=login, message=exc.message,
                         needs_code=exc.field == "totpCode")  # fmt: skip
        response = RedirectResponse(_next(form.get("next")), status_code=303)
        session.set_cookie(
            response, console.settings, session.COOKIE, raw, console.settings.console_session_ttl_s
        )
        response.delete_cookie(session.PRE_COOKIE, path="/console")
        return response

    return endpoint


def sign_out_page(console: Console) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        staff = await session.current(console.settings, request)
        form = await read_form(request)
        if staff is not None:
            if not session.csrf_ok(request, form.get(session.CSRF_FIELD), staff):
                return console.problem(request, staff, "This form has expired: reload the page.",
                                       status=403)  # fmt: skip
            await session.sign_out(request, staff)
        response = RedirectResponse("/console/sign-in", status_code=303)
        response.delete_cookie(session.COOKIE, path="/console")
        return response

    return endpoint
