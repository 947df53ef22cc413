"""The bill's QR code is ReportLab's, module for module, only found faster."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from reportlab.graphics.barcode import qrencoder

from domain.billing import upi_link
from services.billing.bill_qr import qr_matrix


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
