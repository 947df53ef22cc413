"""TRAI's DLT rule for Indian SMS: a message must match the template registered for it.

A registered template is fixed text with ``{#var#}`` where the sender may put variable
text. Operators reject a message whose fixed parts differ from the registration by even a
space, so gridbill checks before it sends rather than paying for a rejected message.
"""

from __future__ import annotations

import re

VARIABLE = "{#var#}"
# Operators allow up to 30 characters per variable.
MAX_VARIABLE_LENGTH = 30


def template_pattern(registered: str) -> re.Pattern[str]:
    """A regular expression matching exactly the texts ``registered`` allows."""
    fixed = [re.escape(part) for part in registered.split(VARIABLE)]
    return re.compile(f"(?s){f'.{{0,{MAX_VARIABLE_LENGTH}}}'.join(fixed)}")


def matches(registered: str, text: str) -> bool:
    """True when ``text`` differs from ``registered`` only where it has ``{#var#}``."""
    return template_pattern(registered).fullmatch(text) is not None
