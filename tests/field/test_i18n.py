"""English and Hindi strings, and the markup that draws Devanagari in its font."""

from __future__ import annotations

import re

import pytest

from field_app.i18n import (
    CATALOGUES,
    DEVANAGARI,
    EN,
    HI,
    is_devanagari,
    markup,
    tr,
    visual_order,
)
from field_app.local_store import SKIP_CODES


def test_every_string_has_a_hindi_translation() -> None:
    assert set(HI) == set(EN)
    for key, text in HI.items():
        assert set(re.findall(r"{(\w+)}", text)) == set(re.findall(r"{(\w+)}", EN[key])), key
    assert {f"skip_{code}" for code in SKIP_CODES} <= set(EN)
    assert set(CATALOGUES) == {"en", "hi"}


def test_tr_formats_and_falls_back() -> None:
    assert tr("counts", "en", done=1, pending=2, skipped=0) == "Done 1 · Pending 2 · Skipped 0"
    assert tr("counts", "hi", done=1, pending=2, skipped=0) == "पूरे 1 · बाकी 2 · छोड़े 0"
    assert tr("save", "fr") == "Save"


def test_markup_puts_devanagari_in_its_font_and_escapes() -> None:
    assert markup("Meter [M1] & co") == "Meter &bl;M1&br; &amp; co"
    assert markup("मीटर M00007") == f"[font={DEVANAGARI}]मीटर [/font]M00007"


def test_the_vendored_font_has_every_devanagari_letter_used() -> None:
    from PIL import ImageFont

    from field_app.i18n import DEVANAGARI_FILES

    used = sorted({c for text in HI.values() for c in text if is_devanagari(c)})
    for path in DEVANAGARI_FILES:
        font = ImageFont.truetype(path, 40)
        missing_box = font.getmask("\uffff").getbbox()  # what the font draws for no glyph
        missing = [c for c in used if font.getmask(c).getbbox() == missing_box]
        assert missing == [], path


@pytest.mark.parametrize(
    ("word", "drawn"),
    [
        ("सिंक", "\u093fसंक"),
        ("डिवाइस", "\u093fडवाइस"),
        ("फ़िल्म", "\u093fफ़ल्म"),  # nukta stays with its consonant
        ("स्थिति", "\u093fस्थ\u093fत"),  # the whole cluster स्थ
        ("ि", "ि"),  # nothing to attach to
        ("abc", "abc"),
    ],
)
def test_short_i_is_drawn_before_its_cluster(word: str, drawn: str) -> None:
    assert visual_order(word) == drawn
