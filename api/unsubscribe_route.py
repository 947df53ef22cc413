"""``/notifications/{id}/unsubscribe``: the link and List-Unsubscribe header of reminders.

GET shows a one-button page (so a mail scanner that follows links changes nothing);
POST, from the button or a mail client's RFC 8058 one-click, unsubscribes.
"""

from __future__ import annotations

from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from gridbill.settings import Settings
from services.errors import Refused
from services.notifications.unsubscribe import unsubscribe

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{title}</title></head><body style="font-family: sans-serif; max-width: 32em">
<h1>{title}</h1><p>{text}</p>{form}</body></html>"""


def _page(title: str, text: str, form: str = "", status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        PAGE.format(title=escape(title), text=escape(text), form=form),
        status,
        headers={"Cache-Control": "no-store"},
    )


def unsubscribe_route(settings: Settings) -> Route:
    async def endpoint(request: Request) -> HTMLResponse:
        try:
            message_id = int(request.path_params["message_id"])
            expires = int(request.query_params.get("expires", ""))
        except ValueError:
            return _page("Link not valid", "This unsubscribe link is incomplete.", status=404)
        signature = request.query_params.get("sig", "")
        if request.method == "GET":
            action = escape(str(request.url), quote=True)
            form = (
                f'<form method="post" action="{action}">'
                '<button type="submit">Stop reminder e-mails</button></form>'
            )
            return _page(
                "Stop reminder e-mails?",
                "You will no longer get due-date reminders and overdue notices by e-mail. "
                "Bills, receipts and legal notices still reach you.",
                form,
            )
        try:
            address = await unsubscribe(settings, message_id, expires, signature)
        except Refused as refusal:
            return _page("Link not valid", refusal.message, status=400)
        return _page(
            "Unsubscribed",
            f"Reminder e-mails to {address} are off. You can turn them "
            "on again in the app, under notification preferences.",
        )

    return Route("/notifications/{message_id:int}/unsubscribe", endpoint, methods=["GET", "POST"])
