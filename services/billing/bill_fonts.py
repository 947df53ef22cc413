"""The bill PDF's fonts: Noto Sans for Latin text and ₹, Noto Sans Devanagari for Hindi.

ReportLab's built-in fonts have no ₹ glyph and no Devanagari, so the bill bundles Noto
(SIL Open Font License, ``services/billing/fonts/OFL.txt``). Noto Sans Devanagari has no
Latin letters and Noto Sans no Devanagari, so :func:`markup` wraps each Devanagari run of a
text in the Devanagari face; a paragraph's text is then shaped through HarfBuzz
(``uharfbuzz``: conjuncts, matras placed and reordered), which ReportLab does for
paragraphs whose style asks for ``shaping``.

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
from xml.sax.saxutils import escape

from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

FONTS = Path(__file__).with_name("fonts")
LATIN = "NotoSans-Regular"
LATIN_BOLD = "NotoSans-Bold"
DEVANAGARI = "NotoSansDevanagari-Regular"
DEVANAGARI_BOLD = "NotoSansDevanagari-Bold"

# Devanagari and Vedic extensions, with the joiners that may sit inside a Devanagari word.
_DEVANAGARI_RUN = re.compile(r"[\u0900-\u097F\uA8E0-\uA8FF\u1CD0-\u1CFF\u200C\u200D]+")
_WORDS = re.compile(r"(\s+)")
_SCRIPT_CUT = re.compile(f"({_DEVANAGARI_RUN.pattern})")  # split, keeping the runs


@cache
def register() -> None:
    """Register the four faces once per process, with bold mapped for ``<b>``."""
    for name in (LATIN, LATIN_BOLD, DEVANAGARI, DEVANAGARI_BOLD):
        font = TTFont(name, str(FONTS / f"{name}.ttf"))
        pdfmetrics.registerFont(font)
        if name in (DEVANAGARI, DEVANAGARI_BOLD):
            _fix_private_codes(font)
    for regular, bold in ((LATIN, LATIN_BOLD), (DEVANAGARI, DEVANAGARI_BOLD)):
        addMapping(regular, 0, 0, regular)
        addMapping(regular, 1, 0, bold)
        addMapping(regular, 0, 1, regular)
        addMapping(regular, 1, 1, bold)


def _fix_private_codes(font: TTFont) -> None:
    """Give each glyph without a character its private code point now, in glyph order."""
    shaper = font.hbFont(10)  # also installs font.hbAddPrivate
    face = font.face
    for gid in range(face.numGlyphs):
        if gid not in face.glyphToChar:
            font.hbAddPrivate(shaper.glyph_to_string(gid), gid, shaper.get_glyph_h_advance(gid))


def needs_shaping(text: str) -> bool:
    """Whether ``text`` holds Devanagari, which is unreadable unless shaped."""
    return _DEVANAGARI_RUN.search(text) is not None


def markup(text: str, *, bold: bool = False) -> str:
    """``text`` escaped for a ReportLab paragraph, its Devanagari words in the Devanagari face
    (``bold``: the bold faces of both).

    A word is shaped with the face of its first character, so a word goes whole into one
    face: a Devanagari word with its punctuation and digits (``(सितंबर``, ``बिल:``) into the
    Devanagari face, which has them; only a word mixing Latin letters with Devanagari is cut
    at the script change.
    """
    register()
    covered = pdfmetrics.getFont(DEVANAGARI).face.charToGlyph
    face = DEVANAGARI_BOLD if bold else DEVANAGARI
    out: list[str] = []
    for word in _WORDS.split(text):
        if not _DEVANAGARI_RUN.search(word):
            out.append(escape(word))
        elif all(ord(c) in covered for c in word):
            out.append(f'<font face="{face}">{escape(word)}</font>')
        else:  # a thin space between the scripts, so each part is shaped in its own face
            parts = _SCRIPT_CUT.split(word)
            out.append(
                "\u2009".join(
                    f'<font face="{face}">{escape(p)}</font>'
                    if _DEVANAGARI_RUN.match(p)
                    else escape(p)
                    for p in parts
                    if p
                )
            )
    text = "".join(out)
    return f"<b>{text}</b>" if bold else text
