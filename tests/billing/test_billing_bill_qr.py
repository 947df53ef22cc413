"""The bill's QR code is ReportLab's, module for module, only found faster."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st
from reportlab.graphics.barcode import qrencoder

from domain.billing import upi_link
from services.billing.bill_qr import _runs, qr_matrix


def reportlab_matrix(text: str) -> list[list[bool]]:
    code = qrencoder.QRCode(None, qrencoder.QRErrorCorrectLevel.M)
    code.addData(text)
    code.make()
    return [[bool(cell) for cell in row] for row in code.modules]


@settings(max_examples=60, deadline=None)
@given(st.text(st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=300))
def test_the_modules_are_reportlabs_for_any_text(text: str) -> None:
    """Up to 300 characters: versions 1 to 13, so the version blocks of 7 and up too."""
    assert qr_matrix(text) == reportlab_matrix(text)


@settings(max_examples=40, deadline=None)
@given(amount=st.integers(0, 10**10), serial=st.integers(1, 999_999))
def test_a_bills_upi_link_gets_reportlabs_modules(amount: int, serial: int) -> None:
    link = upi_link(payee_vpa="bills@vidyut", payee_name="Test Power Ltd",
                    amount_paise=amount, note=f"Electricity bill BL/2026-27/{serial:06d}")  # fmt: skip
    assert qr_matrix(link) == reportlab_matrix(link)


@settings(max_examples=300, deadline=None)
@given(st.integers(21, 177).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, 2**n - 1))))
def test_rule_one_on_bits_scores_runs_as_the_text_rule(line: tuple[int, int]) -> None:
    """A run of n ≥ 5 modules of one colour scores n - 2, counted on the bits of a line."""
    size, bits = line
    text = format(bits, f"0{size}b")
    expected = sum(len(run) - 2 for run in re.findall(r"0{5,}|1{5,}", text))
    assert _runs(bits, (1 << (size - 1)) - 1) == expected
