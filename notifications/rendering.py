"""Turning an outbox row into words: one Jinja2 template per event and language.

``notifications/templates/<event>.<language>.j2`` defines three blocks: ``subject`` (the
e-mail subject and push title), ``body`` (the e-mail, plain paragraphs; the HTML part is
the same text in ``layout.html.j2``) and ``sms`` (the SMS and push body, which must match
the DLT template registered for it). Amounts and energy are written by
``domain.indian_format`` (₹1,23,456.00, 1,23,456.79 kWh), the same in every language,
and dates by Babel in the customer's language. A variable the template needs and
the row lacks is an error (``StrictUndefined``), never an empty gap in a sent message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.dates import format_date
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from domain import indian_format

TEMPLATES = Path(__file__).parent / "templates"
LANGUAGES = ("en", "hi")
LOCALES = {"en": "en_IN", "hi": "hi_IN"}
MESSAGE_KWH_PLACES = 2


class TemplateMissing(LookupError):
    """No template for an event (a new event without its words) or an unknown language."""


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    sms: str


def money(paise: int) -> str:
    """Exact rupees from integer paise, Indian grouping: 12345600 → ₹1,23,456.00."""
    return indian_format.rupees(int(paise))


def day(value: str | date, language: str = "en") -> str:
    on = date.fromisoformat(value) if isinstance(value, str) else value
    return format_date(on, "long", locale=LOCALES[language])


def kwh(wh: int) -> str:
    """Energy to two places in Indian grouping: 123456789 Wh → 1,23,456.79."""
    return indian_format.kwh(int(wh), places=MESSAGE_KWH_PLACES)


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    return env


def events() -> list[str]:
    """Every event that has templates (from the English set)."""
    return sorted(p.name.removesuffix(".en.j2") for p in TEMPLATES.glob("*.en.j2"))


def render(event: str, language: str, context: dict[str, Any]) -> Rendered:
    """The message for ``event`` in ``language`` (falling back to English if unknown)."""
    language = language if language in LANGUAGES else "en"
    env = environment()
    name = f"{event}.{language}.j2"
    if not (TEMPLATES / name).is_file():
        raise TemplateMissing(f"no template {name} for event {event!r}")
    template = env.get_template(name)
    values = {
        **context,
        "money": money,
        "day": lambda value: day(value, language),
        "kwh": kwh,
    }

    def block(which: str) -> str:
        return "".join(template.blocks[which](template.new_context(values))).strip()

    body = block("body")
    subject = " ".join(block("subject").split())
    html = env.get_template("layout.html.j2").render(
        subject=subject,
        paragraphs=[p.strip() for p in body.split("\n\n") if p.strip()],
        links=context.get("links", []),
        unsubscribe_url=context.get("unsubscribe_url"),
        language=language,
        utility_name=context.get("utility_name", ""),
    )
    return Rendered(subject=subject, text=body, html=html, sms=" ".join(block("sms").split()))


class _Variable(str):
    """Stands for any value when rendering a template's DLT registration text."""

    def __getattr__(self, name: str) -> _Variable:
        return self


def registration_texts() -> dict[str, str]:
    """``<event>.<language>`` → the SMS text to register on DLT, ``{#var#}`` for each value.

    What a utility submits to its operator's DLT portal (``scripts/dlt_templates.py``
    prints it); the template ids the portal gives back go into GRIDBILL_SMS_TEMPLATES.
    """
    var = _Variable("{#var#}")
    texts = {}
    env = environment()
    for event in events():
        for language in LANGUAGES:
            template = env.get_template(f"{event}.{language}.j2")
            names = _names(env, event, language)
            values: dict[str, Any] = dict.fromkeys(names, var)
            values.update(money=lambda _v: var, day=lambda _v: var, kwh=lambda _v: var)
            block = "".join(template.blocks["sms"](template.new_context(values)))
            texts[f"{event}.{language}"] = " ".join(block.split())
    return texts


def _names(env: Environment, event: str, language: str) -> set[str]:
    from jinja2 import meta

    source = env.loader.get_source(env, f"{event}.{language}.j2")[0]  # type: ignore[union-attr]
    return set(meta.find_undeclared_variables(env.parse(source)))
