"""The bill page's text on a ReportLab canvas: words in their faces, measured, broken into
lines and drawn, without platypus.

A bill's layout is fixed, so the page is drawn with canvas calls
(:mod:`services.billing.documents`); what platypus did for each paragraph (parse its
markup, pick each word's face, shape, measure, break lines) is done here directly, and
the measures are cached: a bill's fixed texts (labels, headings, Hindi words) are the
same on every bill, so a process measures and shapes them once.

A word goes whole into one face (a Devanagari word, with its punctuation and digits, into Noto Sans Devanagari,
anything else into Noto Sans), and only a word mixing Latin letters with Devanagari is cut
at the script change, with a thin space between the parts. Devanagari is shaped through
HarfBuzz (ReportLab's ``shapeStr``, uharfbuzz); Latin text is not shaped, so "Tariff"
reads back as typed and not with an "ff" ligature.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from reportlab.lib import colors
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import shapeStr
from reportlab.pdfgen.canvas import Canvas

from services.billing import bill_fonts
from services.billing.bill_fonts import DEVANAGARI_RUN, SCRIPT_CUT

THIN_SPACE = "\u2009"
CACHED_WORDS = 8192  # a bill has a few hundred distinct words, most of them on every bill


@dataclass(frozen=True)
class Style:
    """A text's size, line height, colour and weight (``bold``: both scripts' bold faces)."""

    size: float
    leading: float
    color: Any = colors.black
    bold: bool = False


# A piece of a line: its face, its text (shaped for Devanagari) and its width in points.
Piece = tuple[str, str, float]
# A line: its width, and its pieces (runs of one face) in reading order.
Line = tuple[float, list[Piece]]


def _faces(bold: bool) -> tuple[str, str]:
    if bold:
        return bill_fonts.LATIN_BOLD, bill_fonts.DEVANAGARI_BOLD
    return bill_fonts.LATIN, bill_fonts.DEVANAGARI


@cache
def _covered() -> frozenset[int]:
    bill_fonts.register()
    return frozenset(pdfmetrics.getFont(bill_fonts.DEVANAGARI).face.charToGlyph)


@lru_cache(maxsize=CACHED_WORDS)
def _measure(face: str, text: str, size: float) -> tuple[str, float]:
    """``text`` in ``face`` as drawn (shaped if the face is Devanagari) and its width."""
    if face in (bill_fonts.DEVANAGARI, bill_fonts.DEVANAGARI_BOLD):
        shaped = shapeStr(text, face, size, force=True)
        return shaped, sum(d.x_advance for d in shaped.__shapeData__) * size / 1000
    return text, pdfmetrics.stringWidth(text, face, size)


@lru_cache(maxsize=CACHED_WORDS)
def _word(word: str, size: float, bold: bool) -> tuple[Piece, ...]:
    """One word (no white space in it) as the pieces it is drawn in."""
    latin, devanagari = _faces(bold)
    if not DEVANAGARI_RUN.search(word):
        return ((latin, *_measure(latin, word, size)),)
    if all(ord(c) in _covered() for c in word):
        return ((devanagari, *_measure(devanagari, word, size)),)
    parts = [p for p in SCRIPT_CUT.split(word) if p]
    pieces: list[Piece] = []
    for i, part in enumerate(parts):
        face = devanagari if DEVANAGARI_RUN.match(part) else latin
        if i:
            pieces.append((latin, *_measure(latin, THIN_SPACE, size)))
        pieces.append((face, *_measure(face, part, size)))
    return tuple(pieces)


def _join(pieces: list[Piece]) -> list[Piece]:
    """Adjacent pieces of one face as one run (fewer text operators, and a word's spaces
    drawn in its own face so the text reads back with them)."""
    runs: list[Piece] = []
    for face, text, width in pieces:
        if runs and runs[-1][0] == face:
            _, before, wide = runs[-1]
            runs[-1] = (face, before + text, wide + width)  # ShapedStrs add up, shaping kept
        else:
            runs.append((face, text, width))
    return runs


def _space(face: str, size: float) -> Piece:
    return (face, *_measure(face, " ", size))


def lines(text: str, style: Style, width: float) -> list[Line]:
    """``text`` broken into lines no wider than ``width`` (a word longer than that gets a
    line of its own); a newline in ``text`` always starts a new line, and white space
    leading it (an em space indenting a row) is kept."""
    out: list[Line] = []
    latin = _faces(style.bold)[0]
    for paragraph in text.split("\n"):
        indent = paragraph[: len(paragraph) - len(paragraph.lstrip())]
        line: list[Piece] = [(latin, *_measure(latin, indent, style.size))] if indent else []
        used = line[0][2] if line else 0.0
        first = True  # no word on this line yet
        for word in paragraph.split():
            pieces = _word(word, style.size, style.bold)
            wide = sum(p[2] for p in pieces)
            if not first:
                space = _space(line[-1][0], style.size)
                if used + space[2] + wide > width:
                    out.append((used, _join(line)))
                    line, used = [], 0.0
                else:
                    line.append(space)
                    used += space[2]
            line.extend(pieces)
            used += wide
            first = False
        out.append((used, _join(line)))
    return out


def draw(
    canvas: Canvas, x: float, top: float, drawn: list[Line], style: Style, *,
    align: str = "left", width: float = 0.0,
) -> float:  # fmt: skip
    """Draw ``drawn`` with its first line's top at ``top`` (the baseline one font size
    below), aligned ``left`` at ``x`` or ``right``/``centre`` within ``width`` from ``x``;
    returns the height used (a leading a line)."""
    # Drawn as platypus drew a paragraph: an aligned line moved along with Td, each line
    # ended with T*, so text extractors (pypdf) read the page's text as they did (a cell
    # on a line of its own, a space before a right-aligned one).
    if canvas._fillColorObj != style.color:  # the colour the canvas is drawing with
        canvas.setFillColor(style.color)  # (set inside each text object: 1 ms a page)
    baseline = top - style.size
    for used, pieces in drawn:
        if pieces:
            text = canvas.beginText(x, baseline)
            if align == "right":
                text.moveCursor(width - used, 0)
            elif align == "centre":
                text.moveCursor((width - used) / 2, 0)
            for i, (face, run, _) in enumerate(pieces):
                text.setFont(face, style.size, style.leading)
                if i == len(pieces) - 1:
                    text.textLine(run)
                else:
                    text.textOut(run)
            canvas.drawText(text)
        baseline -= style.leading
    return len(drawn) * style.leading
