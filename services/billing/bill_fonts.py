"""The bill PDF's fonts: Noto Sans for Latin text and ₹, Noto Sans Devanagari for Hindi.

ReportLab's built-in fonts have no ₹ glyph and no Devanagari, so the bill bundles Noto
(SIL Open Font License, ``services/billing/fonts/OFL.txt``). Noto Sans Devanagari has no
Latin letters and Noto Sans no Devanagari, so :mod:`services.billing.bill_text` puts each
Devanagari word in the Devanagari face and shapes it through HarfBuzz (``uharfbuzz``:
conjuncts, matras placed and reordered), with ReportLab's ``shapeStr``.

Shaping makes ReportLab give glyphs that have no character of their own (a conjunct, a
reordered matra) private-use code points, in the order it first meets them. Left alone that
order would depend on which bills the process rendered before, and the same bill would not
render to the same bytes twice; :func:`register` gives every such glyph its code point at
start, in glyph order, so a bill's PDF depends on its snapshot alone.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

FONTS = Path(__file__).with_name("fonts")
LATIN = "NotoSans-Regular"
LATIN_BOLD = "NotoSans-Bold"
DEVANAGARI = "NotoSansDevanagari-Regular"
DEVANAGARI_BOLD = "NotoSansDevanagari-Bold"

# Devanagari and Vedic extensions, with the joiners that may sit inside a Devanagari word.
DEVANAGARI_RUN = re.compile(r"[\u0900-\u097F\uA8E0-\uA8FF\u1CD0-\u1CFF\u200C\u200D]+")
SCRIPT_CUT = re.compile(f"({DEVANAGARI_RUN.pattern})")  # split, keeping the runs


@cache
def register() -> None:
    """Register the four faces once per process."""
    for name in (LATIN, LATIN_BOLD, DEVANAGARI, DEVANAGARI_BOLD):
        font = TTFont(name, str(FONTS / f"{name}.ttf"))
        pdfmetrics.registerFont(font)
        if name in (DEVANAGARI, DEVANAGARI_BOLD):
            _fix_private_codes(font)


def _fix_private_codes(font: TTFont) -> None:
    """Give each glyph without a character its private code point now, in glyph order."""
    shaper = font.hbFont(10)  # also installs font.hbAddPrivate
    face = font.face
    for gid in range(face.numGlyphs):
        if gid not in face.glyphToChar:
            font.hbAddPrivate(shaper.glyph_to_string(gid), gid, shaper.get_glyph_h_advance(gid))
